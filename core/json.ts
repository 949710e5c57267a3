/** JSON as it crosses every boundary of idflow: events, step inputs and outputs, the store, the sandbox. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Where a value sits inside a document: keys and array indexes from the root. */
export type JsonPath = (string | number)[];

/**
 * Visits `root` and everything inside its arrays and objects, depth first, each value with its
 * path — on an explicit stack, so input nested thousands of levels deep (a hostile body, a YAML
 * document) cannot overflow the call stack. `visit` answers 'skip' to leave what lies below a
 * value unvisited, or 'stop' to end the walk.
 */
export function walkJson(root: unknown, visit: (value: unknown, path: JsonPath) => 'skip' | 'stop' | void): void {
  const pending: { value: unknown; path: JsonPath }[] = [{ value: root, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { value, path } = next;
    const answer = visit(value, path);
    if (answer === 'stop') return;
    if (answer === 'skip' || value === null || typeof value !== 'object') continue;
    if (Array.isArray(value)) value.forEach((item: unknown, index) => pending.push({ value: item, path: [...path, index] }));
    else for (const [key, item] of Object.entries(value)) pending.push({ value: item, path: [...path, key] });
  }
}

/** JSON round trip: what the store gives back (no undefined members, no prototypes). */
export function asJson(value: object): JsonObject {
  return JSON.parse(JSON.stringify(value)) as JsonObject;
}

const isJsonObject = (value: JsonValue | undefined): value is JsonObject =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/**
 * Where two JSON values differ: the path of each leaf that is not equal, descending into objects
 * on both sides and into arrays of the same length; a member on one side only differs, and so
 * does an array whose length changed (as a whole). In document order (`a`'s members first);
 * empty when they are equal. Walked on its own stack, like walkJson.
 */
export function differingPaths(a: JsonValue | undefined, b: JsonValue | undefined): JsonPath[] {
  const differing: JsonPath[] = [];
  const pending: { a: JsonValue | undefined; b: JsonValue | undefined; path: JsonPath }[] = [{ a, b, path: [] }];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const { path } = next;
    // Children are pushed last first, so that they pop in order.
    if (isJsonObject(next.a) && isJsonObject(next.b)) {
      const [left, right] = [next.a, next.b];
      const keys = [...new Set([...Object.keys(left), ...Object.keys(right)])];
      for (const key of keys.reverse()) pending.push({ a: left[key], b: right[key], path: [...path, key] });
    } else if (Array.isArray(next.a) && Array.isArray(next.b) && next.a.length === next.b.length) {
      for (let index = next.a.length - 1; index >= 0; index--) pending.push({ a: next.a[index], b: next.b[index], path: [...path, index] });
    } else if (next.a !== next.b) differing.push(path);
  }
  return differing;
}

/** Nesting levels of arrays and objects an API body may have (an event source's too); no route needs a tenth of it. */
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
