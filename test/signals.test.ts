/**
 * Acquisition signals in (issue #21) on a real nats-server and a real worker: an instrument whose
 * `acquisition_done` takes a stream source's "acquisition finished" events has a file acquired as soon
 * as a scan sees it unchanged after the signal, long before the stable window; a file without a signal
 * stays acquiring (polling is the fallback); a signal that arrives before the file does is kept until
 * the file shows up; used signals are spent.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Db } from '../src/core/db/db.ts';
import { type NatsServer, publishJson, type StreamsBed, startNats, streamsBed } from './helpers/nats.ts';
import { waitFor } from './helpers/spawn.ts';

const nats = await startNats();

describe.skipIf(!nats)('acquisition signals from a stream', () => {
  const server = nats as NatsServer;
  let bed: StreamsBed;
  let root: string;
  let db: Db;

  beforeAll(async () => {
    bed = await streamsBed('signals');
    ({ root, db } = bed);
    await mkdir(path.join(root, 'qe1'));
  });
  afterAll(async () => {
    await bed.close();
    await server.stop();
  });

  const signal = (body: object) =>
    publishJson(server.url, 'ACQ', [body], { subject: 'acq.qe1', msgIds: false });

  const statusOf = async (name: string) =>
    (await db.maybeOne<{ status: string; status_reason: string | null }>(
      `select status, status_reason from files where name = $1`,
      [name],
    )) ?? { status: 'none', status_reason: null };

  it('acquires a signalled file at once, leaves the others to polling, keeps an early signal', async () => {
    const watch = path.join(root, 'qe1');
    const cfg = path.join(root, 'sluice.yaml');
    await writeFile(
      cfg,
      `data_dir: ./data
worker: { lease_seconds: 5, heartbeat_seconds: 1, poll_seconds: 0.2 }
instruments:
  qe1:
    type: thermo
    watch: ${watch}
    scan_interval_seconds: 0.5
    acquisition:
      stable_window_seconds: 3600
      newer_file_means_done: false
      consider_old_files_acquired: false
    acquisition_done:
      stream: lims
      path_field: file
      when: [{ field: event, op: eq, value: acquisition_finished }]
streams:
  sources:
    lims: { servers: [${server.url}], stream: ACQ, subjects: [acq.>] }
`,
    );
    await writeFile(path.join(watch, 'a.raw'), 'a'.repeat(1000));
    await writeFile(path.join(watch, 'b.raw'), 'b'.repeat(1000));
    const w = await bed.worker(cfg);
    try {
      await waitFor('both acquiring', async () => {
        const [a, b] = [await statusOf('a.raw'), await statusOf('b.raw')];
        return a.status === 'acquiring' && b.status === 'acquiring';
      });
      await signal({ event: 'acquisition_started', file: 'D:\\Data\\b.raw' }); // not a finish
      await signal({ event: 'acquisition_finished', file: 'D:\\Data\\a.raw' });
      await signal({ event: 'acquisition_finished', file: 'D:\\Data\\c.raw' }); // before the file
      await waitFor('a acquired', async () => (await statusOf('a.raw')).status !== 'acquiring');
      const acquired = await db.one<{ reason: string }>(
        `select e.reason from events e join files f on f.id = e.subject_id
         where f.name = 'a.raw' and e.to_state = 'acquired'`,
      );
      expect(acquired.reason).toMatch(
        /^the instrument reported the acquisition finished \(stream source lims/,
      );
      await writeFile(path.join(watch, 'c.raw'), 'c'.repeat(1000));
      await waitFor('c acquired', async () => {
        const s = (await statusOf('c.raw')).status;
        return s !== 'none' && s !== 'discovered' && s !== 'acquiring';
      });
      // b had no finish signal: still polled, and the stable window is an hour
      expect((await statusOf('b.raw')).status).toBe('acquiring');
      const left = await db.query<{ name: string }>('select name from acquisition_signals');
      expect(left).toEqual([]);
    } finally {
      await bed.stopWorker(w);
    }
  });
});
