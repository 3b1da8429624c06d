/**
 * The catalog pages' lists (projects, data sets, a project's samples and newest files, a data set's
 * contents, a sample's relations and history) drawn one way: a table of rows with one cell per
 * column, the first cell the row's header (usually the link to the row's own page). `ListCard`
 * also loads the rows (loading, error with retry, then the table or the empty text) and may sit in
 * a section of its own under an `h2`.
 */
import type { UseQueryResult } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { QueryView } from '../../components/Query.tsx';
import { Table } from '../../components/Table.tsx';

/** One column: its header and what each row shows in it. */
export interface Column<T> {
  header: string;
  cell: (row: T) => ReactNode;
  /** The cells' class (`num`: right-aligned figures). */
  className?: string;
}

export interface ListTableProps<T> {
  columns: readonly Column<T>[];
  rows: readonly T[];
  rowKey: (row: T) => string;
  /** The table's accessible name: a visible heading's id, or a hidden caption's text. */
  label: { id: string } | { caption: string };
  /** The first cell is the row's header (`th scope="row"`); false for rows with no single name. */
  rowHeader?: boolean;
  /** Shown instead of the table when there are no rows; without it an empty table is shown. */
  empty?: string;
}

export function ListTable<T>({ columns, rows, rowKey, label, rowHeader = true, empty }: ListTableProps<T>) {
  if (rows.length === 0 && empty !== undefined) return <p className="muted">{empty}</p>;
  return (
    <Table headers={columns.map((c) => c.header)} label={label}>
      {rows.map((r) => (
        <tr key={rowKey(r)}>
          {columns.map((c, i) =>
            i === 0 && rowHeader ? (
              <th scope="row" key={c.header} className={c.className}>
                {c.cell(r)}
              </th>
            ) : (
              <td key={c.header} className={c.className}>
                {c.cell(r)}
              </td>
            ),
          )}
        </tr>
      ))}
    </Table>
  );
}

/** A list loaded by `query`, whose rows are `rows(data)`; with `title`, a section under an `h2`. */
export function ListCard<D, T>({
  query,
  loading,
  rows,
  title,
  footer,
  ...table
}: Omit<ListTableProps<T>, 'rows' | 'label'> & {
  query: UseQueryResult<D>;
  /** What is loading, for the loading state ("Loading samples"). */
  loading: string;
  rows: (data: D) => readonly T[];
  /** `id` and text of the section's heading (the table's name); else the hidden caption's text. */
  title: { id: string; text: string } | { caption: string };
  /** After the list (links to more), inside the section. */
  footer?: ReactNode;
}) {
  const body = (
    <QueryView query={query} loading={loading}>
      {(d) => <ListTable {...table} rows={rows(d)} label={'id' in title ? { id: title.id } : title} />}
    </QueryView>
  );
  if (!('id' in title))
    return (
      <>
        {body}
        {footer}
      </>
    );
  return (
    <section aria-labelledby={title.id}>
      <h2 id={title.id}>{title.text}</h2>
      {body}
      {footer}
    </section>
  );
}
