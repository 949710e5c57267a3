/**
 * An app provisioned through a webhook or a function: each operation is a message — `{ operation,
 * app, user, account, group? }` — and the answer (the webhook's JSON body, the function's output)
 * is its outcome; `{ id }` in the answer to createAccount is the app's id of the account. A
 * failed call fails the step as run_webhook or call_function would. A retried step sends the
 * same message again, with the same webhook-id: receivers make operations idempotent.
 */
import type { JsonObject, JsonValue } from '../core/json.js';
import type { AccountStatus, User, Account } from '../directory/types.js';
import { functionCallError } from '../functions/call-error.js';
import type { FunctionCallResult } from '../functions/service.js';
import { deliverWebhook, webhookMessageId } from '../integrations/webhooks/deliver.js';
import type { WebhookResolver } from '../integrations/webhooks/types.js';
import { groupLabel, type AppConnector, type GroupTarget, type Subject } from './connector.js';
import type { OperationOutcome, ProvisioningOperation } from './types.js';

/** Sends one message and answers with its outcome. */
export type SendMessage = (operation: ProvisioningOperation, message: JsonObject, key: string) => Promise<JsonValue>;

/** A message connector over a webhook: signed and classified like run_webhook (integrations/webhooks/deliver.ts). */
export function webhookSender(name: string, webhooks: WebhookResolver, signal: AbortSignal): SendMessage {
  return async (_operation, message, key) => {
    const webhook = await webhooks.resolve(name);
    const answer = await deliverWebhook(webhook, message, { messageId: webhookMessageId(key), fetch: globalThis.fetch, signal });
    return answer.body;
  };
}

/** A message connector over a function: its output is the outcome; its failure fails the step like call_function's. */
export function functionSender(
  app: string,
  name: string,
  functions: { call(ref: string, input: JsonValue): Promise<FunctionCallResult> },
): SendMessage {
  return async (operation, message) => {
    const result = await functions.call(name, message);
    if (!result.ok) throw functionCallError(result, `app "${app}" (${operation}): `);
    return result.output ?? null;
  };
}

const answeredId = (answer: JsonValue): string | undefined => {
  const id = answer !== null && typeof answer === 'object' && !Array.isArray(answer) ? answer.id : undefined;
  return typeof id === 'string' && id.length > 0 ? id : typeof id === 'number' ? String(id) : undefined;
};

export class MessageConnector implements AppConnector {
  constructor(
    readonly via: 'webhook' | 'function',
    private readonly app: string,
    private readonly send: SendMessage,
    /** Names this step's messages: the same on a retry (the webhook-id is made of it). */
    private readonly key: string,
  ) {}

  async ensureAccount(subject: Subject, stored: boolean): Promise<{ appUserId?: string; outcome?: OperationOutcome }> {
    // An account the app gave its id for is there; one recorded without (before provisioning was declared) is asked for.
    if (stored && subject.account.appUserId !== undefined) return { appUserId: subject.account.appUserId };
    return this.create(subject);
  }

  async setActive(subject: Subject, active: boolean): Promise<{ appUserId?: string; outcome: OperationOutcome }> {
    if (active && subject.account.status === 'APP_USER_STATUS_DELETED') return this.create(subject);
    const operation = active ? 'updateAccount' : 'disableAccount';
    const status: AccountStatus = active ? 'APP_USER_STATUS_ENABLED' : 'APP_USER_STATUS_DISABLED';
    const outcome = await this.message(operation, subject.user, { ...subject.account, status });
    return { appUserId: subject.account.appUserId, outcome };
  }

  deleteAccount(subject: Subject): Promise<OperationOutcome> {
    return this.message('deleteAccount', subject.user, { ...subject.account, status: 'APP_USER_STATUS_DELETED' });
  }

  addToGroup(subject: Subject, group: GroupTarget): Promise<OperationOutcome> {
    return this.message('addToGroup', subject.user, subject.account, group);
  }

  removeFromGroup(subject: Subject, group: GroupTarget): Promise<OperationOutcome> {
    return this.message('removeFromGroup', subject.user, subject.account, group);
  }

  private async create(subject: Subject): Promise<{ appUserId?: string; outcome: OperationOutcome }> {
    const account: Account = { ...subject.account, status: 'APP_USER_STATUS_ENABLED' };
    const outcome = await this.message('createAccount', subject.user, account);
    return { appUserId: answeredId(outcome.outcome) ?? subject.account.appUserId, outcome };
  }

  private async message(operation: ProvisioningOperation, user: User, account: Account, group?: GroupTarget): Promise<OperationOutcome> {
    const message: JsonObject = {
      operation,
      app: this.app,
      user: user as unknown as JsonObject,
      account: account as unknown as JsonObject,
      ...(group && {
        group:
          typeof group.ref === 'string'
            ? { entitlement: group.entitlement, displayName: group.ref }
            : { entitlement: group.entitlement, id: group.ref.id },
      }),
    };
    const label = group ? `.${groupLabel(group)}` : '';
    const outcome = await this.send(operation, message, `${this.key}.${operation}.${account.id}${label}`);
    return { operation, ...(group && { group: groupLabel(group) }), outcome };
  }
}
