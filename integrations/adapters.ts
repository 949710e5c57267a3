/**
 * Loads the integrations' adapters when a worker starts: for each key a registered step type
 * lists, integrations/<name>/adapter.ts, whose default export builds the service once. There is
 * no list of integrations to keep here: a new folder is found through the step that names its
 * key. A folder that is missing, or whose adapter is malformed or fails, stops the worker with
 * an error naming it.
 */
import { fileURLToPath } from 'node:url';
import type { AdapterContext, IntegrationAdapter, IntegrationKey } from './types.js';

/** The services a worker built, by integration name. */
export type IntegrationServices = ReadonlyMap<string, unknown>;

/** An integration's name is its folder: nothing else may reach the import below. */
const INTEGRATION_NAME = /^[a-z0-9][a-z0-9-]*$/;

function isAdapter(value: unknown): value is IntegrationAdapter<unknown> {
  const candidate = value as Partial<IntegrationAdapter<unknown>> | undefined;
  return typeof candidate?.create === 'function' && typeof candidate.key?.name === 'string';
}

const reason = (error: unknown): string => (error instanceof Error ? error.message : String(error));

/** `folders`: where the integration folders are (this one; tests point elsewhere). */
export async function loadIntegrations(
  keys: Iterable<IntegrationKey<unknown>>,
  context: AdapterContext,
  folders: URL = new URL('./', import.meta.url),
): Promise<IntegrationServices> {
  const services = new Map<string, unknown>();
  for (const { name } of keys) {
    if (services.has(name)) continue;
    if (!INTEGRATION_NAME.test(name)) throw new Error(`integration "${name}": its name must be the name of its folder, [a-z0-9-]+`);
    const url = new URL(`${name}/adapter.ts`, folders);
    const file = fileURLToPath(url);
    let adapter: unknown;
    try {
      adapter = ((await import(url.href)) as { default?: unknown }).default;
    } catch (error) {
      throw new Error(`integration "${name}": cannot load ${file}: ${reason(error)}`, { cause: error });
    }
    if (!isAdapter(adapter) || adapter.key.name !== name) {
      throw new Error(`integration "${name}": ${file} must export default defineAdapter(<the key named "${name}">, create)`);
    }
    try {
      services.set(name, adapter.create(context));
    } catch (error) {
      throw new Error(`integration "${name}": the adapter in ${file} failed to start: ${reason(error)}`, { cause: error });
    }
  }
  return services;
}
