/**
 * Size limits of definition files, checked at apply time so that nothing too large to run is
 * ever stored: a definition that applies can be matched, started and rendered. CEL's own limits
 * (expression length and nesting) are in cel/limits.ts. docs/automations.md lists them all.
 */

/** Bytes of one definition file. */
export const MAX_FILE_BYTES = 1024 * 1024;
/** Documents in one apply, over all its files. */
export const MAX_DOCUMENTS = 1000;
/** Steps of one automation: each is an activity with a record per run; longer flows chain automations. */
export const MAX_STEPS = 200;
/** Characters of any string in a document: `with:` values, templates, descriptions. */
export const MAX_STRING_LENGTH = 64 * 1024;
/** Nesting of maps and lists in a document (a step's `with:` starts at level 4). */
export const MAX_NESTING = 32;

export interface ShapeIssue {
  path: (string | number)[];
  message: string;
}

/**
 * Strings longer than MAX_STRING_LENGTH and the first place nested deeper than MAX_NESTING in a
 * parsed document. Walks with its own stack, so a deep document cannot overflow the call stack.
 */
export function shapeIssues(document: unknown): ShapeIssue[] {
  const issues: ShapeIssue[] = [];
  const pending: { value: unknown; path: (string | number)[] }[] = [{ value: document, path: [] }];
  let tooDeep = false;
  while (pending.length > 0) {
    const { value, path } = pending.pop() as { value: unknown; path: (string | number)[] };
    if (typeof value === 'string') {
      if (value.length > MAX_STRING_LENGTH)
        issues.push({ path, message: `a string of ${value.length} characters; at most ${MAX_STRING_LENGTH} per string` });
      continue;
    }
    if (typeof value !== 'object' || value === null) continue;
    if (path.length >= MAX_NESTING) {
      if (!tooDeep) issues.push({ path, message: `nested too deeply: at most ${MAX_NESTING} levels of maps and lists` });
      tooDeep = true;
      continue;
    }
    const entries: [string | number, unknown][] = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
    for (const [key, item] of entries) pending.push({ value: item, path: [...path, key] });
  }
  return issues;
}
