/**
 * Where a credential that a document needs comes from: an environment variable of the process
 * that uses it, or a sealed secret stored by idflow (AES-GCM under the master key, like
 * functions' secrets). A sealed secret belongs to an owner — `app:<slug>` for an app's
 * provisioning, `source:<name>` for an event source — in the same table as functions' secrets,
 * whose names cannot contain ":" (so no owner collides with a function).
 */
import { z } from 'zod';

export const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
export const SECRET_KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const SecretRefSchema = z.union([
  z.object({ env: z.string().regex(ENV_NAME, 'an environment variable name (A-Z, 0-9, _)') }).strict(),
  z.object({ secret: z.string().regex(SECRET_KEY, 'a secret name (letters, digits, _)') }).strict(),
]);

export type SecretRef = z.output<typeof SecretRefSchema>;

/** The owner under which an app's sealed secrets are kept. */
export const appSecretOwner = (slug: string): string => `app:${slug}`;
/** The owner under which an event source's sealed secrets are kept. */
export const sourceSecretOwner = (name: string): string => `source:${name}`;

/** A credential lent to a call (a connector action's function gets its app's token): where it comes from, and whose sealed secret it is. */
export interface OwnedSecretRef {
  ref: SecretRef;
  owner: string;
}
