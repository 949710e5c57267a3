/**
 * Size limits of definition files, checked at apply time so that nothing too large to run is
 * ever stored: a definition that applies can be matched, started and rendered. CEL's own limits
 * (expression length and nesting) are in cel/limits.ts. docs/automations.md lists them all.
 */
import { walkJson, type JsonPath } from '../core/json.js';

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
  path: JsonPath;
  message: string;
}

/**
 * Strings longer than MAX_STRING_LENGTH and the first place nested deeper than MAX_NESTING in a
 * parsed document (walkJson keeps its own stack: a deep document cannot overflow the call stack).
 */
export function shapeIssues(document: unknown): ShapeIssue[] {
  const issues: ShapeIssue[] = [];
  let tooDeep = false;
  walkJson(document, (value, path) => {
    if (typeof value === 'string') {
      if (value.length > MAX_STRING_LENGTH)
        issues.push({ path, message: `a string of ${value.length} characters; at most ${MAX_STRING_LENGTH} per string` });
      return undefined;
    }
    if (typeof value !== 'object' || value === null || path.length < MAX_NESTING) return undefined;
    if (!tooDeep) issues.push({ path, message: `nested too deeply: at most ${MAX_NESTING} levels of maps and lists` });
    tooDeep = true;
    return 'skip';
  });
  return issues;
}
