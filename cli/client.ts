/**
 * Finding and calling the API: IDFLOW_URL + IDFLOW_TOKEN, else the api.json that `idflow dev`
 * leaves in the data dir (IDFLOW_DATA_DIR or ./.data).
 */
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { API_DISCOVERY_FILE, type ApiDiscovery } from '../app/runtime.js';
import { CliError } from './output.js';

export interface ApiTarget extends ApiDiscovery {
  /** Where the settings came from, for error messages. */
  source: string;
}

export async function findApi(options: { dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ApiTarget | undefined> {
  const env = options.env ?? process.env;
  if (env.IDFLOW_URL) {
    if (!env.IDFLOW_TOKEN) throw new CliError('IDFLOW_URL is set but IDFLOW_TOKEN is not');
    return { url: env.IDFLOW_URL.replace(/\/$/, ''), token: env.IDFLOW_TOKEN, source: 'IDFLOW_URL' };
  }
  const file = join(resolve(options.dataDir ?? env.IDFLOW_DATA_DIR ?? '.data'), API_DISCOVERY_FILE);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (!text) return undefined;
  const parsed = JSON.parse(text) as Partial<ApiDiscovery>;
  if (!parsed.url || !parsed.token) throw new CliError(`${file} has no url or token: restart \`idflow dev\``);
  return { url: parsed.url, token: parsed.token, source: file };
}

export const NO_API = 'no idflow API found: start one with `idflow dev`, or set IDFLOW_URL and IDFLOW_TOKEN';

/** A body sent as it is, not as JSON: e.g. a file streamed from disk. */
export class RawBody {
  constructor(
    readonly contentType: string,
    readonly stream: ReadableStream<Uint8Array>,
  ) {}
}

export class ApiClient {
  constructor(readonly target: ApiTarget) {}

  /** Calls the API with a JSON (or RawBody) body; API errors become CliErrors with the API's message. `accept` lists non-2xx statuses returned as bodies. */
  async request<T>(method: string, path: string, body?: unknown, accept: number[] = []): Promise<T> {
    let response: Response;
    try {
      const raw = body instanceof RawBody;
      response = await fetch(`${this.target.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${this.target.token}`,
          ...(body === undefined ? {} : { 'content-type': raw ? body.contentType : 'application/json' }),
        },
        body: raw ? body.stream : body === undefined ? undefined : JSON.stringify(body),
        // A stream is sent as it is read (the fetch standard requires saying so).
        ...(raw && { duplex: 'half' }),
      });
    } catch (error) {
      const reason = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      throw new CliError(
        `cannot reach the idflow API at ${this.target.url} (from ${this.target.source}): ${reason}. Is \`idflow dev\` running?`,
      );
    }
    const text = await response.text();
    const parsed: unknown = text ? JSON.parse(text) : undefined;
    if (response.ok || accept.includes(response.status)) return parsed as T;
    const message = (parsed as { error?: { message?: string } } | undefined)?.error?.message ?? `${response.status} ${response.statusText}`;
    throw new CliError(message);
  }
}

export async function connect(options: { dataDir?: string } = {}): Promise<ApiClient> {
  const target = await findApi(options);
  if (!target) throw new CliError(NO_API);
  return new ApiClient(target);
}
