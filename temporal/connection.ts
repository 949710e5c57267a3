/**
 * Where Temporal is: TEMPORAL_ADDRESS and friends point idflow at an existing cluster (self-hosted
 * with mTLS, or Temporal Cloud with an API key); without TEMPORAL_ADDRESS `idflow dev` starts a
 * local dev server instead.
 */
import type { TLSConfig } from '@temporalio/client';
import { readFileSync } from 'node:fs';

export interface TemporalSettings {
  address: string;
  namespace: string;
  tls?: TLSConfig;
  apiKey?: string;
}

function readEnvFile(env: NodeJS.ProcessEnv, name: string): Buffer | undefined {
  const path = env[name];
  if (!path) return undefined;
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`${name}=${path}: cannot read the file (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
}

/** The settings from the environment, or undefined when TEMPORAL_ADDRESS is unset. */
export function temporalSettingsFromEnv(env: NodeJS.ProcessEnv = process.env): TemporalSettings | undefined {
  const address = env.TEMPORAL_ADDRESS;
  if (!address) return undefined;
  const crt = readEnvFile(env, 'TEMPORAL_TLS_CERT');
  const key = readEnvFile(env, 'TEMPORAL_TLS_KEY');
  if (Boolean(crt) !== Boolean(key)) throw new Error('TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY go together: set both or neither');
  const ca = readEnvFile(env, 'TEMPORAL_TLS_CA');
  const serverName = env.TEMPORAL_TLS_SERVER_NAME;
  const apiKey = env.TEMPORAL_API_KEY || undefined;
  const wantsTls = Boolean(crt || ca || serverName || apiKey);
  const tls: TLSConfig | undefined = wantsTls
    ? { serverNameOverride: serverName, serverRootCACertificate: ca, clientCertPair: crt && key ? { crt, key } : undefined }
    : undefined;
  return { address, namespace: env.TEMPORAL_NAMESPACE || 'default', tls, apiKey };
}

/** Options accepted by both the client's Connection and the worker's NativeConnection. */
export function connectionOptions(settings: TemporalSettings): { address: string; tls?: TLSConfig; apiKey?: string } {
  return { address: settings.address, tls: settings.tls, apiKey: settings.apiKey };
}
