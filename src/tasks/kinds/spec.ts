/** What every task kind declares (src/tasks/kinds/*.ts), and the field every scheduled payload may carry. */
import { z } from 'zod';

/** Set by the engine on every task a schedule enqueues (engine/schedules.ts). */
export const scheduled = { scheduledFor: z.string().optional() };

export interface KindSpec {
  payload: z.ZodObject;
  /** Pool the task runs in (engine/pools.ts). */
  pool: string;
  /** Attempts before it fails for good (engine default: 10). */
  maxAttempts?: number;
  /** At most one queued or running task per key: a second enqueue is a no-op. */
  dedupe?: (subject: string, payload: Record<string, unknown>) => string;
}
