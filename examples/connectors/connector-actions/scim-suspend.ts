/**
 * The lock-account connector action of examples/connectors/connector-actions/directory.yaml: suspends a
 * person's account in a SCIM app — find the user by userName, then PATCH active=false. idflow
 * hands it the app (its SCIM base URL), the step's input and the app's token as `app.token`, so
 * one function serves every SCIM app; the step's ctx.idempotencyKey goes out as the
 * Idempotency-Key, so a retried call does not act twice.
 */
import type { FunctionContext } from '../../../functions/sdk.js';

interface ActionRequest {
  app: { slug: string; displayName: string; scimBaseUrl?: string };
  action: string;
  input: { userName: string };
  run: { id: string; automation: string; step: string };
}

/** 429 and 5xx: the step retries the action (with the same ctx.idempotencyKey). */
function failure(what: string, status: number, body: string): Error {
  return Object.assign(new Error(`${what}: ${status} ${body.slice(0, 200)}`), { retryable: status === 429 || status >= 500 });
}

export default async function (request: ActionRequest, ctx: FunctionContext) {
  const { app, input } = request;
  const token = ctx.getConfig('app.token');
  if (!app.scimBaseUrl || !token) throw new Error(`app ${app.slug} has no SCIM connection: give it provisioning.scim`);
  const users = `${app.scimBaseUrl.replace(/\/$/, '')}/Users`;
  const headers = { authorization: `Bearer ${token}`, accept: 'application/scim+json', 'content-type': 'application/scim+json' };

  const search = new URL(users);
  search.searchParams.set('filter', `userName eq "${input.userName.replace(/["\\]/g, '\\$&')}"`);
  const found = await ctx.fetch(search, { headers });
  if (!found.ok) throw failure(`${app.displayName} did not answer the search`, found.status, await found.text());
  const [user] = ((await found.json()) as { Resources?: { id: string; userName: string }[] }).Resources ?? [];
  if (!user) {
    ctx.log(`${input.userName} has no ${app.displayName} account: nothing to lock`);
    return { locked: false, id: null };
  }

  const patched = await ctx.fetch(`${users}/${encodeURIComponent(user.id)}`, {
    method: 'PATCH',
    headers: { ...headers, 'idempotency-key': ctx.idempotencyKey },
    body: JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', value: { active: false } }],
    }),
  });
  if (!patched.ok) throw failure(`${app.displayName} did not suspend ${user.userName}`, patched.status, await patched.text());
  ctx.log(`suspended ${user.userName} (${user.id}) in ${app.displayName}`);
  return { locked: true, id: user.id };
}
