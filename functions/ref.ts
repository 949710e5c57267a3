/** Function references, `NAME` or `NAME@VERSION`; dependency-free, so step code in workflows can use it. */
export const FUNCTION_REF = /^([a-z0-9][a-z0-9-]*)(?:@([1-9][0-9]*))?$/;
export const FUNCTION_REF_HINT = 'expected a function name, or NAME@VERSION to pin a version (e.g. username@2)';

/** The name and pinned version of a reference; undefined when it is not one. */
export function parseFunctionRef(ref: string): { name: string; version?: number } | undefined {
  const match = FUNCTION_REF.exec(ref);
  if (!match) return undefined;
  return { name: match[1], version: match[2] === undefined ? undefined : Number(match[2]) };
}
