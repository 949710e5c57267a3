/** Every function with its version, limits and secrets' names. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { FunctionSummary } from '../api/types.js';
import { DataTable, type Column } from '../ui/DataTable.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';

const COLUMNS: Column<FunctionSummary>[] = [
  {
    header: 'Function',
    cell: (fn) => (
      <>
        <Link href={`/functions/${seg(fn.name)}`}>{fn.name}</Link>
        {fn.description && <div className="muted small clip">{fn.description}</div>}
      </>
    ),
  },
  { header: 'Version', cell: (fn) => `v${fn.version}`, className: 'num' },
  {
    header: 'Limits',
    cell: (fn) => (
      <>
        {fn.timeout}, {fn.memoryMb} MB{fn.allowedHosts.length > 0 && <>, {fn.allowedHosts.join(', ')}</>}
      </>
    ),
  },
  { header: 'Secrets', cell: (fn) => fn.secrets.join(', ') || <span className="muted">none</span> },
  {
    header: 'Published',
    cell: (fn) => (
      <>
        <Time iso={fn.createdAt} /> <span className="muted">by {fn.createdBy}</span>
      </>
    ),
  },
];

export function FunctionsPage() {
  const functions = useQuery({ queryKey: ['functions'], queryFn: () => api.get<{ functions: FunctionSummary[] }>('/v1/functions') });
  return (
    <>
      <PageHeader title="Functions" />
      <Loaded query={functions}>
        {({ functions: list }) => <DataTable rows={list} columns={COLUMNS} rowKey={(fn) => fn.name} empty="No function published yet." />}
      </Loaded>
    </>
  );
}
