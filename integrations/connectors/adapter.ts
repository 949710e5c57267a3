/**
 * The connectors integration's adapter: an app's connector action from the app as the directory
 * holds it (by id or slug), with where its token comes from — sealed secrets of an app are kept
 * under its owner `app:<slug>`.
 */
import { appSecretOwner } from '../../core/secret-ref.js';
import { StepError } from '../../core/step-error.js';
import type { Store } from '../../store/types.js';
import { defineAdapter } from '../types.js';
import { connectors, type ResolvedConnectorAction } from './types.js';

async function resolveAction(store: Store, appRef: string, action: string): Promise<ResolvedConnectorAction> {
  const app = (await store.directory.getApp(appRef)) ?? (await store.directory.getAppBySlug(appRef));
  if (!app) {
    throw new StepError('UNKNOWN_APP', `app "${appRef}" is not in the directory: declare it in a kind: Directory document`, {
      retryable: false,
    });
  }
  const actions = app.provisioning?.actions ?? {};
  if (!Object.hasOwn(actions, action)) {
    const known = Object.keys(actions);
    throw new StepError(
      'UNKNOWN_CONNECTOR_ACTION',
      `app "${app.slug}" declares no action "${action}" (${known.length > 0 ? `its actions: ${known.join(', ')}` : 'it declares none'}): add it under provisioning.actions`,
      { retryable: false },
    );
  }
  const scim = app.provisioning?.scim;
  return {
    app: { slug: app.slug, displayName: app.displayName, ...(scim && { scimBaseUrl: scim.baseUrl }) },
    action,
    target: actions[action],
    ...(scim && { token: { ref: scim.token, owner: appSecretOwner(app.slug) } }),
  };
}

export default defineAdapter(connectors, ({ store }) => ({ resolve: (app, action) => resolveAction(store, app, action) }));
