/**
 * Sealed secrets of owners other than functions — an app's provisioning credentials under
 * `app:<slug>`, an event source's under `source:<name>` (core/secret-ref.ts) — kept in the
 * functions' secret table under the same master key. Set from the CLI or the API, opened only
 * by the process that uses them, never read back.
 */
import { IdflowError } from '../core/errors.js';
import { SECRET_KEY, type SecretRef } from '../core/secret-ref.js';
import type { Store } from '../store/types.js';
import { loadMasterKey, openSecret, sealSecret, type MasterKeySource } from './secrets.js';

/** A credential is a token or a key, not a document. */
export const MAX_SECRET_VALUE_BYTES = 16 * 1024;

export class OwnerSecrets {
  private cachedMasterKey: Buffer | undefined;

  constructor(
    private readonly store: Pick<Store, 'secrets' | 'audit'>,
    private readonly source: MasterKeySource,
  ) {}

  async set(owner: string, key: string, value: string, actor: string): Promise<void> {
    if (!SECRET_KEY.test(key) || key.length > 64)
      throw new IdflowError(
        'INVALID',
        `"${key}" is not a secret name: use letters, digits and "_" (at most 64), starting with a letter or "_"`,
      );
    if (value.length === 0) throw new IdflowError('INVALID', `the value of ${key} is empty`);
    if (Buffer.byteLength(value) > MAX_SECRET_VALUE_BYTES)
      throw new IdflowError('INVALID', `the value of ${key} is longer than ${MAX_SECRET_VALUE_BYTES} bytes`);
    const sealed = sealSecret(this.masterKey({ create: true }), owner, key, value);
    await this.store.secrets.put({ functionName: owner, key, sealed, actor });
    await this.store.audit.record({ actor, action: 'secret.set', target: owner, details: { key } });
  }

  /** The owner's secret, opened; undefined when it was never set. */
  async open(owner: string, key: string): Promise<string | undefined> {
    const sealed = await this.store.secrets.get(owner, key);
    return sealed === undefined ? undefined : openSecret(this.masterKey({ create: false }), owner, key, sealed);
  }

  /** What `ref` names: an environment variable of this process, or `owner`'s sealed secret; undefined when unset. */
  async resolve(ref: SecretRef, owner: string, env: Readonly<Record<string, string | undefined>>): Promise<string | undefined> {
    if ('env' in ref) return env[ref.env] || undefined;
    return this.open(owner, ref.secret);
  }

  /** Read once: it does not change while the process runs. */
  private masterKey(options: { create: boolean }): Buffer {
    this.cachedMasterKey ??= loadMasterKey(this.source, options);
    return this.cachedMasterKey;
  }
}
