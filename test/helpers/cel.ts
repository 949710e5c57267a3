/** Assertions for CEL errors, shared by the CEL and template tests. */
import assert from 'node:assert/strict';
import { CelError } from '../../cel/index.js';

/** Asserts fn throws a CelError of `kind` whose message matches all `patterns`. */
export function assertCelError(fn: () => unknown, kind: CelError['kind'], ...patterns: RegExp[]): CelError {
  let caught: unknown;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  assert.ok(caught instanceof CelError, `expected a CelError, got ${String(caught)}`);
  assert.equal(caught.kind, kind, caught.message);
  for (const pattern of patterns) assert.match(caught.message, pattern);
  return caught;
}
