/** A definition's versions, newest first, each with a rollback to it, then a diff of any two. */
import type { QueryKey } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { Action } from './Action.js';
import { ACTIONS_HEADER, DataTable, type Column } from './DataTable.js';
import { Section } from './Page.js';
import { Time } from './Time.js';

interface Version {
  version: number;
  createdBy: string;
  createdAt: string;
}

export function VersionHistory<V extends Version>({
  title,
  name,
  versions,
  current,
  shown,
  detail,
  createdHeader,
  rollback,
  invalidate,
  diff,
}: {
  title: string;
  /** The definition's name, in the rollback's confirmation. */
  name: string;
  versions: readonly V[];
  /** The version in force. */
  current: number;
  /** The version the page shows, marked as the current row. */
  shown?: number;
  /** The column between the version and its author (where it came from, why it was made). */
  detail: Column<V>;
  createdHeader: string;
  /** Puts a version back in force; none when the viewer may not. */
  rollback?: (version: number) => Promise<unknown>;
  invalidate: QueryKey[];
  /** The diff of two versions (its texts may load separately). */
  diff: ReactNode;
}) {
  const columns: Column<V>[] = [
    {
      header: 'Version',
      className: 'num',
      cell: (version) => (
        <>
          v{version.version} {version.version === current && <span className="badge">in force</span>}
        </>
      ),
    },
    detail,
    { header: 'By', cell: (version) => version.createdBy },
    { header: createdHeader, cell: (version) => <Time iso={version.createdAt} /> },
    {
      header: ACTIONS_HEADER,
      cell: (version) =>
        rollback &&
        version.version !== current && (
          <Action confirm={`Put v${version.version} of ${name} in force?`} run={() => rollback(version.version)} invalidate={invalidate}>
            Roll back to v{version.version}
          </Action>
        ),
    },
  ];
  return (
    <>
      <Section title={title}>
        <DataTable
          rows={[...versions].reverse()}
          columns={columns}
          rowKey={(version) => version.version}
          rowProps={(version) => ({ 'aria-current': version.version === shown ? 'true' : undefined })}
        />
      </Section>
      <Section title="Diff">{diff}</Section>
    </>
  );
}
