/**
 * `idflow dev`'s outbox: the emails (their HTML rendered in a sandboxed frame that runs no script and
 * reaches nothing), Slack messages and webhooks the automations sent.
 */
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client.js';
import type { JsonValue, OutboxItem } from '../api/types.js';
import { JsonView } from '../ui/JsonView.js';
import { PageHeader } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Time } from '../ui/Time.js';

function field(body: JsonValue, name: string): string | undefined {
  return body && typeof body === 'object' && !Array.isArray(body) && typeof body[name] === 'string' ? body[name] : undefined;
}

function Item({ item }: { item: OutboxItem }) {
  const subject = field(item.body, 'subject');
  const html = field(item.body, 'html');
  const text = field(item.body, 'text');
  return (
    <li className="card">
      <p>
        <span className={`effect effect-${item.channel}`}>{item.channel}</span> to <strong>{item.to}</strong> · <Time iso={item.at} />
      </p>
      {item.channel === 'email' ? (
        <>
          <p>
            <strong>{subject ?? '(no subject)'}</strong>
          </p>
          {html ? (
            <iframe className="email" sandbox="" srcDoc={html} title={`Email: ${subject ?? item.id}`} />
          ) : (
            <pre className="json">{text}</pre>
          )}
        </>
      ) : item.channel === 'slack' ? (
        <p className="message">{field(item.body, 'text') ?? <JsonView value={item.body} label="Slack message" />}</p>
      ) : (
        <JsonView value={item.body} label={`Webhook to ${item.to}`} />
      )}
    </li>
  );
}

export function OutboxPage() {
  const outbox = useQuery({ queryKey: ['outbox'], queryFn: () => api.get<{ items: OutboxItem[] }>('/v1/outbox'), refetchInterval: 5_000 });
  return (
    <>
      <PageHeader title="Dev outbox" subtitle="What the automations sent under idflow dev: nothing here left this machine" />
      <Loaded query={outbox}>
        {({ items }) =>
          items.length === 0 ? (
            <p className="muted">Nothing sent yet.</p>
          ) : (
            <ul className="cards">
              {[...items]
                .sort((a, b) => b.at.localeCompare(a.at))
                .map((item) => (
                  <Item key={item.id} item={item} />
                ))}
            </ul>
          )
        }
      </Loaded>
    </>
  );
}
