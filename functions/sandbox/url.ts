/**
 * `URL` and `URLSearchParams` in a function's context: whatwg-url, jsdom's implementation of the
 * WHATWG URL Standard (with tr46's IDNA tables and webidl-conversions), so `new URL(...)` parses
 * as a browser does and `url.searchParams` is a live `URLSearchParams` of the same class.
 *
 * Never imported: process.ts bundles this file into one script without Node built-ins, and
 * child.ts evaluates it INSIDE a call's context — so the classes, their prototypes and the
 * TypeErrors they throw belong to the sandbox's realm — the first time the function touches
 * `URL` or `URLSearchParams` (the prelude defines both as getters that ask for it): evaluating it
 * costs a few milliseconds, which a function that never parses a URL does not pay.
 */
import { URL, URLSearchParams } from 'whatwg-url';

for (const [name, value] of [
  ['URL', URL],
  ['URLSearchParams', URLSearchParams],
] as const) {
  // As a browser's globals are: writable, configurable, not enumerable; this replaces the prelude's getters.
  Object.defineProperty(globalThis, name, { value, writable: true, configurable: true, enumerable: false });
}
