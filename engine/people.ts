/**
 * A person as the console names them (a user id or email) and what is recorded about them: the
 * keys their runs are filed under, and their timeline of runs, directory changes (with the run step
 * that made each) and audit entries.
 */
import { describeChange, type ChangeDescription } from '../directory/changes.js';
import type { DirectoryOps } from '../directory/repository.js';
import type { User } from '../directory/types.js';
import type { AuditEntry, RunSummary, Store, TimelinePosition } from '../store/types.js';

/** The person's directory record (when they have one) and the keys runs about them are filed under (runs.subject). */
export async function personKeys(directory: DirectoryOps, ref: string): Promise<{ user?: User; subjects: string[] }> {
  const user = (await directory.getUser(ref)) ?? (ref.includes('@') ? await directory.getUserByEmail(ref) : undefined);
  // A run is filed under its subject's id, or its email when the subject had no id.
  if (user) return { user, subjects: [...new Set([user.id, user.email.toLowerCase()])] };
  return { subjects: [ref.includes('@') ? ref.toLowerCase() : ref] };
}

export type TimelineEntry =
  | { at: string; kind: 'run'; run: RunSummary }
  | { at: string; kind: 'change'; event: ChangeDescription & { id: string; type: string; runId?: string; stepName?: string } }
  | { at: string; kind: 'audit'; entry: Pick<AuditEntry, 'id' | 'actor' | 'action' | 'target'> };

export interface PersonTimeline {
  /** The directory record; null when the person is not (or no longer) in the directory. */
  user: User | null;
  entries: TimelineEntry[];
  /** Where the next page starts, when there is one. */
  next?: TimelinePosition;
}

/**
 * Newest first, `limit` entries after `before`. A person no longer in the directory is looked up
 * by the reference itself (an id, or an email). Audit entries only with `audit` (the audit log is
 * the admin's).
 */
export async function personTimeline(
  store: Store,
  ref: string,
  options: { before?: TimelinePosition; limit: number; audit: boolean },
): Promise<PersonTimeline> {
  const { user, subjects } = await personKeys(store.directory, ref);
  const userId = user?.id ?? (ref.includes('@') ? undefined : ref);
  // One more than the page: whether a next page exists without asking again.
  const rows = await store.timeline.about({ subjects, userId }, { before: options.before, limit: options.limit + 1, audit: options.audit });
  const page = rows.slice(0, options.limit);
  const entries = page.map((row): TimelineEntry => {
    if (row.kind === 'run') return row;
    if (row.kind === 'audit') {
      const { id, actor, action, target } = row.entry;
      return { at: row.at, kind: 'audit', entry: { id, actor, action, target } };
    }
    const { seq: _seq, data, ...event } = row.change;
    return { at: row.at, kind: 'change', event: { ...event, ...describeChange(event.type, data) } };
  });
  const last = page.at(-1);
  const next =
    rows.length > options.limit && last !== undefined
      ? {
          at: last.at,
          kind: last.kind,
          key: last.kind === 'run' ? last.run.runId : last.kind === 'change' ? last.change.seq : last.entry.id,
        }
      : undefined;
  return { user: user ?? null, entries, ...(next !== undefined && { next }) };
}
