/**
 * Definition files: every error names the file, the line and the field and says what was
 * expected; CEL is checked at apply time; a file set with errors yields no documents.
 */
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { collectDefinitionFiles } from '../definitions/files.js';
import { loadDefinitions, type ExistingNames } from '../definitions/load.js';
import { definitionJsonSchemas } from '../definitions/schema.js';

const none: ExistingNames = { webhooks: [], automations: [] };

function errorsOf(content: string, existing = none) {
  return loadDefinitions([{ path: 'flows/joiner.yaml', content }], existing).errors;
}

const valid = `kind: Automation
name: engineering-joiner
description: Onboard new engineers
trigger:
  type: user.created
  condition: ctx.trigger.newUser.department == "Engineering"
steps:
  - name: notify_ticketing
    type: run_webhook
    with:
      webhook: ticketing
      payload: { user: "{{ ctx.trigger.newUser.email }}" }
  - name: cool_off
    type: wait
    with: { duration: 30m }
---
kind: Webhook
name: ticketing
url: https://tickets.example.com/hooks/idflow
signingSecret: { env: TICKETING_WEBHOOK_SECRET }
`;

test('a valid file with several documents loads, with defaults applied', () => {
  const result = loadDefinitions([{ path: 'joiner.yaml', content: valid }], none);
  assert.deepEqual(result.errors, []);
  assert.deepEqual(
    result.documents.map((d) => `${d.kind}/${'name' in d ? d.name : ''}@${d.line}`),
    ['Automation/engineering-joiner@1', 'Webhook/ticketing@17'],
  );
  const automation = result.documents[0];
  assert.equal(automation.kind === 'Automation' && automation.spec.enabled, true);
});

test('JSON files load too', () => {
  const json = JSON.stringify({
    kind: 'Automation',
    name: 'j',
    trigger: { type: 'manual' },
    steps: [{ name: 'w', type: 'wait', with: { duration: '1s' } }],
  });
  assert.deepEqual(loadDefinitions([{ path: 'a.json', content: json }], none).errors, []);
});

test('an unknown step type names the known ones, with file, line and field', () => {
  const [error] = errorsOf(valid.replace('type: wait', 'type: sleep'));
  assert.deepEqual(
    { ...error, message: undefined },
    { file: 'flows/joiner.yaml', line: 14, column: 11, path: 'steps[1].type', message: undefined },
  );
  assert.match(error.message, /unknown step type "sleep"; known types: .*wait/);
});

test('a missing field and an unknown field are located', () => {
  const [missing] = errorsOf(valid.replace('  type: user.created\n', '  typo: user.created\n'));
  assert.deepEqual([missing.line, missing.path], [4, 'trigger.type']);
  assert.match(missing.message, /Expected 'user\.created' \| .* \| 'schedule'/);
  const unknown = errorsOf(valid.replace('    type: wait\n', '    type: wait\n    timeoutt: 5m\n'));
  assert.deepEqual(
    unknown.map((e) => [e.line, e.path, e.message]),
    [[15, 'steps[1].timeoutt', 'unknown field "timeoutt"']],
  );
});

test('duplicate step names are refused', () => {
  const [error] = errorsOf(valid.replace('name: cool_off', 'name: notify_ticketing'));
  assert.equal(error.path, 'steps[1].name');
  assert.equal(error.line, 13);
  assert.match(error.message, /duplicate step name "notify_ticketing"/);
});

test('a CEL syntax error in a condition is refused at apply time', () => {
  const [error] = errorsOf(valid.replace('== "Engineering"', '== "Engineering'));
  assert.equal(error.path, 'trigger.condition');
  assert.equal(error.line, 6);
  assert.match(error.message, /CEL syntax error/);
});

test('a condition over an undeclared variable is a type error', () => {
  const [error] = errorsOf(valid.replace('ctx.trigger.newUser.department', 'ctxx.trigger.newUser.department'));
  assert.equal(error.path, 'trigger.condition');
  assert.match(error.message, /ctxx/);
});

test('a template with a CEL error names the field inside with', () => {
  const [error] = errorsOf(valid.replace('{{ ctx.trigger.newUser.email }}', '{{ ctx.trigger.newUser.email + }}'));
  assert.equal(error.path, 'steps[0].with.payload.user');
  assert.equal(error.line, 12);
});

test('a reference to an unknown ctx.<step> is refused, and a later step is called out', () => {
  const later = errorsOf(valid.replace('{{ ctx.trigger.newUser.email }}', '{{ ctx.cool_off.resumedAt }}'));
  assert.equal(later.length, 1);
  assert.match(later[0].message, /ctx\.cool_off is not defined here \(step "cool_off" runs later/);
  const unknown = errorsOf(valid.replace('{{ ctx.trigger.newUser.email }}', '{{ ctx.nope }}'));
  assert.match(unknown[0].message, /ctx\.nope is not defined here; available: trigger/);
});

test('a reference to an unknown webhook is refused unless it already exists', () => {
  const withoutWebhook = valid.slice(0, valid.indexOf('---'));
  const [error] = errorsOf(withoutWebhook);
  assert.equal(error.path, 'steps[0].with.webhook');
  assert.match(error.message, /unknown webhook "ticketing"/);
  assert.deepEqual(errorsOf(withoutWebhook, { webhooks: ['ticketing'], automations: [] }), []);
});

test('templated fields are checked after rendering, not at apply time', () => {
  assert.deepEqual(errorsOf(valid.replace('duration: 30m', 'duration: "{{ ctx.trigger.newUser.waitFor }}"')), []);
  const [error] = errorsOf(valid.replace('duration: 30m', 'duration: 30 minutes'));
  assert.equal(error.path, 'steps[1].with.duration');
  assert.match(error.message, /expected a duration/);
});

test('YAML syntax errors carry their line', () => {
  const [error] = errorsOf('kind: Automation\nname: [unclosed\n');
  assert.equal(error.file, 'flows/joiner.yaml');
  assert.ok(error.line !== undefined && error.line >= 2);
  assert.match(error.message, /^YAML: /);
});

test('the same name twice in a file set is refused; nothing loads from a set with errors', () => {
  const result = loadDefinitions(
    [
      { path: 'a.yaml', content: valid },
      { path: 'b.yaml', content: valid.slice(valid.indexOf('---') + 4) },
    ],
    none,
  );
  assert.equal(result.errors.length, 1);
  assert.match(result.errors[0].message, /Webhook\/ticketing is defined twice in this file set \(first in a\.yaml:17\)/);
  assert.deepEqual(result.documents, []);
});

test('the exported JSON Schema describes step inputs per type', () => {
  const schemas = definitionJsonSchemas();
  const text = JSON.stringify(schemas['automation.schema.json']);
  assert.match(text, /"const":"run_webhook"/);
  assert.match(text, /"const":"wait"/);
});

test('schema/ holds the JSON Schemas the code exports (run `npm run schema` after changing a schema)', async () => {
  const { readFile } = await import('node:fs/promises');
  for (const [file, schema] of Object.entries(definitionJsonSchemas())) {
    const committed = JSON.parse(await readFile(new URL(`../schema/${file}`, import.meta.url), 'utf8')) as object;
    assert.deepEqual(committed, JSON.parse(JSON.stringify(schema)), `schema/${file} is out of date`);
  }
});

test('a folder gives its definitions and the TypeScript its Function documents name; test cases, events and tool configs are left out', async () => {
  const root = await mkdtemp(join(tmpdir(), 'idflow-files-'));
  try {
    await mkdir(join(root, 'fns'));
    await writeFile(join(root, 'fns', 'greet.yaml'), 'kind: Function\nname: greet\nfile: src/greet.ts\n');
    await mkdir(join(root, 'fns', 'src'));
    await writeFile(join(root, 'fns', 'src', 'greet.ts'), 'export default async () => 1;\n');
    await writeFile(join(root, 'fns', 'unused.ts'), 'export default async () => 2;\n');
    for (const name of ['tsconfig.json', 'package.json', 'greet.test.json', 'joiner.event.json'])
      await writeFile(join(root, 'fns', name), '{}');
    await writeFile(join(root, 'automation.json'), '{"kind":"Webhook","name":"w","url":"https://example.com"}');
    const files = await collectDefinitionFiles([root], root);
    assert.deepEqual(files.map((file) => file.path).sort(), ['automation.json', 'fns/greet.yaml', 'fns/src/greet.ts']);
    assert.deepEqual(loadDefinitions(files, { webhooks: [], automations: [] }).errors, []);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});
