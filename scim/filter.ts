/**
 * SCIM filters (RFC 7644 §3.4.2.2) parsed by scim2-parse-filter and evaluated by its Tester over
 * resources as idflow serves them, with string comparisons case-insensitive except on
 * case-exact attributes (`id`, `externalId`, and those the schema marks), as the RFC asks.
 * A filter is bounded in length and in the expressions it holds.
 */
import { parse, Tester, type Compare, type Filter } from 'scim2-parse-filter';
import { ScimError } from './errors.js';
import { SCHEMA_ATTRIBUTES, type AttributeDescription } from './schemas.js';

export type { Filter } from 'scim2-parse-filter';

/** Longest filter text, and most expressions (comparisons, and/or/not, brackets) in one. */
export const MAX_FILTER_LENGTH = 2048;
export const MAX_FILTER_EXPRESSIONS = 64;

function collectCaseExact(attributes: AttributeDescription[], into: Set<string>): void {
  for (const attribute of attributes) {
    if (attribute.caseExact) into.add(attribute.name.toLowerCase());
    collectCaseExact(attribute.subAttributes ?? [], into);
  }
}

/** Attribute names whose strings compare exactly: the common `id` and `externalId`, and the schemas' case-exact ones. */
const CASE_EXACT = new Set(['id', 'externalid']);
for (const attributes of SCHEMA_ATTRIBUTES.values()) collectCaseExact(attributes, CASE_EXACT);

const lastName = (attrPath: string): string => (attrPath.split(/[.:]/).pop() ?? attrPath).toLowerCase();
const fold = (value: unknown): unknown => (typeof value === 'string' ? value.toLowerCase() : value);
/** A complex value compared as a whole is its `value` (`emails co "@acme"` looks at each email's value). */
const comparable = (value: unknown): unknown =>
  typeof value === 'object' && value !== null && 'value' in value ? (value as { value: unknown }).value : value;

/** scim2-parse-filter's Tester, comparing strings case-insensitively unless the attribute is case-exact. */
class CaseAwareTester extends Tester {
  override test(resource: unknown, filter: Filter): boolean {
    if (filter.op === 'and' || filter.op === 'or' || filter.op === 'not' || filter.op === '[]' || filter.op === 'pr')
      return super.test(resource, filter);
    const comparison = filter as Compare;
    const exact = typeof comparison.compValue !== 'string' || CASE_EXACT.has(lastName(comparison.attrPath));
    const expected = exact ? comparison.compValue : fold(comparison.compValue);
    const compare = this[comparison.op].bind(this);
    // The Tester hands a multi-valued attribute named as a whole (`emails co …`) over as its list: any value may match.
    return this.attrTest(this.attrPath(comparison.attrPath), resource, (actual) =>
      (Array.isArray(actual) ? actual : [actual]).some((one) => {
        const value = comparable(one);
        return compare(exact ? value : fold(value), expected as Compare['compValue']);
      }),
    );
  }
}

const tester = new CaseAwareTester();

function countExpressions(filter: Filter): number {
  switch (filter.op) {
    case 'and':
    case 'or':
      return 1 + filter.filters.reduce((sum, inner) => sum + countExpressions(inner), 0);
    case 'not':
      return 1 + countExpressions(filter.filter);
    case '[]':
      return 1 + countExpressions(filter.valFilter);
    default:
      return 1;
  }
}

/** The parsed filter; a ScimError (400 invalidFilter) saying what is wrong with it. */
export function parseFilter(text: string): Filter {
  if (text.length > MAX_FILTER_LENGTH)
    throw new ScimError(400, 'invalidFilter', `the filter is ${text.length} characters long; at most ${MAX_FILTER_LENGTH}`);
  let filter: Filter;
  try {
    filter = parse(text);
  } catch (error) {
    throw new ScimError(400, 'invalidFilter', `the filter ${JSON.stringify(text)} is not a SCIM filter: ${(error as Error).message}`);
  }
  const expressions = countExpressions(filter);
  if (expressions > MAX_FILTER_EXPRESSIONS)
    throw new ScimError(400, 'invalidFilter', `the filter has ${expressions} expressions; at most ${MAX_FILTER_EXPRESSIONS}`);
  return filter;
}

/** Whether a resource (as served) matches the filter. */
export function matches(filter: Filter, resource: object): boolean {
  return tester.test(resource, filter);
}
