/**
 * Whether a request to an event source was signed with its secret, over the raw body bytes as
 * they arrived, and recently enough (against replay); and the delivery's id, which makes a
 * repeated delivery change nothing. The secret never appears in a verdict or an error.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Webhook, WebhookVerificationError } from 'standardwebhooks';
import { parseDuration } from '../core/duration.js';
import type { HmacSignatureSpec, SignatureSpec } from './document.js';

/** The shortest shared key accepted: a shorter one is too easy to guess for a signature to mean anything. */
export const MIN_SECRET_BYTES = 16;
/** Longest delivery id taken from a sender's header (webhook-id). */
const MAX_DELIVERY_ID_LENGTH = 200;

export type Verdict = { ok: true; deliveryId: string } | { ok: false; reason: string };

/** The source's secret cannot check any signature (malformed, too short): the operator's to fix, not the sender's. */
export class SourceSecretError extends Error {
  override readonly name = 'SourceSecretError';
}

const refused = (reason: string): Verdict => ({ ok: false, reason });

/** Checks a request's signature; `headers` by lowercased name. Throws SourceSecretError when the secret itself is unusable. */
export function verifySignature(spec: SignatureSpec, secret: string, body: Buffer, headers: Record<string, string>, now: Date): Verdict {
  return spec.scheme === 'standard-webhooks' ? verifyStandardWebhook(secret, body, headers) : verifyHmac(spec, secret, body, headers, now);
}

/** Standard Webhooks (webhook-id, webhook-timestamp, webhook-signature), with the library's 5-minute window either way. */
function verifyStandardWebhook(secret: string, body: Buffer, headers: Record<string, string>): Verdict {
  let webhook: Webhook;
  try {
    webhook = new Webhook(secret);
  } catch {
    throw new SourceSecretError('the secret is not a Standard Webhooks secret ("whsec_" followed by base64)');
  }
  try {
    webhook.verify(body, headers, { jsonParse: false });
  } catch (error) {
    if (error instanceof WebhookVerificationError) return refused(`Standard Webhooks: ${error.message}`);
    throw error;
  }
  const id = headers['webhook-id'] as string;
  if (id.length > MAX_DELIVERY_ID_LENGTH) return refused(`the webhook-id is longer than ${MAX_DELIVERY_ID_LENGTH} characters`);
  return { ok: true, deliveryId: id };
}

const DIGEST = { hex: /^[0-9a-fA-F]{64}$/, base64: /^[A-Za-z0-9+/]{43}=?$/ } as const;

/** When the sender says it signed: Unix seconds, or an ISO 8601 time with its offset. */
function signedAt(text: string): number | undefined {
  if (/^\d{1,12}$/.test(text)) return Number(text) * 1000;
  if (!/^\d{4}-\d{2}-\d{2}T[^\s]+(Z|[+-]\d{2}:?\d{2})$/.test(text)) return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** The bytes the sender signs: the template with the raw body (and the timestamp header's value) in place. */
export function signedContent(spec: HmacSignatureSpec, body: Buffer, timestamp: string | undefined): Buffer {
  const template = spec.signedPayload ?? (spec.timestampHeader === undefined ? '{body}' : '{timestamp}.{body}');
  const [before, after] = template.split('{body}').map((part) => Buffer.from(part.replaceAll('{timestamp}', timestamp ?? ''), 'utf8'));
  return Buffer.concat([before as Buffer, body, after as Buffer]);
}

/**
 * HMAC-SHA256 of the signed content, compared in constant time. Its delivery id is the SHA-256
 * of that content: the same signed request twice is one delivery, whatever unsigned header says
 * otherwise.
 */
function verifyHmac(spec: HmacSignatureSpec, secret: string, body: Buffer, headers: Record<string, string>, now: Date): Verdict {
  if (Buffer.byteLength(secret, 'utf8') < MIN_SECRET_BYTES)
    throw new SourceSecretError(`the secret is shorter than ${MIN_SECRET_BYTES} bytes: a signature with it proves little`);
  const header = headers[spec.header.toLowerCase()];
  if (header === undefined) return refused(`no ${spec.header} header`);
  let text = header.trim();
  if (spec.prefix !== undefined) {
    if (!text.startsWith(spec.prefix)) return refused(`the ${spec.header} header does not start with "${spec.prefix}"`);
    text = text.slice(spec.prefix.length);
  }
  if (!DIGEST[spec.encoding].test(text)) return refused(`the ${spec.header} header is not a ${spec.encoding} HMAC-SHA256`);
  const timestamp = spec.timestampHeader === undefined ? undefined : headers[spec.timestampHeader.toLowerCase()];
  if (spec.timestampHeader !== undefined && timestamp === undefined) return refused(`no ${spec.timestampHeader} header`);
  const content = signedContent(spec, body, timestamp);
  const expected = createHmac('sha256', secret).update(content).digest();
  if (!timingSafeEqual(Buffer.from(text, spec.encoding), expected)) return refused('the signature does not match');
  if (timestamp !== undefined) {
    const at = signedAt(timestamp.trim());
    if (at === undefined) return refused(`the ${spec.timestampHeader} header is not a time (Unix seconds or ISO 8601)`);
    const skewMs = Math.abs(now.getTime() - at);
    if (skewMs > (parseDuration(spec.tolerance) as number))
      return refused(
        `the ${spec.timestampHeader} header is ${Math.round(skewMs / 1000)} s from now, more than the tolerance of ${spec.tolerance} (a replayed request?)`,
      );
  }
  return { ok: true, deliveryId: createHash('sha256').update(content).digest('hex') };
}
