/**
 * Provisions Acme's wiki, which has a REST API but no SCIM: idflow calls this function with each
 * operation — { operation, app, user, account, group? } — and takes what it returns as the
 * outcome; `{ id }` from createAccount becomes the account's appUserId, handed back on every
 * later operation as `account.appUserId`. Each operation is idempotent, as idflow may repeat one
 * (a retried step): an account that exists is found, not created twice; a member added twice, or
 * removed when not one, changes nothing. Secrets: WIKI_TOKEN (a bearer token) and WIKI_URL
 * (https://wiki.acme.example by default).
 */
import type { FunctionContext } from '../../../functions/sdk.js';

interface Operation {
  operation: 'createAccount' | 'updateAccount' | 'disableAccount' | 'deleteAccount' | 'addToGroup' | 'removeFromGroup';
  user: { id: string; email: string; displayName?: string; firstName?: string; lastName?: string };
  account: { username: string; email?: string; appUserId?: string };
  group?: { entitlement: string; displayName?: string; id?: string };
}

export default async function (input: Operation, ctx: FunctionContext) {
  const token = ctx.getConfig('WIKI_TOKEN');
  if (!token) throw new Error('secret WIKI_TOKEN must be set: idflow secret set wiki-provisioning WIKI_TOKEN');
  const base = ctx.getConfig('WIKI_URL') ?? 'https://wiki.acme.example';
  const call = async (method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, body?: object) => {
    const response = await ctx.fetch(`${base}/rest/api${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
      ...(body && { body: JSON.stringify(body) }),
    });
    if (!response.ok && response.status !== 404 && response.status !== 409)
      throw new Error(`the wiki refused ${method} ${path}: ${response.status} ${await response.text()}`);
    return { status: response.status, body: response.status === 204 ? null : ((await response.json()) as { id?: string }) };
  };

  const { account, user } = input;
  const id = account.appUserId;
  switch (input.operation) {
    case 'createAccount': {
      const created = await call('POST', '/users', {
        username: account.username,
        email: account.email ?? user.email,
        displayName: user.displayName ?? `${user.firstName ?? ''} ${user.lastName ?? ''}`.trim(),
      });
      if (created.status !== 409) return { id: created.body?.id, created: true };
      const existing = await call('GET', `/users/by-username/${encodeURIComponent(account.username)}`);
      ctx.log(`${account.username} exists already`);
      return { id: existing.body?.id, created: false };
    }
    case 'updateAccount':
    case 'disableAccount':
      if (!id) return { skipped: 'no wiki account recorded' };
      await call('PUT', `/users/${id}/status`, { active: input.operation === 'updateAccount' });
      return { id, active: input.operation === 'updateAccount' };
    case 'deleteAccount':
      if (!id) return { skipped: 'no wiki account recorded' };
      return { id, deleted: (await call('DELETE', `/users/${id}`)).status !== 404 };
    case 'addToGroup':
    case 'removeFromGroup': {
      if (!id) throw new Error(`${account.username} has no wiki account: create it first`);
      const group = encodeURIComponent(input.group?.id ?? input.group?.displayName ?? '');
      await call(input.operation === 'addToGroup' ? 'PUT' : 'DELETE', `/groups/${group}/members/${id}`);
      return { id, group: input.group?.displayName ?? input.group?.id };
    }
  }
}
