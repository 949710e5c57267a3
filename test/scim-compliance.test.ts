/**
 * RFC 7643/7644 compliance as a third party measures it: python-scim's scim2-tester (driven by
 * `scim2 … test`, installed from pinned, hash-checked wheels) against idflow's /scim/v2 on
 * loopback. It discovers the schemas, then creates, reads, lists, searches, replaces, patches
 * (every attribute: add, replace, remove) and deletes Users and Groups. The floor is what idflow
 * passes; the checks it fails are listed with why (docs/connectors.md).
 */
import { spawn } from 'node:child_process';
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startOfflineApi, type OfflineApi } from './helpers/offline-api.js';
import { scimTools } from './helpers/scim-tools.js';

/** Checks passed when this was written: 130 of 133 (the reference scim2-server passes 135 of its own). */
const PASSED_FLOOR = 130;

/** The checks idflow fails on purpose, each with its reason. */
const KNOWN_FAILURES = [
  // A person always has a status: `active` is served even after a client removes it.
  { check: 'check_remove_attribute', reason: "PATCH modify() did not remove attribute 'active'" },
  // A member's `display` is not stored (members are grants); the tester reads back the one it sent.
  { check: 'check_add_attribute', reason: "PATCH modify() returned unexpected value for 'members'." },
  { check: 'check_replace_attribute', reason: "PATCH modify() returned unexpected value for 'members'." },
];

let api: OfflineApi;
let url: string;
let token: string;

before(async () => {
  api = await startOfflineApi();
  token = await api.store.tokens.create('compliance', ['scim']);
  await api.app.listen({ host: '127.0.0.1', port: 0 });
  url = `http://127.0.0.1:${(api.app.server.address() as { port: number }).port}/scim/v2`;
});
after(() => api.close());

async function runChecker(): Promise<string> {
  const { cli } = scimTools();
  // The token goes in the environment, not argv (other users of the machine can read a command line).
  const child = spawn(cli, ['--url', url, 'test'], {
    env: { ...process.env, SCIM_CLI_HEADERS: `Authorization: Bearer ${token}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise((resolve) => child.on('close', resolve));
  return output;
}

test('scim2-tester passes at least the recorded number of checks, and fails only the known ones', { timeout: 180_000 }, async () => {
  const output = await runChecker();
  const lines = output.split('\n');
  const passed = lines.filter((line) => line.startsWith('SUCCESS ')).length;
  const failures = lines.flatMap((line, index) =>
    line.startsWith('ERROR ') ? [{ check: line.slice('ERROR '.length).trim(), reason: (lines[index + 1] ?? '').trim() }] : [],
  );
  const described = `${passed} passed, ${failures.length} failed:\n${output}`;
  assert.ok(passed >= PASSED_FLOOR, described);
  assert.deepEqual(
    failures.map((failure) => `${failure.check}: ${failure.reason}`).sort(),
    KNOWN_FAILURES.map((failure) => `${failure.check}: ${failure.reason}`).sort(),
    described,
  );
});
