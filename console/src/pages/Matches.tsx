/** What an event matched, and why the other automations did not (the condition's value or its error). */
import { Link } from 'wouter';
import type { EventRecord } from '../api/types.js';
import { runHref } from './RunsTable.js';

export function Matches({ matches }: { matches: EventRecord['matches'] }) {
  if (matches.length === 0) return <p className="muted">No automation listens to this event type.</p>;
  return (
    <table className="list">
      <thead>
        <tr>
          <th scope="col">Automation</th>
          <th scope="col">Matched</th>
          <th scope="col">Run or reason</th>
        </tr>
      </thead>
      <tbody>
        {matches.map((match) => (
          <tr key={`${match.automation}@${match.version}`}>
            <td>
              <Link href={`/automations/${encodeURIComponent(match.automation)}`}>{match.automation}</Link>{' '}
              <span className="muted">v{match.version}</span>
            </td>
            <td>
              {match.matched ? <span className="status status-completed">matched</span> : <span className="status">not matched</span>}
            </td>
            <td>
              {match.runId && <Link href={runHref(match.runId)}>{match.runId}</Link>}
              {match.error && <span className="error-text"> could not start: {match.error}</span>}
              {!match.matched && <span className="muted">{match.reason ?? 'condition false'}</span>}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
