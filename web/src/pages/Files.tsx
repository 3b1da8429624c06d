/**
 * Every file, newest first: filters in the URL, keyset pages (the same cost at row 1,000,000 as
 * at row 1), sorting by date, name or size, CSV of everything that matches, live refresh.
 */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useEffect, useMemo, useState } from 'react';
import { Link } from 'wouter';
import { visibleText as visible } from '../../../src/core/visible.ts';
import { api, type FileFilters } from '../api/client.ts';
import type { ApiFile } from '../api/types.ts';
import { StatusBadge } from '../components/Badge.tsx';
import { DateRange, InstrumentSelect } from '../components/Filters.tsx';
import { Empty, ErrorState, Loading } from '../components/States.tsx';
import { When } from '../components/When.tsx';
import { bytes, count } from '../lib/format.ts';
import { STATUS, STATUSES } from '../lib/status.ts';
import { useQueryParams } from '../lib/url.ts';

const GROUPS: { label: string; value: string }[] = [
  { label: 'unfinished', value: STATUSES.filter((s) => !STATUS[s].terminal).join(',') },
  {
    label: 'failed (any)',
    value: STATUSES.filter((s) => STATUS[s].tone === 'bad' || STATUS[s].tone === 'warn').join(','),
  },
];

const SORTS = [
  { key: 'name', label: 'Name' },
  { key: 'size', label: 'Size' },
  { key: 'created_at', label: 'Discovered' },
] as const;

const FILTER_KEYS = ['instrument', 'status', 'project', 'from', 'to', 'q'] as const;

function filtersOf(p: URLSearchParams): FileFilters {
  const f: FileFilters = {};
  for (const k of FILTER_KEYS) {
    const v = p.get(k);
    if (v) f[k] = v;
  }
  const sort = p.get('sort');
  if (sort === 'name' || sort === 'size' || sort === 'created_at') f.sort = sort;
  const dir = p.get('dir');
  if (dir === 'asc' || dir === 'desc') f.dir = dir;
  return f;
}

/** The name search box: the URL follows 300 ms after the last key. */
function SearchBox({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  const [text, setText] = useState(value);
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text === value) return;
    const t = setTimeout(() => onChange(text), 300);
    return () => clearTimeout(t);
  }, [text, value, onChange]);
  return (
    <label>
      Name contains
      <input type="search" value={text} onChange={(e) => setText(e.target.value)} placeholder="e.g. HeLa" />
    </label>
  );
}

type SortKey = (typeof SORTS)[number]['key'];

/** The filters: instrument, status (or a group of statuses), project, dates, name; CSV export. */
function FilterBar({
  filters,
  setFilter,
  anyFilter,
  clearFilters,
}: {
  filters: FileFilters;
  setFilter: (k: string, v: string | undefined) => void;
  anyFilter: boolean;
  clearFilters: () => void;
}) {
  return (
    <form className="filters" aria-label="Filter files" onSubmit={(e) => e.preventDefault()}>
      <InstrumentSelect value={filters.instrument ?? ''} onChange={(v) => setFilter('instrument', v)} />
      <label>
        Status
        <select value={filters.status ?? ''} onChange={(e) => setFilter('status', e.target.value)}>
          <option value="">any status</option>
          {GROUPS.map((g) => (
            <option key={g.label} value={g.value}>
              {g.label}
            </option>
          ))}
          {filters.status &&
            !GROUPS.some((g) => g.value === filters.status) &&
            filters.status.includes(',') && (
              <option value={filters.status}>{filters.status.split(',').length} statuses</option>
            )}
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {STATUS[s].label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Project
        <input
          defaultValue={filters.project ?? ''}
          key={`p-${filters.project ?? ''}`}
          onBlur={(e) => setFilter('project', e.target.value.trim())}
          onKeyDown={(e) => e.key === 'Enter' && setFilter('project', e.currentTarget.value.trim())}
          placeholder="any"
        />
      </label>
      <DateRange from={filters.from ?? ''} to={filters.to ?? ''} onChange={setFilter} />
      <SearchBox value={filters.q ?? ''} onChange={(v) => setFilter('q', v)} />
      <div className="filter-actions">
        {anyFilter && (
          <button type="button" onClick={clearFilters}>
            Clear filters
          </button>
        )}
        <a className="button" href={api.filesCsvUrl(filters)} download>
          Export CSV
        </a>
      </div>
    </form>
  );
}

/** No rows on the first page: nothing matches the filters, or nothing has been found yet. */
function NoFiles({
  anyFilter,
  clearFilters,
  watchPaths,
}: {
  anyFilter: boolean;
  clearFilters: () => void;
  watchPaths: string[];
}) {
  return anyFilter ? (
    <Empty title="No files match these filters">
      Widen the date range or clear a filter.{' '}
      <button type="button" onClick={clearFilters}>
        Clear filters
      </button>
    </Empty>
  ) : (
    <Empty title="No files yet">
      Sluice is watching{' '}
      {watchPaths.length > 0 ? watchPaths.map((p) => <code key={p}>{p} </code>) : 'the instrument folders'}.
      If an instrument has written files there, run <code>sluice doctor</code> to check that the folders are
      reachable and a worker is running.
    </Empty>
  );
}

/** One page of files, with sortable name, size and date columns. */
function FilesTable({
  items,
  filters,
  sortBy,
  busy,
}: {
  items: ApiFile[];
  filters: FileFilters;
  sortBy: (key: SortKey) => void;
  busy: boolean;
}) {
  return (
    <div className="table-wrap">
      <table className="files">
        <caption className="sr-only">
          Files, {filters.sort ?? 'created_at'} {filters.dir ?? 'desc'}
        </caption>
        <thead>
          <tr>
            {SORTS.slice(0, 1).map((s) => (
              <SortHeader key={s.key} s={s} filters={filters} onSort={sortBy} />
            ))}
            <th scope="col">Instrument</th>
            <th scope="col">Project</th>
            <th scope="col">Status</th>
            {SORTS.slice(1).map((s) => (
              <SortHeader key={s.key} s={s} filters={filters} onSort={sortBy} />
            ))}
          </tr>
        </thead>
        <tbody aria-busy={busy}>
          {items.map((f) => (
            <tr key={f.id} className="linked">
              <td>
                <Link href={`/files/${encodeURIComponent(f.id)}`} className="row-link">
                  {visible(f.name)}
                </Link>
                {f.id !== f.name && <div className="muted small">{visible(f.id)}</div>}
              </td>
              <td>{f.instrument_id}</td>
              <td>{f.project_id}</td>
              <td>
                <StatusBadge status={f.status} />
                {f.status_reason && <div className="muted small reason">{f.status_reason}</div>}
              </td>
              <td className="num">{bytes(f.size_bytes)}</td>
              <td>
                <When at={f.created_at} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Rows shown, previous and next page (absent when there is none), rows per page. */
function Pager({
  firstRow,
  rows,
  limit,
  setLimit,
  onPrevious,
  onNext,
}: {
  firstRow: number;
  rows: number;
  limit: number;
  setLimit: (n: number) => void;
  onPrevious?: () => void;
  onNext?: () => void;
}) {
  return (
    <nav className="pager" aria-label="Pages of files">
      <span>
        Rows {count(firstRow)}–{count(firstRow + rows - 1)}
      </span>
      <button type="button" disabled={!onPrevious} onClick={onPrevious}>
        ← Previous
      </button>
      <button type="button" disabled={!onNext} onClick={onNext}>
        Next →
      </button>
      <label>
        Rows per page
        <select value={limit} onChange={(e) => setLimit(Number(e.target.value))}>
          {[25, 50, 100, 250].map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
      </label>
    </nav>
  );
}

export default function FilesPage() {
  const [params, setParams] = useQueryParams();
  const search = params.toString();
  const filters = useMemo(() => filtersOf(new URLSearchParams(search)), [search]);
  const filterKey = JSON.stringify(filters);
  const [limit, setLimit] = useState(50);
  // cursors of the pages before this one; reset when the filters change
  const [stack, setStack] = useState<{ key: string; cursors: (string | undefined)[] }>({
    key: '',
    cursors: [],
  });
  const cursors = stack.key === filterKey ? stack.cursors : [];
  const cursor = cursors.at(-1);

  const instruments = useQuery({ queryKey: ['instruments'], queryFn: api.instruments });
  const page = useQuery({
    queryKey: ['files', filters, limit, cursor ?? null],
    queryFn: ({ signal }) => api.files({ ...filters, limit, cursor }, signal),
    placeholderData: keepPreviousData,
  });

  const setFilter = (k: string, v: string | undefined) => setParams({ [k]: v });
  const sortBy = (key: SortKey) => {
    const same = (filters.sort ?? 'created_at') === key;
    const dir = same
      ? (filters.dir ?? 'desc') === 'desc'
        ? 'asc'
        : 'desc'
      : key === 'name'
        ? 'asc'
        : 'desc';
    setParams({ sort: key === 'created_at' ? undefined : key, dir: dir === 'desc' ? undefined : dir });
  };
  const anyFilter = FILTER_KEYS.some((k) => params.get(k));
  const clearFilters = () => setParams(Object.fromEntries(FILTER_KEYS.map((k) => [k, undefined])));
  const firstRow = cursors.length * limit + 1;
  const watchPaths = instruments.data?.instruments.map((i) => i.watch_path) ?? [];

  return (
    <>
      <h1>Files</h1>
      <FilterBar filters={filters} setFilter={setFilter} anyFilter={anyFilter} clearFilters={clearFilters} />

      {page.isPending ? (
        <Loading what="Loading files" />
      ) : page.isError ? (
        <ErrorState error={page.error} retry={() => void page.refetch()} />
      ) : page.data.items.length === 0 && cursors.length === 0 ? (
        <NoFiles anyFilter={anyFilter} clearFilters={clearFilters} watchPaths={watchPaths} />
      ) : (
        <>
          <FilesTable items={page.data.items} filters={filters} sortBy={sortBy} busy={page.isFetching} />
          <Pager
            firstRow={firstRow}
            rows={page.data.items.length}
            limit={limit}
            setLimit={setLimit}
            onPrevious={
              cursors.length === 0
                ? undefined
                : () => setStack({ key: filterKey, cursors: cursors.slice(0, -1) })
            }
            onNext={
              page.data.nextCursor
                ? () => setStack({ key: filterKey, cursors: [...cursors, page.data.nextCursor ?? undefined] })
                : undefined
            }
          />
        </>
      )}
    </>
  );
}

function SortHeader({
  s,
  filters,
  onSort,
}: {
  s: (typeof SORTS)[number];
  filters: FileFilters;
  onSort: (k: (typeof SORTS)[number]['key']) => void;
}) {
  const active = (filters.sort ?? 'created_at') === s.key;
  const dir = filters.dir ?? 'desc';
  return (
    <th scope="col" aria-sort={active ? (dir === 'asc' ? 'ascending' : 'descending') : 'none'}>
      <button type="button" className="sort" onClick={() => onSort(s.key)}>
        {s.label} <span aria-hidden="true">{active ? (dir === 'asc' ? '▲' : '▼') : '↕'}</span>
      </button>
    </th>
  );
}
