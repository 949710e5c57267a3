/**
 * The integration contract: how a step reaches an outside service (mail, Slack, webhooks, ...)
 * without naming it in the step contract. Each integration is a folder integrations/<name>/ with
 * a workflow-safe types.ts (its service interface, message types and key: step modules import
 * it, and steps are bundled into workflow code) and a Node-side adapter.ts whose default export
 * builds the service from what the worker has. A step lists the keys it uses in `integrations`,
 * the worker loads integrations/<name>/adapter.ts for each key a registered step lists, and the
 * step asks `services.integration(key)` for the service, typed by the key.
 *
 * Types and two small helpers, nothing that does I/O: step modules import this file.
 */
import type { Store } from '../store/types.js';

declare const serviceType: unique symbol;

/** Names an integration and carries the type of its service (never set at run time). */
export interface IntegrationKey<Service> {
  /** The integration's folder under integrations/, [a-z0-9-]+. */
  readonly name: string;
  readonly [serviceType]?: Service;
}

export function integrationKey<Service>(name: string): IntegrationKey<Service> {
  return { name };
}

/** What the worker hands an adapter to build its service: once per worker, at start. */
export interface AdapterContext {
  /** The worker's environment (settings and secrets referenced as { env: NAME }). */
  env: Readonly<Record<string, string | undefined>>;
  store: Store;
  /** The data dir, where the master key of sealed secrets is when IDFLOW_MASTER_KEY(_FILE) is not set. */
  dataDir?: string;
}

/** The default export of integrations/<name>/adapter.ts. */
export interface IntegrationAdapter<Service> {
  readonly key: IntegrationKey<Service>;
  create(context: AdapterContext): Service;
}

/** Identity helper that ties the factory's service type to the key's. */
export function defineAdapter<Service>(
  key: IntegrationKey<Service>,
  create: (context: AdapterContext) => Service,
): IntegrationAdapter<Service> {
  return { key, create };
}
