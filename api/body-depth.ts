/**
 * How deeply a parsed JSON body nests, found without recursion, so a body of thousands of
 * levels is refused with a 400 before the schema validator (which recurses) ever sees it.
 */

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The route's body schema bounds nesting itself, without recursion and naming the field (POST /v1/events): the generic limit stands aside. */
    boundsBodyDepth?: boolean;
  }
}

/** Nesting levels of arrays and objects an API body may have; no route needs a tenth of it. */
export const MAX_BODY_DEPTH = 64;

/** Arrays and plain objects: what a parsed body nests. A stream (a body parsed as one) or a Buffer is not walked. */
const isContainer = (node: unknown): node is object =>
  Array.isArray(node) || (node !== null && typeof node === 'object' && Object.getPrototypeOf(node) === Object.prototype);

/** True when `value` nests arrays/plain objects deeper than `limit` levels. */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [node, depth] = next;
    if (!isContainer(node)) continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(node)) pending.push([child, depth + 1]);
  }
  return false;
}
