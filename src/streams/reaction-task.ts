/**
 * `streams.reaction`: one run of a scheduled reaction (schedule `reaction:<name>`). Select (the
 * stream items stored since the last successful run, or the files of a time window), run the action
 * (webhook, notify, QC digest or a reaction unit), record the run in `reaction_runs` with the unit's
 * version and config hash in the transaction that completes the task. A run of a period recorded
 * already (a retried task) does nothing; a failure is retried by the engine, and the last one is
 * recorded as a failed run (the item cursor does not move, so the next run selects those items again).
 */
import type { FilesSelection, ReactionConfig, ReactionsConfig } from '../core/config/schema/reactions.ts';
import type { Queryable } from '../core/db/db.ts';
import { errorMessage } from '../core/errors.ts';
import { listFiles } from '../files/repo.ts';
import { metricPointsBetween } from '../metrics/store.ts';
import { defineHandler, Kind, parsePayload } from '../tasks/catalogue.ts';
import {
  builtinIdentity,
  filesWindow,
  itemWanted,
  loadReactionUnit,
  type Notice,
  type ReactionIdentity,
  type SelectedFile,
  type Selection,
  selectionNotice,
  selectionSize,
} from './reactions.ts';
import { qcDigest, qcNotices } from './reactions-qc.ts';
import { reactionCursor, reactionRunExists, recordReactionRun } from './reactions-repo.ts';
import { itemsAfter } from './repo.ts';

export interface ReactionDeps {
  reactions: ReactionsConfig;
  baseDir: string;
  /** Hands notices to the alert notifiers (alerts.notifiers); throws when none took them. */
  notify(notices: Notice[]): Promise<void>;
}

interface Selected {
  selection: Selection;
  /** Items: the highest id looked at (the next run starts after it). */
  cursor: string | null;
}

async function selectItems(q: Queryable, name: string, sel: NonNullable<ReactionConfig['select']['items']>) {
  const after = await reactionCursor(q, name);
  const rows = await itemsAfter(q, {
    afterId: after,
    sources: sel.sources,
    channels: sel.channels,
    limit: sel.limit,
    settleSeconds: sel.settle_seconds,
  });
  const items = rows
    .filter((r) => itemWanted(sel.where, r.payload))
    .map((r) => ({
      id: r.id,
      source: r.source,
      subject: r.subject,
      seq: r.stream_seq,
      payload: r.payload,
      channels: r.channels,
      received_at: r.received_at.toISOString(),
    }));
  return { selection: { items }, cursor: rows.at(-1)?.id ?? after };
}

async function selectFiles(q: Queryable, sel: FilesSelection, at: Date): Promise<Selected> {
  const { from, to } = filesWindow(sel, at);
  const per = sel.instruments ?? [undefined];
  const files: SelectedFile[] = [];
  for (const instrument of per) {
    const rows = await listFiles(q, { instrument, since: from, limit: sel.limit });
    for (const f of rows) {
      if (f.created_at >= to) continue;
      files.push({
        id: f.id,
        name: f.name,
        instrument: f.instrument_id,
        status: f.status,
        first_seen_at: f.first_seen_at.toISOString(),
      });
    }
  }
  files.sort((a, b) => a.first_seen_at.localeCompare(b.first_seen_at) || a.id.localeCompare(b.id));
  return { selection: { files, from: from.toISOString(), to: to.toISOString() }, cursor: null };
}

async function postWebhook(
  action: Extract<ReactionConfig['action'], { type: 'webhook' }>,
  body: unknown,
  idempotencyKey: string,
): Promise<{ status: number }> {
  const res = await fetch(action.url, {
    method: 'POST',
    headers: { ...action.headers, 'content-type': 'application/json', 'idempotency-key': idempotencyKey },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(action.timeout_seconds * 1000),
  }).catch((err: Error & { cause?: { code?: string } }) => {
    const why =
      err.name === 'TimeoutError'
        ? `no answer within ${action.timeout_seconds} s`
        : (err.cause?.code ?? err.message);
    throw new Error(`webhook (${new URL(action.url).host}): could not post: ${why}`);
  });
  const text = await res.text().catch(() => '');
  if (!res.ok)
    throw new Error(
      `webhook (${new URL(action.url).host}): HTTP ${res.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    );
  return { status: res.status };
}

interface RunInput {
  q: Queryable;
  name: string;
  period: string;
  r: ReactionConfig;
  id: ReactionIdentity;
  sel: Selected;
  at: Date;
}

/** Runs the action on the selection; returns the result recorded with the run. */
async function act(deps: ReactionDeps, x: RunInput): Promise<unknown> {
  const { r, sel } = x;
  const n = selectionSize(sel.selection);
  switch (r.action.type) {
    case 'webhook': {
      if (n === 0 && !r.action.send_empty) return { sent: false };
      const body = { reaction: x.name, period: x.period, ...x.id, selected: n, ...sel.selection };
      return { sent: true, ...(await postWebhook(r.action, body, `${x.name}:${x.period}`)) };
    }
    case 'notify': {
      if (n === 0 && !r.action.send_empty) return { sent: false };
      await deps.notify([selectionNotice(x.name, r.action.title, r.action.severity, sel.selection)]);
      return { sent: true };
    }
    case 'qc_digest':
      return qcDigestAction(deps, x, r.action);
    case 'unit': {
      const { unit } = await loadReactionUnit(x.name, r.action, deps.baseDir);
      const out = await unit.react(sel.selection, r.action.config, { reaction: x.name, period: x.period });
      return out === undefined ? null : (JSON.parse(JSON.stringify(out)) as unknown);
    }
  }
}

async function qcDigestAction(
  deps: ReactionDeps,
  x: RunInput,
  action: Extract<ReactionConfig['action'], { type: 'qc_digest' }>,
): Promise<unknown> {
  const s = x.sel.selection;
  if (!('files' in s)) throw new Error('qc_digest needs select.files');
  const instruments = [...new Set(s.files.map((f) => f.instrument))];
  const points =
    s.files.length === 0
      ? []
      : await metricPointsBetween(x.q, {
          from: new Date(Date.parse(s.from) - action.lookback_days * 86_400_000),
          to: x.at,
          instruments,
          names: action.metrics,
        });
  const digest = qcDigest(s.files, points, { k: action.k, window: action.window });
  const notices = qcNotices(x.name, digest, s);
  if (notices.length > 0 || action.send_empty)
    await deps.notify(notices.length > 0 ? notices : [selectionNotice(x.name, undefined, 'warning', s)]);
  return { sent: notices.length > 0 || action.send_empty, ...digest };
}

async function identityOf(name: string, r: ReactionConfig, baseDir: string): Promise<ReactionIdentity> {
  return r.action.type === 'unit'
    ? (await loadReactionUnit(name, r.action, baseDir)).id
    : builtinIdentity(r.action);
}

export function reactionHandler(deps: ReactionDeps) {
  return defineHandler(Kind.streamsReaction, {
    async run(ctx) {
      const name = ctx.payload.reaction;
      const r = deps.reactions[name];
      const period = ctx.payload.scheduledFor ?? `task:${ctx.task.id}`;
      if (!r || (await reactionRunExists(ctx.db, name, period))) {
        if (!r) ctx.log.warn({ reaction: name }, 'reaction no longer configured; nothing to do');
        await ctx.complete();
        return;
      }
      const startedAt = new Date();
      const at = ctx.payload.scheduledFor ? new Date(ctx.payload.scheduledFor) : startedAt;
      const id = await identityOf(name, r, deps.baseDir);
      const sel = r.select.items
        ? await selectItems(ctx.db, name, r.select.items)
        : await selectFiles(ctx.db, r.select.files!, at);
      const result = await act(deps, { q: ctx.db, name, period, r, id, sel, at });
      const selected = selectionSize(sel.selection);
      ctx.log.info({ reaction: name, period, selected, unit: id.unit }, 'reaction ran');
      await ctx.complete(async (tx) => {
        await recordReactionRun(tx, {
          reaction: name,
          period,
          unit: id.unit,
          unit_version: id.version,
          config_hash: id.hash,
          selected,
          cursor_item: sel.cursor,
          status: 'ok',
          result,
          error: null,
          started_at: startedAt,
        });
      });
    },
    async onFailed(tx, task, error) {
      const p = parsePayload(Kind.streamsReaction, task.payload);
      const r = deps.reactions[p.reaction];
      const id =
        r?.action.type === 'unit'
          ? { unit: r.action.module, version: '?', hash: '?' }
          : r
            ? builtinIdentity(r.action)
            : { unit: '?', version: '?', hash: '?' };
      await recordReactionRun(tx, {
        reaction: p.reaction,
        period: p.scheduledFor ?? `task:${task.id}`,
        unit: id.unit,
        unit_version: id.version,
        config_hash: id.hash,
        selected: null,
        cursor_item: null,
        status: 'failed',
        result: null,
        error: errorMessage(error),
        started_at: new Date(),
      });
    },
  });
}
