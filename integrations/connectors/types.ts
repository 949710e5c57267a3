/**
 * The connectors integration's contract (workflow-safe: perform_connector_action imports it): an
 * app's connector action as its `kind: Directory` document declares it (`provisioning.actions`),
 * found by app and action name. The step runs it; the adapter reads the app from the directory.
 */
import type { OwnedSecretRef } from '../../core/secret-ref.js';
import type { ConnectorActionTarget } from '../../directory/types.js';
import { integrationKey } from '../types.js';

/** What an action is told of its app. */
export interface ConnectorApp {
  slug: string;
  displayName: string;
  /** The app's SCIM base URL, when it is provisioned over SCIM. */
  scimBaseUrl?: string;
}

export interface ResolvedConnectorAction {
  app: ConnectorApp;
  action: string;
  /** Where it runs: a function (kind: Function) or a webhook (kind: Webhook). */
  target: ConnectorActionTarget;
  /** Where the app's bearer token comes from (its SCIM token), never its value; absent when the app has none. */
  token?: OwnedSecretRef;
}

export interface ConnectorActions {
  /** Throws a non-retryable StepError when the app is not in the directory or declares no such action. */
  resolve(app: string, action: string): Promise<ResolvedConnectorAction>;
}

export const connectors = integrationKey<ConnectorActions>('connectors');
