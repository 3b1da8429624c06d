/**
 * A simulated instrument for the demo: writes raw data the way acquisition software does, growing
 * over a few seconds, one acquisition after another. Thermo-like `.raw` files and Bruker-like `.d`
 * folders (whose `analysis.tdf_bin` appears last). Contents are pseudo-random so each file differs.
 */
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface SimulatorOptions {
  thermoDir: string;
  brukerDir: string;
  /** Milliseconds between growth steps. */
  stepMs?: number;
  /** Stop after this many acquisitions (default: run until stopped). */
  maxFiles?: number;
  project?: string;
  onFile?: (name: string) => void;
}

export class InstrumentSimulator {
  private stopped = false;
  private done: Promise<void> | undefined;
  count = 0;

  constructor(readonly o: SimulatorOptions) {}

  start(): void {
    this.done = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.done;
  }

  private async sleep(ms: number): Promise<void> {
    const until = Date.now() + ms;
    while (!this.stopped && Date.now() < until)
      await new Promise((r) => setTimeout(r, Math.min(200, until - Date.now())));
  }

  private async loop(): Promise<void> {
    const step = this.o.stepMs ?? 1000;
    const stamp = new Date().toISOString().slice(0, 10).replaceAll('-', '');
    while (!this.stopped && (this.o.maxFiles === undefined || this.count < this.o.maxFiles)) {
      const n = String(this.count + 1).padStart(3, '0');
      const project = this.o.project ?? 'DEMO';
      if (this.count % 3 === 2) {
        const dir = path.join(this.o.brukerDir, `${stamp}_${project}_tims_${n}.d`);
        await mkdir(dir, { recursive: true });
        this.o.onFile?.(path.basename(dir));
        await writeFile(path.join(dir, 'analysis.tdf'), randomBytes(64 * 1024));
        for (let i = 0; i < 4 && !this.stopped; i++) {
          await appendFile(path.join(dir, 'analysis.tdf_bin'), randomBytes(512 * 1024));
          await this.sleep(step);
        }
      } else {
        const file = path.join(this.o.thermoDir, `${stamp}_${project}_astral_${n}.raw`);
        this.o.onFile?.(path.basename(file));
        for (let i = 0; i < 5 && !this.stopped; i++) {
          await appendFile(file, randomBytes(768 * 1024));
          await this.sleep(step);
        }
      }
      this.count++;
    }
  }
}
