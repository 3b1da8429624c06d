/** The embedded server's `postmaster.pid`, read and judged: alive, stale, or its pid reused (embedded.ts). */
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export type PidFile =
  | { state: 'alive'; pid: number; port: number }
  /** the pid is gone (PostgreSQL removes such a file itself) or is now another program (we must) */
  | { state: 'stale' | 'reused'; pid: number; port: number };

/** Reads `postmaster.pid` (line 1 the pid, line 4 the port); undefined when there is none. */
export async function readPidFile(pgDir: string): Promise<PidFile | undefined> {
  let text: string;
  try {
    text = await readFile(path.join(pgDir, 'postmaster.pid'), 'utf8');
  } catch {
    return undefined;
  }
  const lines = text.split('\n');
  const pid = Number.parseInt(lines[0] ?? '', 10);
  const port = Number.parseInt(lines[3] ?? '', 10);
  if (!Number.isFinite(pid)) return undefined; // being written: PostgreSQL writes it in one go
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ESRCH') return { state: 'stale', pid, port };
  }
  // After a reboot or container restart the pid can belong to another program, and PostgreSQL
  // then refuses to start ("lock file already exists"); /proc tells (Linux; elsewhere trust it).
  const comm = await readFile(`/proc/${pid}/comm`, 'utf8').catch(() => undefined);
  if (comm !== undefined && comm.trim() !== 'postgres') return { state: 'reused', pid, port };
  return { state: 'alive', pid, port };
}
