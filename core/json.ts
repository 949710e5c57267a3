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
