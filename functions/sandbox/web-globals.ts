/**
 * Web globals a function author reaches for — `btoa`/`atob` and `TextEncoder`/`TextDecoder`
 * (UTF-8) — written in plain JavaScript and evaluated INSIDE each fresh context (like bridge.ts's
 * prelude), so they belong to the sandbox's realm and lend it no host object. (`URL` and
 * `URLSearchParams` are whatwg-url's: see url.ts.)
 *
 * Like the prelude, `installWebGlobals` is never called in the host: child.ts evaluates its
 * source text in the context, so it must use nothing from its module.
 */
export function installWebGlobals(): void {
  'use strict';
  const G = globalThis as Record<string, unknown>;
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

  function invalidCharacter(message: string): Error {
    const error = new Error(message);
    error.name = 'InvalidCharacterError';
    return error;
  }

  /** Base64 of a binary string (each char one byte), as the browser's btoa. */
  function btoa(data: unknown): string {
    const text = String(data);
    let out = '';
    for (let i = 0; i < text.length; i += 3) {
      const bytes = [text.charCodeAt(i), text.charCodeAt(i + 1), text.charCodeAt(i + 2)];
      for (const byte of bytes)
        if (byte > 0xff) throw invalidCharacter('btoa: the string has characters outside Latin-1; encode it to UTF-8 first (TextEncoder)');
      const chunk = (bytes[0] << 16) | ((bytes[1] || 0) << 8) | (bytes[2] || 0);
      out += ALPHABET[(chunk >> 18) & 63] + ALPHABET[(chunk >> 12) & 63];
      out += i + 1 < text.length ? ALPHABET[(chunk >> 6) & 63] : '=';
      out += i + 2 < text.length ? ALPHABET[chunk & 63] : '=';
    }
    return out;
  }

  /** The binary string a base64 text stands for, as the browser's atob. */
  function atob(data: unknown): string {
    const text = String(data).replace(/[\t\n\f\r ]/g, '');
    const body = text.length % 4 === 0 ? text.replace(/==?$/, '') : text;
    if (body.length % 4 === 1 || /[^A-Za-z0-9+/]/.test(body)) throw invalidCharacter('atob: not valid base64');
    let out = '';
    let buffer = 0;
    let bits = 0;
    for (const char of body) {
      buffer = (buffer << 6) | ALPHABET.indexOf(char);
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        out += String.fromCharCode((buffer >> bits) & 0xff);
      }
    }
    return out;
  }

  class TextEncoder {
    get encoding(): string {
      return 'utf-8';
    }

    encode(input: unknown = ''): Uint8Array {
      const text = String(input);
      const bytes: number[] = [];
      for (let i = 0; i < text.length; i++) {
        let code = text.charCodeAt(i);
        // A surrogate pair is one code point; a lone surrogate becomes U+FFFD, as in browsers.
        if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
          code = 0x10000 + ((code - 0xd800) << 10) + (text.charCodeAt(++i) - 0xdc00);
        } else if (code >= 0xd800 && code <= 0xdfff) {
          code = 0xfffd;
        }
        if (code < 0x80) bytes.push(code);
        else if (code < 0x800) bytes.push(0xc0 | (code >> 6), 0x80 | (code & 63));
        else if (code < 0x10000) bytes.push(0xe0 | (code >> 12), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
        else bytes.push(0xf0 | (code >> 18), 0x80 | ((code >> 12) & 63), 0x80 | ((code >> 6) & 63), 0x80 | (code & 63));
      }
      return new Uint8Array(bytes);
    }
  }

  /** The labels of UTF-8 in the Encoding Standard; any other encoding is a RangeError, as in browsers. */
  const UTF8_LABELS = ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8'];

  class TextDecoder {
    readonly #fatal: boolean;
    readonly #ignoreBOM: boolean;

    constructor(label: unknown = 'utf-8', options?: { fatal?: unknown; ignoreBOM?: unknown }) {
      if (!UTF8_LABELS.includes(String(label).trim().toLowerCase()))
        throw new RangeError(`TextDecoder: the encoding "${String(label)}" is not supported (UTF-8 only)`);
      this.#fatal = Boolean(options?.fatal);
      this.#ignoreBOM = Boolean(options?.ignoreBOM);
    }

    get encoding(): string {
      return 'utf-8';
    }

    get fatal(): boolean {
      return this.#fatal;
    }

    get ignoreBOM(): boolean {
      return this.#ignoreBOM;
    }

    /**
     * The WHATWG UTF-8 decoder: each maximal invalid subsequence becomes one U+FFFD (a TypeError
     * when `fatal`); a leading BOM is dropped unless `ignoreBOM`.
     */
    decode(input?: ArrayBuffer | ArrayBufferView): string {
      const fatal = this.#fatal;
      const replacement = (): string => {
        if (fatal) throw new TypeError('TextDecoder: the data is not valid UTF-8');
        return '\ufffd';
      };
      const bytes =
        input === undefined
          ? new Uint8Array(0)
          : ArrayBuffer.isView(input)
            ? new Uint8Array(input.buffer, input.byteOffset, input.byteLength)
            : new Uint8Array(input);
      let out = '';
      let needed = 0;
      let seen = 0;
      let code = 0;
      let lower = 0x80;
      let upper = 0xbf;
      let i = !this.#ignoreBOM && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
      while (i < bytes.length) {
        const byte = bytes[i];
        if (needed === 0) {
          i++;
          if (byte < 0x80) out += String.fromCharCode(byte);
          else if (byte >= 0xc2 && byte <= 0xdf) [needed, code] = [1, byte & 0x1f];
          else if (byte >= 0xe0 && byte <= 0xef) {
            [needed, code] = [2, byte & 0x0f];
            if (byte === 0xe0) lower = 0xa0;
            if (byte === 0xed) upper = 0x9f;
          } else if (byte >= 0xf0 && byte <= 0xf4) {
            [needed, code] = [3, byte & 0x07];
            if (byte === 0xf0) lower = 0x90;
            if (byte === 0xf4) upper = 0x8f;
          } else out += replacement();
          continue;
        }
        if (byte < lower || byte > upper) {
          // Not a continuation here: the sequence so far is one U+FFFD, and this byte starts afresh.
          [needed, seen, code, lower, upper] = [0, 0, 0, 0x80, 0xbf];
          out += replacement();
          continue;
        }
        [lower, upper] = [0x80, 0xbf];
        code = (code << 6) | (byte & 0x3f);
        i++;
        if (++seen === needed) {
          out += String.fromCodePoint(code);
          [needed, seen, code] = [0, 0, 0];
        }
      }
      return needed > 0 ? out + replacement() : out;
    }
  }

  const define = (name: string, value: unknown): void => {
    Object.defineProperty(G, name, { value, writable: true, configurable: true, enumerable: false });
  };
  define('btoa', btoa);
  define('atob', atob);
  define('TextEncoder', TextEncoder);
  define('TextDecoder', TextDecoder);
}
