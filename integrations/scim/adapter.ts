/**
 * The SCIM integration's adapter: RFC 7644 over fetch, with a timeout per request, answers read up
 * to a size limit, and every failure a StepError that says whether a retry helps. The bearer token
 * comes from the process's environment or the app's sealed secret (core/secret-ref.ts); it goes in
 * the Authorization header and nowhere else — an app that echoes it in an error has it redacted.
 */
import { z } from 'zod';
import { parseDuration } from '../../core/duration.js';
import { appSecretOwner } from '../../core/secret-ref.js';
import { StepError } from '../../core/step-error.js';
import type { ScimConnection } from '../../directory/types.js';
import { SealedSecrets } from '../../functions/sealed-secrets.js';
import { SecretsError } from '../../functions/secrets.js';
import { networkReason, parseRetryAfter, readLimitedBody } from '../http.js';
import { defineAdapter } from '../types.js';
import { scim, type NewScimUser, type ScimClient, type ScimGroup, type ScimUser, type ScimUserPage } from './types.js';

/** A page of 1,000 users is ~500 KB; more than this is not an answer idflow asked for. */
const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
/** How much of the app's error detail goes into the step's error. */
const MAX_DETAIL_CHARS = 1000;

const SCHEMA = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  patch: 'urn:ietf:params:scim:api:messages:2.0:PatchOp',
};

const UserSchema = z.looseObject({
  id: z.string().min(1),
  userName: z.string(),
  externalId: z.string().optional(),
  active: z.boolean().optional(),
});
const GroupSchema = z.looseObject({
  id: z.string().min(1),
  displayName: z.string(),
  members: z.array(z.looseObject({ value: z.string(), type: z.string().optional() })).optional(),
  meta: z.looseObject({ created: z.string().optional() }).optional(),
});
const listOf = <T extends z.ZodType>(resource: T) =>
  z.looseObject({ totalResults: z.number().int().min(0), Resources: z.array(resource).optional() });
const ErrorSchema = z.looseObject({ detail: z.string().optional(), scimType: z.string().optional() });

const toUser = (user: z.output<typeof UserSchema>): ScimUser => ({
  id: user.id,
  userName: user.userName,
  ...(user.externalId !== undefined && { externalId: user.externalId }),
  active: user.active ?? true,
});
const toGroup = (group: z.output<typeof GroupSchema>): ScimGroup => ({
  id: group.id,
  displayName: group.displayName,
  // Members may be groups too (RFC 7643 4.2): provisioning adds users only.
  members: (group.members ?? []).filter((member) => member.type !== 'Group').map((member) => member.value),
  ...(group.meta?.created !== undefined && { created: group.meta.created }),
});

/** `attribute eq "value"`, the value quoted as a JSON string (RFC 7644 3.4.2.2). */
const equals = (attribute: string, value: string): string => `${attribute} eq ${JSON.stringify(value)}`;

interface Answer {
  status: number;
  body: unknown;
  /** The SCIM error's scimType, when the app sent one. */
  scimType?: string;
}

class HttpScimClient implements ScimClient {
  private readonly baseUrl: string;
  private readonly timeoutMs: number;

  constructor(
    private readonly app: string,
    connection: ScimConnection,
    private readonly token: string,
    private readonly signal: AbortSignal,
  ) {
    this.baseUrl = connection.baseUrl.replace(/\/+$/, '');
    this.timeoutMs = (connection.timeout === undefined ? undefined : parseDuration(connection.timeout)) ?? DEFAULT_TIMEOUT_MS;
  }

  async getUser(id: string): Promise<ScimUser | undefined> {
    const answer = await this.call('GET', `/Users/${encodeURIComponent(id)}`, undefined, [404]);
    return answer.status === 404 ? undefined : toUser(this.parse(UserSchema, answer, 'a User'));
  }

  async findUsers(attribute: 'externalId' | 'userName', value: string): Promise<ScimUser[]> {
    const query = new URLSearchParams({ filter: equals(attribute, value) });
    const answer = await this.call('GET', `/Users?${query}`);
    return (this.parse(listOf(UserSchema), answer, 'a ListResponse of Users').Resources ?? []).map(toUser);
  }

  async createUser(user: NewScimUser): Promise<{ created: ScimUser } | { conflict: string }> {
    const name =
      user.givenName !== undefined || user.familyName !== undefined
        ? { givenName: user.givenName, familyName: user.familyName }
        : undefined;
    const answer = await this.call(
      'POST',
      '/Users',
      {
        schemas: [SCHEMA.user],
        userName: user.userName,
        externalId: user.externalId,
        active: user.active,
        ...(user.displayName !== undefined && { displayName: user.displayName }),
        ...(name && { name }),
        ...(user.email !== undefined && { emails: [{ value: user.email, type: 'work', primary: true }] }),
      },
      [409],
    );
    if (answer.status === 409) return { conflict: this.detail(answer) };
    return { created: toUser(this.parse(UserSchema, answer, 'the created User')) };
  }

  async setActive(id: string, active: boolean): Promise<boolean> {
    const answer = await this.call(
      'PATCH',
      `/Users/${encodeURIComponent(id)}`,
      { schemas: [SCHEMA.patch], Operations: [{ op: 'replace', path: 'active', value: active }] },
      [404],
    );
    return answer.status !== 404;
  }

  async deleteUser(id: string): Promise<boolean> {
    return (await this.call('DELETE', `/Users/${encodeURIComponent(id)}`, undefined, [404])).status !== 404;
  }

  async listUsers(startIndex: number, count: number): Promise<ScimUserPage> {
    const query = new URLSearchParams({ startIndex: String(startIndex), count: String(count) });
    const page = this.parse(listOf(UserSchema), await this.call('GET', `/Users?${query}`), 'a ListResponse of Users');
    return { totalResults: page.totalResults, users: (page.Resources ?? []).map(toUser) };
  }

  async getGroup(id: string): Promise<ScimGroup | undefined> {
    const answer = await this.call('GET', `/Groups/${encodeURIComponent(id)}`, undefined, [404]);
    return answer.status === 404 ? undefined : toGroup(this.parse(GroupSchema, answer, 'a Group'));
  }

  async findGroups(displayName: string): Promise<ScimGroup[]> {
    const query = new URLSearchParams({ filter: equals('displayName', displayName), excludedAttributes: 'members' });
    const answer = await this.call('GET', `/Groups?${query}`);
    return (this.parse(listOf(GroupSchema), answer, 'a ListResponse of Groups').Resources ?? []).map(toGroup);
  }

  async createGroup(displayName: string): Promise<ScimGroup> {
    const answer = await this.call('POST', '/Groups', { schemas: [SCHEMA.group], displayName, members: [] });
    return toGroup(this.parse(GroupSchema, answer, 'the created Group'));
  }

  async addMember(groupId: string, userId: string): Promise<void> {
    await this.call('PATCH', `/Groups/${encodeURIComponent(groupId)}`, {
      schemas: [SCHEMA.patch],
      Operations: [{ op: 'add', path: 'members', value: [{ value: userId }] }],
    });
  }

  async removeMember(groupId: string, userId: string): Promise<boolean> {
    const answer = await this.call(
      'PATCH',
      `/Groups/${encodeURIComponent(groupId)}`,
      { schemas: [SCHEMA.patch], Operations: [{ op: 'remove', path: `members[value eq ${JSON.stringify(userId)}]` }] },
      [400],
    );
    if (answer.status === 400 && answer.scimType !== 'noTarget') this.reject('PATCH', `/Groups/${groupId}`, answer);
    return answer.status !== 400;
  }

  /** One request; `expected` lists non-2xx statuses the caller handles itself. */
  private async call(method: string, path: string, body?: object, expected: number[] = []): Promise<Answer> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    let response: Response;
    try {
      response = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.token}`,
          accept: 'application/scim+json, application/json',
          'user-agent': 'idflow',
          ...(body !== undefined && { 'content-type': 'application/scim+json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.any([this.signal, timeout]),
      });
    } catch (error) {
      if (timeout.aborted)
        throw new StepError('SCIM_TIMEOUT', `app "${this.app}" (SCIM): ${method} ${path} got no answer within ${this.timeoutMs} ms`, {
          retryable: true,
        });
      throw new StepError(
        'SCIM_UNAVAILABLE',
        `app "${this.app}" (SCIM): ${method} ${this.baseUrl}${path} failed: ${networkReason(error)}`,
        { retryable: true },
      );
    }
    const text = await readLimitedBody(response, MAX_RESPONSE_BYTES);
    if (text === undefined)
      throw new StepError(
        'SCIM_RESPONSE_TOO_LARGE',
        `app "${this.app}" (SCIM): ${method} ${path} answered with more than ${MAX_RESPONSE_BYTES} bytes`,
        { retryable: false },
      );
    const answer: Answer = { status: response.status, body: undefined };
    if (text.length > 0) {
      try {
        answer.body = JSON.parse(text);
      } catch {
        answer.body = text;
      }
    }
    const error = response.ok ? undefined : ErrorSchema.safeParse(answer.body);
    if (error?.success && error.data.scimType !== undefined) answer.scimType = error.data.scimType;
    if (response.ok || expected.includes(response.status)) return answer;
    const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ''}`;
    if (response.status === 429 || response.status >= 500) {
      throw new StepError(
        response.status === 429 ? 'SCIM_RATE_LIMITED' : 'SCIM_UNAVAILABLE',
        `app "${this.app}" (SCIM): ${method} ${path} answered ${status}${this.detailSuffix(answer)}`,
        { retryable: true, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')) },
      );
    }
    if (response.status >= 300 && response.status < 400)
      throw new StepError(
        'SCIM_REDIRECTED',
        `app "${this.app}" (SCIM): ${method} ${path} redirects (${status}) to ${response.headers.get('location') ?? 'an unnamed location'}: correct its baseUrl`,
        { retryable: false },
      );
    return this.reject(method, path, answer);
  }

  /** A 4xx: the app refused the request, and a retry would be refused alike. */
  private reject(method: string, path: string, answer: Answer): never {
    const detail = this.detail(answer);
    throw new StepError(
      'SCIM_REJECTED',
      `app "${this.app}" (SCIM): ${method} ${path} answered ${answer.status}${this.detailSuffix(answer)}`,
      {
        retryable: false,
        details: { status: answer.status, ...(answer.scimType !== undefined && { scimType: answer.scimType }), detail },
      },
    );
  }

  /** The app's error detail (or its body), cut short, without the token should the app echo it. */
  private detail(answer: Answer): string {
    const parsed = ErrorSchema.safeParse(answer.body);
    const text =
      parsed.success && parsed.data.detail !== undefined ? parsed.data.detail : typeof answer.body === 'string' ? answer.body : '';
    return text.replaceAll(this.token, '[redacted]').slice(0, MAX_DETAIL_CHARS);
  }

  private detailSuffix(answer: Answer): string {
    const detail = this.detail(answer);
    return `${answer.scimType === undefined ? '' : ` (${answer.scimType})`}${detail ? `: ${detail}` : ''}`;
  }

  private parse<T extends z.ZodType>(schema: T, answer: Answer, what: string): z.output<T> {
    const parsed = schema.safeParse(answer.body);
    if (parsed.success) return parsed.data;
    const issue = parsed.error.issues[0];
    throw new StepError(
      'SCIM_INVALID_RESPONSE',
      `app "${this.app}" (SCIM): expected ${what}, got a body where ${issue?.path.join('.') || 'the top level'}: ${issue?.message ?? 'invalid'}`,
      { retryable: false },
    );
  }
}

async function connect(secrets: SealedSecrets, app: { slug: string; scim: ScimConnection }, signal: AbortSignal) {
  const ref = app.scim.token;
  let token: string | undefined;
  try {
    token = await secrets.resolve(ref, appSecretOwner(app.slug));
  } catch (error) {
    if (!(error instanceof SecretsError)) throw error;
    throw new StepError('SCIM_TOKEN_UNREADABLE', `app "${app.slug}": its SCIM token cannot be opened: ${error.message}`, {
      retryable: false,
    });
  }
  if (token === undefined) {
    const where =
      'env' in ref
        ? `is read from $${ref.env}, which is not set in this process's environment (the worker's for steps, the API's for \`idflow directory reconcile\`)`
        : `is the sealed secret ${ref.secret}, which is not set: printf %s "$TOKEN" | idflow directory secrets set ${app.slug} ${ref.secret}`;
    throw new StepError('SCIM_TOKEN_UNSET', `app "${app.slug}": its SCIM token ${where}`, { retryable: false });
  }
  return new HttpScimClient(app.slug, app.scim, token, signal);
}

export default defineAdapter(scim, ({ env, store, dataDir }) => {
  const secrets = new SealedSecrets({ store, env: env as NodeJS.ProcessEnv, dataDir });
  return { connect: (app, signal) => connect(secrets, app, signal) };
});
