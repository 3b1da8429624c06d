/** A scrollable table with column headers; an empty header is announced as `Actions`. */
import type { ReactNode } from 'react';

export function Table({
  headers,
  className,
  label,
  children,
}: {
  headers: string[];
  className?: string;
  /** The accessible name (a visible heading's id, or the text of a hidden caption). */
  label?: { id: string } | { caption: string };
  children: ReactNode;
}) {
  return (
    <div className="table-wrap">
      <table className={className} aria-labelledby={label && 'id' in label ? label.id : undefined}>
        {label && 'caption' in label && <caption className="sr-only">{label.caption}</caption>}
        <thead>
          <tr>
            {headers.map((h, i) => (
              <th scope="col" key={h || `col-${i}`}>
                {h || <span className="sr-only">Actions</span>}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>{children}</tbody>
      </table>
    </div>
  );
}
