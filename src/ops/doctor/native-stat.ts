/**
 * Doctor row `native stat helper`: whether scans use the optional native stat helper
 * (native/stat-many.c, src/intake/native-stat.mjs) or the slower pure-Node path, and why. Never a
 * warning or failure: both paths give the same results, the helper only makes scans cheaper.
 */
import { nativeStatStatus } from '../../intake/native-stat.mjs';
import { type CheckResult, ok } from './result.ts';

export function checkNativeStat(status = nativeStatStatus()): CheckResult {
  return ok('native stat helper', 'scans', status.detail);
}
