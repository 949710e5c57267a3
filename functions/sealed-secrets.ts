/**
 * Sealed secrets by owner: a function's name, or `source:<name>` / `app:<slug>` for what other
 * documents need (core/secret-ref.ts). Values are sealed under the master key before they reach
 * the store and opened only where they are used; names are listed, values never.
 */
import { IdflowError } from '../core/errors.js';
import { SECRET_KEY, type SecretRef } from '../core/secret-ref.js';
import type { Store } from '../store/types.js';
import { loadMasterKey, openSecret, sealSecret, type MasterKeySource } from './secrets.js';

/** A secret's name: at most 64 characters (core/secret-ref.ts says which). */
const MAX_KEY_LENGTH = 64;
/** A credential is a token or a key, not a document. */
export const MAX_SECRET_VALUE_BYTES = 16 * 1024;

export interface SealedSecretsOptions extends MasterKeySource {
  store: Store;
}

export class SealedSecrets {
  private readonly store: Store;
  private cachedMasterKey: Buffer | undefined;

  constructor(private readonly options: SealedSecretsOptions) {
    this.store = options.store;
  }

  /** Seals and stores a value; the caller checks that the owner exists and records the audit entry. */
  async set(owner: string, key: string, value: string, actor: string): Promise<void> {
    if (!SECRET_KEY.test(key) || key.length > MAX_KEY_LENGTH)
      throw new IdflowError(
        'INVALID',
        `"${key}" is not a secret name: use letters, digits and "_", starting with a letter or "_", at most ${MAX_KEY_LENGTH} characters`,
      );
    if (value.length === 0) throw new IdflowError('INVALID', `the value of ${key} is empty`);
    if (Buffer.byteLength(value) > MAX_SECRET_VALUE_BYTES)
      throw new IdflowError('INVALID', `the value of ${key} is longer than ${MAX_SECRET_VALUE_BYTES} bytes`);
    const masterKey = this.masterKey({ create: true });
    await this.store.secrets.put({ functionName: owner, key, sealed: sealSecret(masterKey, owner, key, value), actor });
  }

  list(owner: string): Promise<{ key: string; updatedAt: string; updatedBy: string }[]> {
    return this.store.secrets.list(owner);
  }

  /** false when the owner had no such secret. */
  delete(owner: string, key: string): Promise<boolean> {
    return this.store.secrets.delete(owner, key);
  }

  /** Every secret of an owner, opened. Throws SecretsError when the master key is missing or another one sealed them. */
  async openAll(owner: string): Promise<Record<string, string>> {
    const sealed = Object.entries(await this.store.secrets.all(owner));
    if (sealed.length === 0) return {};
    const masterKey = this.masterKey({ create: false });
    return Object.fromEntries(sealed.map(([key, value]) => [key, openSecret(masterKey, owner, key, value)]));
  }

  /**
   * The value a reference names: the environment variable of this process, or the owner's sealed
   * secret; undefined when it is not set (or empty). Throws SecretsError as openAll does.
   */
  async resolve(ref: SecretRef, owner: string): Promise<string | undefined> {
    if ('env' in ref) return this.options.env[ref.env] || undefined;
    const sealed = await this.store.secrets.get(owner, ref.secret);
    return sealed === undefined ? undefined : openSecret(this.masterKey({ create: false }), owner, ref.secret, sealed);
  }

  /** Read once: it does not change while the process runs. */
  private masterKey(options: { create: boolean }): Buffer {
    this.cachedMasterKey ??= loadMasterKey(this.options, options);
    return this.cachedMasterKey;
  }
}
