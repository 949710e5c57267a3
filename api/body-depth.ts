/**
 * How deeply a parsed JSON body nests, found without recursion, so a body of thousands of
 * levels is refused with a 400 before the schema validator (which recurses) ever sees it.
 */
import { walkJson } from '../core/json.js';

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
  let deeper = false;
  walkJson(value, (node, path) => {
    if (!isContainer(node)) return 'skip';
    if (path.length < limit) return undefined;
    deeper = true;
    return 'stop';
  });
  return deeper;
}
