/** Every function with its version, limits and secrets' names. */
import { useQuery } from '@tanstack/react-query';
import { Link } from 'wouter';
import { api, seg } from '../api/client.js';
import type { FunctionSummary } from '../api/types.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';

export function FunctionsPage() {
  const functions = useQuery({ queryKey: ['functions'], queryFn: () => api.get<{ functions: FunctionSummary[] }>('/v1/functions') });
  return (
    <>
      <PageHeader title="Functions" />
      <Loaded query={functions}>
        {({ functions: list }) =>
          list.length === 0 ? (
            <p className="muted">No function published yet.</p>
          ) : (
            <table className="list">
              <thead>
                <tr>
                  <th scope="col">Function</th>
                  <th scope="col">Version</th>
                  <th scope="col">Limits</th>
                  <th scope="col">Secrets</th>
                  <th scope="col">Published</th>
                </tr>
              </thead>
              <tbody>
                {list.map((fn) => (
                  <tr key={fn.name}>
                    <td>
                      <Link href={`/functions/${seg(fn.name)}`}>{fn.name}</Link>
                      {fn.description && <div className="muted small clip">{fn.description}</div>}
                    </td>
                    <td className="num">v{fn.version}</td>
                    <td>
                      {fn.timeout}, {fn.memoryMb} MB{fn.allowedHosts.length > 0 && <>, {fn.allowedHosts.join(', ')}</>}
                    </td>
                    <td>{fn.secrets.join(', ') || <span className="muted">none</span>}</td>
                    <td>
                      <Time iso={fn.createdAt} /> <span className="muted">by {fn.createdBy}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          )
        }
      </Loaded>
    </>
  );
}
