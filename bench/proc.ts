/**
 * Process figures from /proc for the benchmarks: resident memory and CPU time of a process, and the
 * CPU time of an embedded PostgreSQL server (its postmaster and every backend), so a bench can print
 * CPU per unit of work — a figure that does not follow the machine's load the way wall time does.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** Resident set size of a process (bytes); 0 when it is gone. */
export function vmRss(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Fields of /proc/<pid>/stat after the command name: [state, ppid, ...]; undefined when gone. */
function procStat(pid: number): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

const TICK_MS = 10; // USER_HZ is 100 on every Linux we run on

/** CPU time (ms) of a process: utime + stime, plus its reaped children's when `children`. */
export function cpuMsOf(pid: number, children = false): number {
  const f = procStat(pid);
  if (!f) return 0;
  // after the name: 0 state, 1 ppid, ... 11 utime, 12 stime, 13 cutime, 14 cstime
  const ticks = Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  return ticks * TICK_MS;
}

/** CPU time (ms) of a PostgreSQL server: the postmaster, its live children, and reaped ones. */
export function postgresCpuMs(postmasterPid: number): number {
  let total = cpuMsOf(postmasterPid, true);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = procStat(Number(entry));
    if (f && Number(f[1]) === postmasterPid) total += cpuMsOf(Number(entry));
  }
  return total;
}

/** The postmaster's pid of the embedded server whose data dir is `dataDir` (startEmbedded's). */
export function postmasterPidOf(dataDir: string): number {
  return Number.parseInt(readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8'), 10);
}

/** CPU time (ms) of this process, every thread. */
export function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}
