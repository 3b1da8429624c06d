/**
 * Config schema of acquisition signals in (issue #21): an instrument's `acquisition_done`, the stream
 * source whose events say an acquisition finished. Consumed by src/streams/signals.ts and the scan
 * (src/intake/rules.ts); documented in docs/configuration.md and docs/streams.md.
 */
import { z } from 'zod';
import { isMapping, str } from './building-blocks.ts';
import { FIELD_OPS } from './streams.ts';

const conditionSchema = z.strictObject({
  field: str('a field path in the event, e.g. event or data.state'),
  op: z.enum(FIELD_OPS, { error: `one of ${FIELD_OPS.join(', ')}` }),
  value: z.unknown().optional(),
});

/** An instrument's `acquisition_done`: events of a stream source that say an acquisition finished. */
export const acquisitionDoneSchema = z.strictObject({
  /** The name of a source under streams.sources. */
  stream: str('the name of a stream source under streams.sources'),
  /** The event field holding the finished file's path or name (its last part, or its first part below the watch folder, is the entry's name). */
  path_field: str('a field path in the event, e.g. path or data.file').default('path'),
  /** Conditions every counted event meets (e.g. the event type and the instrument), as channel field filters. */
  when: z.array(conditionSchema, { error: 'a list of {field, op, value} conditions' }).default([]),
});
export type AcquisitionDoneConfig = z.output<typeof acquisitionDoneSchema>;

/** Each instrument's `acquisition_done.stream` names a source under `streams.sources`. */
export function acquisitionDoneRefs(
  cfg: unknown,
  issue: (path: (string | number)[], message: string) => void,
): void {
  const c = cfg as { instruments?: unknown; streams?: { sources?: unknown } };
  if (!isMapping(c.instruments)) return;
  const sources = isMapping(c.streams?.sources) ? Object.keys(c.streams.sources) : [];
  for (const [id, inst] of Object.entries(c.instruments)) {
    const done = isMapping(inst) ? inst.acquisition_done : undefined;
    const name = isMapping(done) ? done.stream : undefined;
    if (typeof name === 'string' && !sources.includes(name)) {
      issue(
        ['instruments', id, 'acquisition_done', 'stream'],
        `unknown stream source '${name}': expected one of ${sources.length ? sources.join(', ') : 'none defined (add it under streams.sources)'}`,
      );
    }
  }
}
