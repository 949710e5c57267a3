/**
 * What the pool does to a result before anyone sees it: every secret value of the call is
 * replaced by [REDACTED] in logs, output and error message, also in the forms a secret takes
 * when it is JSON-encoded or URL-encoded; host paths are hidden from messages.
 *
 * Redaction guards against accidents (a secret logged or returned by mistake). It cannot stop a
 * hostile function that encodes a secret some other way before leaking it.
 */
import type { JsonValue } from '../../core/json.js';

export const REDACTED = '[REDACTED]';
/** Shorter values would redact ordinary words and digits everywhere. */
export const MIN_SECRET_LENGTH = 4;

export class Redactor {
  /** Longest first, so that a secret containing another is replaced whole. */
  private readonly forms: string[];

  constructor(secrets: Iterable<string>) {
    const forms = new Set<string>();
    for (const secret of secrets) {
      if (secret.length < MIN_SECRET_LENGTH) continue;
      forms.add(secret);
      forms.add(JSON.stringify(secret).slice(1, -1));
      forms.add(JSON.stringify(JSON.stringify(secret)).slice(3, -3));
      forms.add(encodeURIComponent(secret));
    }
    this.forms = [...forms].filter((form) => form.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  }

  text(text: string): string {
    let result = text;
    for (const form of this.forms) if (result.includes(form)) result = result.split(form).join(REDACTED);
    return result;
  }

  /** Every string (keys too), and numbers whose digits spell a secret, which become the marker string. */
  json(value: JsonValue): JsonValue {
    if (this.forms.length === 0) return value;
    if (typeof value === 'string') return this.text(value);
    if (typeof value === 'number') return this.text(String(value)) === String(value) ? value : REDACTED;
    if (Array.isArray(value)) return value.map((item) => this.json(item));
    if (value !== null && typeof value === 'object') {
      const result: { [key: string]: JsonValue } = {};
      for (const [key, item] of Object.entries(value))
        Object.defineProperty(result, this.text(key), { value: this.json(item), enumerable: true, writable: true, configurable: true });
      return result;
    }
    return value;
  }
}

/** Replaces each of `paths` (the host's directories) in a message, so it tells nothing about the host. */
export function hidePaths(message: string, paths: readonly string[]): string {
  let result = message.replace(/file:\/\/\S+/g, '<host file>');
  for (const path of [...paths].sort((a, b) => b.length - a.length)) {
    if (path.length > 1) result = result.split(path).join('<host>');
  }
  return result;
}
