/** A dense list table from column definitions; a muted sentence instead when there are no rows. */
import type { HTMLAttributes, Key, ReactNode } from 'react';

export interface Column<Row> {
  header: ReactNode;
  cell: (row: Row) => ReactNode;
  className?: string;
  /** The cell's tooltip, e.g. the whole of a clipped error. */
  title?: (row: Row) => string | undefined;
}

/** The header of a row's buttons column: named for screen readers, blank on screen. */
export const ACTIONS_HEADER = <span className="visually-hidden">Actions</span>;

export function DataTable<Row>({
  rows,
  columns,
  rowKey,
  empty,
  caption,
  rowProps,
}: {
  rows: readonly Row[];
  columns: readonly Column<Row>[];
  rowKey: (row: Row) => Key;
  /** Shown instead of the table when there are no rows. */
  empty?: string;
  caption?: string;
  rowProps?: (row: Row) => HTMLAttributes<HTMLTableRowElement>;
}) {
  if (rows.length === 0 && empty !== undefined) return <p className="muted">{empty}</p>;
  return (
    <table className="list">
      {caption && <caption className="visually-hidden">{caption}</caption>}
      <thead>
        <tr>
          {columns.map((column, index) => (
            <th scope="col" key={index}>
              {column.header}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row) => (
          <tr key={rowKey(row)} {...rowProps?.(row)}>
            {columns.map((column, index) => (
              <td key={index} className={column.className} title={column.title?.(row)}>
                {column.cell(row)}
              </td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}
