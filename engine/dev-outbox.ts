/**
 * The dev outbox: under `idflow dev`, with no SMTP or Slack configured, what the automations
 * send lands here instead (a local SMTP catcher, a Slack-Web-API-compatible endpoint on the API,
 * and the webhook sink), so a newcomer sees it with `idflow outbox`. In memory, last 500 items.
 */
import { simpleParser, type AddressObject } from 'mailparser';
import type { AddressInfo } from 'node:net';
import { SMTPServer } from 'smtp-server';

export interface OutboxItem {
  id: number;
  at: string;
  channel: 'webhook' | 'email' | 'slack';
  /** Webhook name, email recipients, or Slack channel. */
  to: string;
  /** Whether a webhook delivery carried a Standard Webhooks signature. */
  signed?: boolean;
  body: unknown;
}

const MAX_ITEMS = 500;

export class DevOutbox {
  private readonly items: OutboxItem[] = [];
  private nextId = 1;

  add(item: Omit<OutboxItem, 'id' | 'at'>): OutboxItem {
    const stored = { id: this.nextId++, at: new Date().toISOString(), ...item };
    this.items.push(stored);
    if (this.items.length > MAX_ITEMS) this.items.shift();
    return stored;
  }

  /** Newest first. */
  list(): OutboxItem[] {
    return [...this.items].reverse();
  }
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((group) => group.value.map((entry) => entry.address ?? '')).filter(Boolean);
}

/** A local SMTP server on loopback that files every message it receives in the outbox. */
export async function startSmtpCatcher(outbox: DevOutbox): Promise<{ url: string; close(): Promise<void> }> {
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      simpleParser(stream)
        .then((mail) => {
          const to = addresses(mail.to);
          outbox.add({
            channel: 'email',
            to: to.join(', '),
            body: { messageId: mail.messageId, from: mail.from?.text, to, cc: addresses(mail.cc), subject: mail.subject, text: mail.text, html: mail.html || undefined },
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
