/**
 * What the API answers, as the dashboard sees it. Every type is derived from the server's own
 * (`import type` only: nothing of the server is bundled), so a change there that the dashboard
 * does not follow fails `npm run typecheck`. `Json<T>` is what `JSON.stringify` makes of T:
 * dates become ISO strings.
 */
import type { ErrorBody } from '../../../src/api/errors.ts';
import type { MetricNamesAnswer, MetricSeries, MetricSeriesAnswer } from '../../../src/api/routes/metrics.ts';
import type { GuideSetList } from '../../../src/api/routes/qc.ts';
import type { ThroughputAnswer } from '../../../src/api/routes/throughput.ts';
import type { Role } from '../../../src/auth/roles.ts';
import type { TokenRow } from '../../../src/auth/tokens.ts';
import type { UserRow } from '../../../src/auth/users.ts';
import type { TargetProgress } from '../../../src/backup/s3/progress.ts';
import type { VariableState } from '../../../src/core/variables.ts';
import type { EventRow, FeedEvent } from '../../../src/engine/events.ts';
import type { PoolUsage } from '../../../src/engine/pools.ts';
import type { FileStatus } from '../../../src/files/lifecycle.ts';
import type { CopyRow, FileRow, InstrumentRow } from '../../../src/files/repo.ts';
import type { JobRow } from '../../../src/process/jobs.ts';

export type {
  ErrorBody,
  FeedEvent,
  FileStatus,
  MetricNamesAnswer,
  MetricSeries,
  MetricSeriesAnswer,
  Role,
  ThroughputAnswer,
};

/** The guide sets of an instrument (dates as ISO strings). */
export type ApiGuideSetList = Json<GuideSetList>;

export type Json<T> = T extends Date
  ? string
  : T extends (infer U)[]
    ? Json<U>[]
    : T extends object
      ? { [K in keyof T]: Json<T[K]> }
      : T;

export interface Me {
  user: string;
  role: Role;
  via: 'session' | 'token';
  csrfToken: string | null;
  mustChangePassword: boolean;
}

export interface LoginAnswer {
  user: string;
  role: Role;
  csrfToken: string;
  mustChangePassword: boolean;
}

/** A row of GET /api/files: sizes are numbers, the manifest stays with the copies. */
export type ApiFile = Omit<Json<FileRow>, 'size_bytes' | 'manifest' | 'acquired_fingerprint'> & {
  size_bytes: number;
};

export interface FilesPage {
  items: ApiFile[];
  nextCursor: string | null;
}

export type ApiCopy = Omit<Json<CopyRow>, 'bytes'> & {
  bytes: number;
  /** A `released` backup: the verified archives holding the file now (src/views/file-detail.ts). */
  held_by?: { archive: string; target: string; verified_at: string | null }[];
};
export type ApiJob = Json<JobRow>;
export type ApiEvent = Json<EventRow>;

export interface FileDetail {
  file: ApiFile & { manifest_entries: number | null; acquired_files: number | null };
  copies: ApiCopy[];
  jobs: ApiJob[];
  metrics: {
    settings_name: string;
    settings_version: number;
    name: string;
    value: number | null;
    unit: string | null;
    created_at: string;
  }[];
  events: ApiEvent[];
}

export type ApiInstrument = Omit<Json<InstrumentRow>, 'free_bytes' | 'total_bytes'> & {
  free_bytes: number | null;
  total_bytes: number | null;
  counts: Partial<Record<FileStatus, number>>;
  stuck: number;
};

export interface InstrumentsAnswer {
  stuckFileMinutes: number;
  instruments: ApiInstrument[];
}

export type ApiVariable = VariableState;

export interface VariableChange {
  name: string;
  old_value: unknown;
  new_value: unknown;
  actor: string;
  at: string;
}

export type ApiPool = Json<PoolUsage>;

/** `GET /api/status`'s `targets`: each extra backup target's progress. */
export type ApiTargetProgress = Json<TargetProgress>;
export interface StatusTargetsAnswer {
  targets: ApiTargetProgress[];
}
export type ApiUser = Json<UserRow> & { tokens: number; last_seen_at: string | null };
export type ApiToken = Json<TokenRow>;

export interface CreatedUser {
  user: string;
  role: Role;
  password: string | null;
  mustChangePassword: boolean;
}

export interface CreatedToken {
  token: string;
  name: string;
  user: string;
  role: Role;
}
