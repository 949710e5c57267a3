/**
 * Functions' secrets at rest: AES-256-GCM under a master key that never reaches the database.
 * The key comes from IDFLOW_MASTER_KEY (32 bytes, base64 or hex), else the file named by
 * IDFLOW_MASTER_KEY_FILE, else `<data dir>/master.key` — created (mode 0600) the first time a
 * secret is set, which suits a single machine; production sets one of the first two.
 *
 * Each value is bound to its function and key name (GCM additional data), so a sealed value
 * copied to another row does not open.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const VERSION = 'v1';
const IV_BYTES = 12;
const TAG_BYTES = 16;
export const MASTER_KEY_FILE = 'master.key';

export class SecretsError extends Error {
  override readonly name = 'SecretsError';
}

function decodeKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-f]{64}$/i.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32)
    throw new SecretsError(`${where} must be 32 random bytes as base64 or hex (e.g. \`openssl rand -base64 32\`), got ${key.length} bytes`);
  return key;
}

export interface MasterKeySource {
  env: NodeJS.ProcessEnv;
  /** Where `master.key` lives when neither variable is set. */
  dataDir?: string;
}

/** The master key; with `create`, a missing default key file is made (only setting a secret does that). */
export function loadMasterKey(source: MasterKeySource, { create = false } = {}): Buffer {
  if (source.env.IDFLOW_MASTER_KEY) return decodeKey(source.env.IDFLOW_MASTER_KEY, 'IDFLOW_MASTER_KEY');
  const file = source.env.IDFLOW_MASTER_KEY_FILE ?? (source.dataDir ? join(source.dataDir, MASTER_KEY_FILE) : undefined);
  if (!file) throw new SecretsError('no master key for secrets: set IDFLOW_MASTER_KEY (32 random bytes, base64) or IDFLOW_MASTER_KEY_FILE');
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    if (!create || source.env.IDFLOW_MASTER_KEY_FILE)
      throw new SecretsError(`no master key for secrets: ${file} cannot be read; set IDFLOW_MASTER_KEY or IDFLOW_MASTER_KEY_FILE`);
    mkdirSync(dirname(file), { recursive: true });
    text = randomBytes(32).toString('base64');
    writeFileSync(file, `${text}\n`, { mode: 0o600, flag: 'wx' });
  }
  return decodeKey(text, file);
}

/** Whose secret, for messages: a function's name, or an owner such as `app:github` (core/secret-ref.ts). */
const ownerLabel = (owner: string): string => (owner.includes(':') ? owner : `function ${owner}`);

const additionalData = (functionName: string, key: string): Buffer => Buffer.from(`${functionName}\0${key}`, 'utf8');

export function sealSecret(masterKey: Buffer, functionName: string, key: string, value: string): string {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', masterKey, iv);
  cipher.setAAD(additionalData(functionName, key));
  const ciphertext = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
  return `${VERSION}:${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
}

export function openSecret(masterKey: Buffer, functionName: string, key: string, sealed: string): string {
  const [version, payload] = sealed.split(':', 2);
  if (version !== VERSION || !payload)
    throw new SecretsError(`secret ${key} of ${ownerLabel(functionName)} is not in a format this idflow reads`);
  const bytes = Buffer.from(payload, 'base64');
  const decipher = createDecipheriv('aes-256-gcm', masterKey, bytes.subarray(0, IV_BYTES));
  decipher.setAAD(additionalData(functionName, key));
  decipher.setAuthTag(bytes.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
  try {
    return Buffer.concat([decipher.update(bytes.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
  } catch {
    throw new SecretsError(
      `secret ${key} of ${ownerLabel(functionName)} does not open with this master key (was it set under another key?)`,
    );
  }
}
