/**
 * The web globals a function's sandbox adds to the JavaScript built-ins (functions/sandbox/
 * web-globals.ts implements them). For authors' editors only (examples/functions/tsconfig.json):
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
    readonly encoding: 'utf-8';
    decode(input?: ArrayBuffer | ArrayBufferView): string;
  }
  class URLSearchParams implements Iterable<[string, string]> {
    constructor(init?: string | Record<string, string> | Iterable<readonly [string, string]>);
    readonly size: number;
    append(name: string, value: string): void;
    delete(name: string): void;
    get(name: string): string | null;
    getAll(name: string): string[];
    has(name: string): boolean;
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
