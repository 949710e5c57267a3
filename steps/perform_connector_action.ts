/**
 * `perform_connector_action`: runs an action an app declares (`provisioning.actions` of its
 * `kind: Directory` document: `lock-account: { function: github-lock }`, `notify-soc: { webhook:
 * soc-hook }`). Both kinds get one request, `{ app, action, input, run }`: a function as its input,
 * with the app's token lent to it as `ctx.getConfig('app.token')` (resolved and redacted where
 * functions' secrets are; it never passes through here), a webhook as its signed JSON body. The
 * function's output, or the webhook's answer, is `ctx.<step>.output`. A successful action is
 * recorded, so a retried step does not act twice; a retry of a failed one reaches the function
 * with the same ctx.idempotencyKey, the webhook with the same webhook-id.
 */
import type { JsonObject } from '../core/json.js';
import type { OwnedSecretRef } from '../core/secret-ref.js';
import { z } from 'zod';
import { connectors, type ResolvedConnectorAction } from '../integrations/connectors/types.js';
import { webhooks } from '../integrations/webhooks/types.js';
import { heartbeating } from '../core/heartbeat.js';
import { callFunction, functionCallOutput } from './call_function.js';
import { postToWebhook } from './run_webhook.js';
import { defineActivityStep, type StepServices } from './types.js';

/** The name under which a function action reads its app's token (a function's own secrets cannot contain "."). */
export const APP_TOKEN_CONFIG = 'app.token';

const schema = z
  .object({
    app: z.string().min(1).max(200).describe("The app's slug or id in the directory."),
    action: z.string().min(1).max(100).describe('An action the app declares under provisioning.actions.'),
    input: z.json().default({}).describe("The action's input (JSON); strings may be templates."),
  })
  .strict();

/** What the action is sent: the same for a function (its input) and a webhook (its body). */
function actionRequest(resolved: ResolvedConnectorAction, input: z.output<typeof schema>['input'], services: StepServices): JsonObject {
  const { slug, displayName, scimBaseUrl } = resolved.app;
  return {
    app: { slug, displayName, ...(scimBaseUrl !== undefined && { scimBaseUrl }) },
    action: resolved.action,
    input,
    run: { id: services.run.runId, automation: services.run.automation, step: services.run.stepName },
  };
}

export const performConnectorActionStep = defineActivityStep({
  type: 'perform_connector_action',
  description: "Run an action an app declares (a function, with the app's token, or a webhook); its output becomes ctx.<step>.output.",
  runsIn: 'activity',
  // A function action's output (which can carry the app's token or the function's secrets, in any encoding) lands in the run.
  scopes: ['functions:run'],
  with: schema,
  integrations: [connectors, webhooks],
  // As call_function: room for the longest function timeout, heartbeats so a dead worker is noticed in seconds.
  defaults: {
    timeout: '16m',
    heartbeatTimeout: '10s',
    retry: { maximumAttempts: 5, initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '30s' },
  },
  checkReferences(input, refs) {
    const { app, action } = input;
    if (typeof app !== 'string') return [];
    if (!refs.hasApp(app)) return [{ path: ['app'], message: `unknown app "${app}": declare it in a kind: Directory document` }];
    const actions = refs.appActions(app);
    if (typeof action !== 'string' || actions === undefined || actions.includes(action)) return [];
    const known = actions.length > 0 ? `its actions: ${actions.join(', ')}` : 'it declares none';
    return [{ path: ['action'], message: `app "${app}" declares no action "${action}" (${known}): add it under provisioning.actions` }];
  },
  async plan(input, services) {
    const { app, action, target } = await services.connectorAction(input.app, input.action);
    return {
      effects: [{ kind: 'connector_action', app, action, input: input.input }],
      unknownReason: `the answer of app "${app}"'s action "${action}" (${'function' in target ? `function ${target.function}` : `webhook ${target.webhook}`}) is known only once it runs`,
    };
  },
  async run(input, services) {
    return services.once(async () => {
      const resolved = await services.integration(connectors).resolve(input.app, input.action);
      const request = actionRequest(resolved, input.input, services);
      const done = { app: resolved.app.slug, action: resolved.action };
      const { target, token } = resolved;
      if ('function' in target) {
        const lent: Record<string, OwnedSecretRef> = token ? { [APP_TOKEN_CONFIG]: token } : {};
        return { ...done, ...functionCallOutput(await callFunction(services, target.function, request, { lent })) };
      }
      const answer = await heartbeating(services, () => postToWebhook(target.webhook, request, services));
      return { ...done, output: answer.body, webhook: target.webhook, status: answer.status };
    });
  },
});
