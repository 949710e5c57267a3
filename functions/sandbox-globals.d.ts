/**
 * The web globals a function's sandbox adds to the JavaScript built-ins (functions/sandbox/
 * web-globals.ts implements them; URL and URLSearchParams are whatwg-url's, functions/sandbox/url.ts). For authors' editors only (examples/functions/tsconfig.json):
 * the host's own tsconfig leaves this file out, since Node's globals of the same names differ.
 */
export {};

declare global {
  function btoa(data: string): string;
  function atob(data: string): string;
  class TextEncoder {
    readonly encoding: 'utf-8';
    encode(input?: string): Uint8Array;
  }
  class TextDecoder {
    /** UTF-8 only (its labels: "utf-8", "utf8", ...); another encoding is a RangeError. */
    constructor(label?: string, options?: { fatal?: boolean; ignoreBOM?: boolean });
    readonly encoding: 'utf-8';
    readonly fatal: boolean;
    readonly ignoreBOM: boolean;
    decode(input?: ArrayBuffer | ArrayBufferView): string;
  }
  /** The WHATWG URL Standard (whatwg-url): an invalid URL is a TypeError. */
  class URL {
    constructor(url: string | URL, base?: string | URL);
    /** The URL, or null where the constructor would throw. */
    static parse(url: string | URL, base?: string | URL): URL | null;
    static canParse(url: string | URL, base?: string | URL): boolean;
    href: string;
    readonly origin: string;
    protocol: string;
    username: string;
    password: string;
    host: string;
    hostname: string;
    port: string;
    pathname: string;
    search: string;
    /** Live: changing it changes `search` and `href`. */
    readonly searchParams: URLSearchParams;
    hash: string;
    toString(): string;
    toJSON(): string;
  }
  class URLSearchParams implements Iterable<[string, string]> {
    constructor(init?: string | Record<string, string> | Iterable<readonly [string, string]> | URLSearchParams);
    readonly size: number;
    append(name: string, value: string): void;
    delete(name: string, value?: string): void;
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string, value?: string): boolean;
    set(name: string, value: string): void;
    sort(): void;
    forEach(callback: (value: string, name: string, params: URLSearchParams) => void): void;
    entries(): IterableIterator<[string, string]>;
    keys(): IterableIterator<string>;
    values(): IterableIterator<string>;
    [Symbol.iterator](): IterableIterator<[string, string]>;
    toString(): string;
  }
}
