/**
 * docs/cel.md's reference table is executable: every row's expression, evaluated with the
 * documented `now()` and context, must give the documented result.
 */
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { evaluateExpression, type CelVariables } from '../cel/index.js';
import { subjectOf, triggerContext } from '../triggers/events.js';
import type { JsonObject } from '../steps/types.js';

const NOW = new Date('2026-03-08T15:30:00Z');
const doc = await readFile(new URL('../docs/cel.md', import.meta.url), 'utf8');
const section = doc.slice(doc.indexOf('## Reference: every variable'), doc.indexOf('## Numbers: JSON doubles'));
const eventData = JSON.parse(/```json reference-context\n([\s\S]*?)```/.exec(section)?.[1] ?? 'null') as JsonObject | null;
const rows = [...section.matchAll(/^\| `(.+?)` \| `(.+?)` \|/gm)].map(([, expression, result]) => ({ expression: (expression as string).replaceAll('\\|', '|'), result: result as string }));

test('the reference section has its context and its examples', () => {
  assert.ok(eventData, 'a ```json reference-context block');
  assert.ok(rows.length >= 25, `found ${rows.length} examples`);
});

/** As the engine builds them for a run of this event. */
function vars(): CelVariables {
  const trigger = triggerContext(eventData ?? {});
  return { ctx: { trigger }, subject: subjectOf(trigger) };
}

for (const { expression, result } of rows) {
  test(`docs/cel.md: ${expression} → ${result}`, () => {
    assert.deepEqual(evaluateExpression(expression, vars(), { now: NOW }), JSON.parse(result));
  });
}

test('bad input to the added functions is an evaluation error that names it', () => {
  for (const [expression, message] of [
    ['ip("1.2.3")', /"1.2.3" is not an IPv4/],
    ['cidr("10.0.0.0/33")', /prefix longer than 32 bits/],
    ['time.format(now(), "15", "Mars/Base")', /unknown time zone "Mars\/Base"/],
    ['time.start_of(now(), "year")', /unknown unit "year"/],
    ['time.parse("2026-02-30", TimeFormat.DATE)', /"2026-02-30" is not a real date/],
    ['time.parse("yesterday", TimeFormat.DATE)', /does not match the layout "2006-01-02"/],
  ] as const) {
    assert.throws(() => evaluateExpression(expression, vars(), { now: NOW }), message, expression);
  }
});

test('apply-time type checking still refuses unknown names among the new ones', () => {
  assert.throws(() => evaluateExpression('UserStatuss.ENABLED', vars()), /Unknown variable: UserStatuss/);
  assert.throws(() => evaluateExpression('time.formatt(now(), "15")', vars(), { now: NOW }), /formatt/);
});
