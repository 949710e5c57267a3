/**
 * The outside world of the chaos run, on loopback: an SMTP server, a Slack-Web-API-compatible
 * server and a webhook receiver. Each records what it accepted by the idempotency key the step
 * sends (Message-ID, the message text, webhook-id) and when, so the run can count duplicates
 * and measure how long after acceptance a worker recorded the effect (the at-most-once window).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { startSmtpCatcher } from '../../dev/outbox.js';
import { Webhook } from 'standardwebhooks';

/** Every acceptance of one idempotency key, in milliseconds since the epoch. */
export type Acceptances = Map<string, number[]>;

export interface WebhookDelivery {
  /** The payload's `event` and `user`, as the automation sent them. */
  body: { event?: string; user?: string };
  /** The Standard Webhooks signature verified with the shared secret. */
  signed: boolean;
}

export interface Sinks {
  smtpUrl: string;
  slackApiUrl: string;
  webhookUrl: string;
  /** Accepted emails by Message-ID. */
  emails: Acceptances;
  /** Posted Slack messages by text: send_slack sends no client message id (see docs/deployment.md). */
  slackMessages: Acceptances;
  /** Webhook deliveries by webhook-id. */
  webhooks: Map<string, WebhookDelivery[]>;
  close(): Promise<void>;
}

/** The channel the chaos automations post to. */
export const SLACK_CHANNEL = { id: 'C0CHAOS001', name: 'new-employees' };

function accept(into: Acceptances, key: string): void {
  const times = into.get(key) ?? [];
  times.push(Date.now());
  into.set(key, times);
}

export async function startSinks(webhookSecret: string): Promise<Sinks> {
  const emails: Acceptances = new Map();
  const slackMessages: Acceptances = new Map();
  const webhooks = new Map<string, WebhookDelivery[]>();

  const smtp = await startSmtpCatcher({
    add: ({ body }) => accept(emails, (body as { messageId?: string }).messageId ?? '(no Message-ID)'),
  });

  const verifier = new Webhook(webhookSecret);
  const http = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const reply = (json: object): void => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify(json));
      };
      const url = request.url ?? '';
      if (url.startsWith('/slack/api/')) {
        const form = Object.fromEntries(new URLSearchParams(body));
        const method = url.slice('/slack/api/'.length);
        if (method === 'conversations.list') return reply({ ok: true, channels: [SLACK_CHANNEL], response_metadata: { next_cursor: '' } });
        if (method === 'chat.postMessage' && form.channel === SLACK_CHANNEL.id) {
          accept(slackMessages, form.text ?? '');
          return reply({ ok: true, channel: SLACK_CHANNEL.id, ts: (Date.now() / 1000).toFixed(6) });
        }
        return reply({ ok: false, error: method === 'chat.postMessage' ? 'channel_not_found' : 'unknown_method' });
      }
      const id = String(request.headers['webhook-id'] ?? '(no webhook-id)');
      let signed = true;
      try {
        verifier.verify(body, request.headers as Record<string, string>);
      } catch {
        signed = false;
      }
      const deliveries = webhooks.get(id) ?? [];
      deliveries.push({ body: JSON.parse(body) as WebhookDelivery['body'], signed });
      webhooks.set(id, deliveries);
      reply({ received: true });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;

  return {
    smtpUrl: smtp.url,
    slackApiUrl: `${base}/slack/api/`,
    webhookUrl: `${base}/hooks/it`,
    emails,
    slackMessages,
    webhooks,
    async close() {
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await smtp.close();
    },
  };
}
