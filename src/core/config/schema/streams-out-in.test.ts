import { describe, expect, it } from 'vitest';
import { parseAt as parse, refusal as problems, yaml } from '../test-helpers.ts';

describe('streams.publish', () => {
  it('is off when absent and fills its defaults when set', () => {
    expect(parse('data_dir: ./x\n').streams.publish).toBeUndefined();
    const c = parse(yaml`
      streams:
        publish: { servers: [nats://127.0.0.1:4222] }
    `);
    expect(c.streams.publish).toEqual({
      servers: ['nats://127.0.0.1:4222'],
      subject_prefix: 'sluice',
      stream: 'SLUICE_EVENTS',
      duplicate_window_seconds: 3600,
      batch: 500,
      interval_seconds: 0.5,
      keep_published_hours: 24,
    });
  });

  it('refuses a subject prefix with wildcards, naming the setting', () => {
    const msg = problems(yaml`
      streams:
        publish: { servers: [nats://127.0.0.1:4222], subject_prefix: 'site.>' }
    `);
    expect(msg).toContain('streams.publish.subject_prefix');
    expect(msg).toContain('no * or >');
  });
});

describe('instruments.<id>.acquisition_done', () => {
  it('names a stream source; defaults path_field and when', () => {
    const c = parse(yaml`
      instruments:
        qe1:
          type: thermo
          watch: /mnt/qe1
          acquisition_done: { stream: lims }
      streams:
        sources:
          lims: { servers: [nats://127.0.0.1:4222], stream: LIMS }
    `);
    expect(c.instruments.qe1!.acquisition_done).toEqual({ stream: 'lims', path_field: 'path', when: [] });
  });

  it('refuses an unknown source, saying which exist', () => {
    const msg = problems(yaml`
      instruments:
        qe1:
          type: thermo
          watch: /mnt/qe1
          acquisition_done: { stream: lab, when: [{ field: event, op: eq, value: done }] }
      streams:
        sources:
          lims: { servers: [nats://127.0.0.1:4222], stream: LIMS }
    `);
    expect(msg).toContain('instruments.qe1.acquisition_done.stream');
    expect(msg).toContain("unknown stream source 'lab': expected one of lims");
  });
});
