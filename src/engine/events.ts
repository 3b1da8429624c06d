import type { Queryable } from '../core/db/db.ts';

/** One entry of a subject's timeline: who did what, when, from which state to which, and why. */
export interface EventInput {
  subjectType: string;
  subjectId: string;
  actor: string;
  from?: string | null;
  to?: string | null;
  reason?: string | null;
  data?: Record<string, unknown> | null;
}

export interface EventRow {
  id: string;
  subject_type: string;
  subject_id: string;
  at: Date;
  actor: string;
  from_state: string | null;
  to_state: string | null;
  reason: string | null;
  data: Record<string, unknown> | null;
}

/** Append to the event log. Call it in the transaction that makes the change it records. */
export async function recordEvent(q: Queryable, e: EventInput): Promise<void> {
  await q.exec(
    `insert into events (subject_type, subject_id, actor, from_state, to_state, reason, data)
     values ($1, $2, $3, $4, $5, $6, $7::jsonb)`,
    [
      e.subjectType,
      e.subjectId,
      e.actor,
      e.from ?? null,
      e.to ?? null,
      e.reason ?? null,
      e.data ? JSON.stringify(e.data) : null,
    ],
  );
}

export async function listEvents(q: Queryable, subjectType: string, subjectId: string): Promise<EventRow[]> {
  return q.query<EventRow>('select * from events where subject_type = $1 and subject_id = $2 order by id', [
    subjectType,
    subjectId,
  ]);
}
