/** A list page: its header, filters kept in the URL, a page of rows from the API as a table, and the pager. */
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import type { Key, ReactNode } from 'react';
import { api } from '../api/client.js';
import { DataTable, type Column } from './DataTable.js';
import { Filters, Pager, useFilters, type FilterField } from './Filters.js';
import { PageHeader } from './Page.js';
import { Loaded } from './QueryState.js';

export function PagedList<Page extends { nextCursor?: string }, Row>({
  title,
  actions,
  fields,
  path,
  limit,
  rowsOf,
  columns,
  rowKey,
  empty,
}: {
  title: string;
  actions?: ReactNode;
  fields: readonly FilterField[];
  /** The API's list route; the filters, the cursor and the limit go in its query. */
  path: string;
  limit: number;
  rowsOf: (page: Page) => readonly Row[];
  columns: readonly Column<Row>[];
  rowKey: (row: Row) => Key;
  empty: string;
}) {
  const query = useFilters(fields.map((field) => field.name));
  const list = useQuery({
    queryKey: [path, query],
    queryFn: () => api.get<Page>(path, { ...query, limit }),
    placeholderData: keepPreviousData,
  });
  return (
    <>
      <PageHeader title={title}>{actions}</PageHeader>
      <Filters fields={fields} />
      <Loaded query={list}>
        {(page) =>
          rowsOf(page).length === 0 ? (
            <p className="muted">{empty}</p>
          ) : (
            <>
              <DataTable rows={rowsOf(page)} columns={columns} rowKey={rowKey} />
              <Pager nextCursor={page.nextCursor} />
            </>
          )
        }
      </Loaded>
    </>
  );
}
