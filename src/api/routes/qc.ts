/**
 * QC guide sets: list (viewer), mark a baseline period (operator; its mean, sd and mean moving range
 * are computed from the period's points and recorded with who and when), retire one (operator; kept on
 * record). Charts use them through `GET /api/metrics/series?band=guide`.
 */
import { z } from 'zod';
import { PermanentError } from '../../core/errors.ts';
import { createGuideSet, type GuideSetRow, listGuideSets, retireGuideSet } from '../../metrics/guide-sets.ts';
import { exportMzqc } from '../../views/mzqc.ts';
import { ApiError, badInput, notFound } from '../errors.ts';
import { fileIdProblem, idFilter, isoDate } from '../params.ts';
import { type AnyRoute, route } from '../route.ts';
import { hiddenFor } from '../visibility.ts';

const METRIC = z.string().regex(/^[A-Za-z0-9_.:/-]{1,128}$/, 'expected a metric name');

export interface GuideSetList {
  guide_sets: GuideSetRow[];
}

/** A comma-separated list of 1–2000 file ids. */
const fileIds = z
  .string()
  .transform((s, ctx) => {
    const ids = [...new Set(s.split(',').filter((x) => x !== ''))];
    const problem =
      ids.length === 0 || ids.length > 2000 ? 'expected 1 to 2000 comma-separated file ids' : undefined;
    const bad = problem ?? ids.map(fileIdProblem).find((p) => p !== undefined);
    if (bad) {
      ctx.addIssue({ code: 'custom', message: bad });
      return z.NEVER;
    }
    return ids;
  })
  .meta({ description: 'comma-separated file ids (1–2000)' });

export const qcRoutes: AnyRoute[] = [
  route({
    method: 'GET',
    path: '/api/qc/mzqc',
    role: 'viewer',
    tag: 'metrics',
    summary: 'the QC metrics of files (or of an instrument / a date range) as an mzQC 1.0.0 document',
    description:
      'One runQuality per raw data file and processing settings (its newest version), with the metrics that have a PSI-MS term ' +
      '(docs/qc.md lists them). Metrics without one are left out and named in the `X-Sluice-Unmapped-Metrics` header; ' +
      'at most 2000 files (the newest; `X-Sluice-Truncated: true` when more matched).',
    query: z.strictObject({
      files: fileIds.optional(),
      instrument: idFilter.optional(),
      from: isoDate.optional(),
      to: isoDate.optional(),
    }),
    handle: async (c, { query, principal, deps }) => {
      if (!query.files && !query.instrument && !query.from)
        throw badInput(
          'files',
          'choose files, an instrument or a date range (from)',
          'e.g. ?instrument=astral1&from=2026-11-01',
        );
      if (query.from && query.to && query.from >= query.to) throw badInput('to', 'must be later than from');
      try {
        const x = await exportMzqc(deps.db, { ...query, hidden: await hiddenFor(deps.db, principal) });
        const headers: Record<string, string> = {
          'content-disposition': 'attachment; filename="sluice-qc.mzQC"',
          'x-sluice-truncated': String(x.truncated),
        };
        if (x.unmapped.length > 0)
          headers['x-sluice-unmapped-metrics'] = x.unmapped
            .join(',')
            .replace(/[^\x20-\x7e]/g, '?')
            .slice(0, 4000);
        return c.json(x.document, 200, headers);
      } catch (err) {
        if (err instanceof PermanentError && err.code === 'qc.mzqc_no_metrics')
          throw new ApiError(404, 'not_found', err.message, { hint: err.hint });
        if (err instanceof PermanentError && err.code === 'qc.mzqc_no_terms')
          throw new ApiError(422, err.code, err.message, { hint: err.hint });
        throw err;
      }
    },
  }),
  route({
    method: 'GET',
    path: '/api/qc/guide-sets',
    role: 'viewer',
    tag: 'metrics',
    summary: 'the guide sets (QC baselines) of an instrument and metric, oldest start first',
    query: z.strictObject({
      instrument: idFilter.optional(),
      metric: METRIC.optional(),
      retired: z.enum(['true', 'false']).optional().meta({ description: 'include retired guide sets' }),
    }),
    handle: async (c, { query, deps }) => {
      const answer: GuideSetList = {
        guide_sets: await listGuideSets(deps.db, { ...query, retired: query.retired === 'true' }),
      };
      return c.json(answer);
    },
  }),
  route({
    method: 'POST',
    path: '/api/qc/guide-sets',
    role: 'operator',
    tag: 'metrics',
    summary: 'mark a baseline period of one instrument and metric as a guide set (in force from its start)',
    body: z.strictObject({
      instrument: idFilter,
      metric: METRIC,
      from: isoDate,
      to: isoDate,
      note: z.string().max(500, 'at most 500 characters').optional(),
    }),
    handle: async (c, { body, actor, deps }) => {
      if (body.from >= body.to) throw badInput('to', 'must be later than from');
      try {
        const row = await createGuideSet(deps.db, { ...body, actor });
        return c.json(row, 201);
      } catch (err) {
        if (err instanceof PermanentError && err.code.startsWith('qc.'))
          throw new ApiError(422, err.code, err.message, { hint: err.hint });
        throw err;
      }
    },
  }),
  route({
    method: 'DELETE',
    path: '/api/qc/guide-sets/:id',
    role: 'operator',
    tag: 'metrics',
    summary: 'retire a guide set (it stays on record; the one before is in force again)',
    params: z.strictObject({ id: z.string().regex(/^\d{1,18}$/, 'expected a guide set id (a number)') }),
    handle: async (c, { params, actor, deps }) => {
      if (!(await retireGuideSet(deps.db, params.id, actor)))
        throw notFound('active guide set', params.id, 'GET /api/qc/guide-sets?retired=true lists them all');
      return c.json({ retired: params.id });
    },
  }),
];
