/**
 * The dev outbox: under `idflow dev`, with no SMTP or Slack configured, what the automations
 * send lands here instead (a local SMTP catcher, a Slack-Web-API-compatible endpoint on the API,
 * and the webhook sink), so a newcomer sees it with `idflow outbox`. In memory and bounded: the
 * newest items up to 8 MiB of JSON in all (at most 500), each cut to 256 KiB with a note.
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

/** What an item's body becomes when its JSON is over the per-item limit. */
export interface TruncatedBody {
  truncated: string;
  /** The start of the body's JSON text. */
  json: string;
}

export interface OutboxLimits {
  maxItems: number;
  /** Total JSON bytes of the items' bodies kept; the oldest items go first. */
  maxBytes: number;
  /** JSON bytes of one body; a longer one is cut to this with a note. */
  maxItemBytes: number;
}

export const DEFAULT_OUTBOX_LIMITS: OutboxLimits = { maxItems: 500, maxBytes: 8 * 1024 * 1024, maxItemBytes: 256 * 1024 };

export class DevOutbox {
  private readonly items: { item: OutboxItem; bytes: number }[] = [];
  private nextId = 1;
  private bytes = 0;

  constructor(private readonly limits: OutboxLimits = DEFAULT_OUTBOX_LIMITS) {}

  add(item: Omit<OutboxItem, 'id' | 'at'>): OutboxItem {
    const { body, bytes } = bounded(item.body, this.limits.maxItemBytes);
    const stored = { id: this.nextId++, at: new Date().toISOString(), ...item, body };
    this.items.push({ item: stored, bytes });
    this.bytes += bytes;
    while (this.items.length > this.limits.maxItems || this.bytes > this.limits.maxBytes) {
      this.bytes -= (this.items.shift() as { bytes: number }).bytes;
    }
    return stored;
  }

  /** Newest first. */
  list(): OutboxItem[] {
    return this.items.map(({ item }) => item).reverse();
  }

  /** JSON bytes of the bodies kept, the figure the byte limit bounds. */
  get retainedBytes(): number {
    return this.bytes;
  }
}

/** The body, or its JSON cut to `maxBytes` with a note when longer; and the JSON bytes kept. */
function bounded(body: unknown, maxBytes: number): { body: unknown; bytes: number } {
  const json = Buffer.from(JSON.stringify(body) ?? 'null');
  if (json.length <= maxBytes) return { body, bytes: json.length };
  // A fresh string from the bytes: a slice of the original would keep all of it alive.
  const kept: TruncatedBody = {
    truncated: `kept the first ${maxBytes} of ${json.length} bytes of JSON`,
    json: json.subarray(0, maxBytes).toString('utf8'),
  };
  return { body: kept, bytes: Buffer.byteLength(JSON.stringify(kept)) };
}

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  const list = Array.isArray(field) ? field : field ? [field] : [];
  return list.flatMap((group) => group.value.map((entry) => entry.address ?? '')).filter(Boolean);
}

/** Where the SMTP catcher files what it receives: the dev outbox, or a test's own record. */
export interface MailFiler {
  add(item: Omit<OutboxItem, 'id' | 'at'>): unknown;
}

/** A local SMTP server on loopback that files every message it receives in the outbox. */
export async function startSmtpCatcher(outbox: MailFiler): Promise<{ url: string; close(): Promise<void> }> {
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
            body: {
              messageId: mail.messageId,
              from: mail.from?.text,
              to,
              cc: addresses(mail.cc),
              subject: mail.subject,
              text: mail.text,
              html: mail.html || undefined,
            },
          });
          callback();
        })
        .catch((error: Error) => callback(error));
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  // Listening, its errors are its clients': one gone in the middle of a message (a killed worker)
  // is that connection's error only; unheard, the 'error' event would end the catcher's process.
  server.on('error', () => undefined);
  const { port } = server.server.address() as AddressInfo;
  return { url: `smtp://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
