/**
 * Functions as idflow manages them: versions in the definitions store (kind "Function": every
 * version holds its config, its TypeScript and the bundle compiled from it, immutable, with a
 * content hash, time, author and message), secrets sealed at rest, and calls into the sandbox
 * with this version's limits, allowlist, secrets and the directory.
 */
import type { FunctionSpec } from './document.js';
import { IdflowError } from '../core/errors.js';
import type { JsonObject, JsonValue } from '../core/json.js';
import type { OwnedSecretRef } from '../core/secret-ref.js';
import { parseDuration } from '../core/duration.js';
import type { DefinitionVersion, Store } from '../store/types.js';
import { compileFunction } from './compile.js';
import { FUNCTION_REF_HINT, parseFunctionRef } from './ref.js';
import { functionDirectory } from './directory.js';
import { FunctionSandbox } from './sandbox/pool.js';
import { SealedSecrets } from './sealed-secrets.js';
import type { MasterKeySource } from './secrets.js';
import type { FunctionDirectory, FunctionRunRequest, FunctionRunResult } from './types.js';

/** What a stored version holds besides the document's fields. */
export interface StoredFunctionSpec extends FunctionSpec {
  /** The source's path as it was applied or published. */
  sourcePath: string;
  sourceText: string;
  /** The bundle (npm: packages inlined) and its sha256: what runs. */
  code: string;
  codeHash: string;
  packages: string[];
}

export interface FunctionVersionInfo {
  name: string;
  version: number;
  codeHash: string;
  createdAt: string;
  createdBy: string;
  /** The publish message, or where an applied version came from. */
  message: string;
}

/** A version with the TypeScript it was published from. */
export interface FunctionVersionSource extends FunctionVersionInfo {
  /** The source's path as applied or published. */
  file: string;
  source: string;
}

export interface FunctionSummary extends FunctionVersionInfo {
  description?: string;
  /** The source's path as applied or published (relative to where that was run). */
  file: string;
  allowedHosts: string[];
  timeout: string;
  memoryMb: number;
  secrets: string[];
}

export interface FunctionCallResult extends FunctionRunResult {
  function: string;
  version: number;
}

const storedSpec = (version: DefinitionVersion): StoredFunctionSpec => version.spec as unknown as StoredFunctionSpec;

function versionInfo(version: DefinitionVersion): FunctionVersionInfo {
  return {
    name: version.name,
    version: version.version,
    codeHash: storedSpec(version).codeHash,
    createdAt: version.createdAt,
    createdBy: version.createdBy,
    message: version.source,
  };
}

/** Compiles a document's source into the spec a version stores; throws FunctionCompileError. */
export async function storedFunctionSpec(spec: FunctionSpec, source: { path: string; content: string }): Promise<StoredFunctionSpec> {
  const compiled = await compileFunction(source.content, source.path);
  return {
    ...spec,
    sourcePath: source.path,
    sourceText: source.content,
    code: compiled.code,
    codeHash: compiled.hash,
    packages: compiled.packages,
  };
}

export interface FunctionServiceOptions extends MasterKeySource {
  store: Store;
  /** Shared with other services of the process; created (and closed by close()) when absent. */
  sandbox?: FunctionSandbox;
}

export class FunctionService {
  private readonly store: Store;
  private readonly sandbox: FunctionSandbox;
  private readonly ownsSandbox: boolean;
  private readonly directory: FunctionDirectory;
  private readonly privateNetworks: string[];
  /** Each function's secrets, under its name as the owner. */
  private readonly secrets: SealedSecrets;

  constructor(options: FunctionServiceOptions) {
    this.store = options.store;
    this.ownsSandbox = options.sandbox === undefined;
    this.sandbox = options.sandbox ?? new FunctionSandbox();
    this.directory = functionDirectory(options.store.directory);
    this.privateNetworks = privateNetworksFrom(options.env);
    this.secrets = new SealedSecrets(options);
  }

  close(): void {
    if (this.ownsSandbox) this.sandbox.close();
  }

  async list(): Promise<FunctionSummary[]> {
    const heads = await this.store.definitions.list('Function');
    return Promise.all(
      heads.map(async (head) => {
        const spec = storedSpec(head);
        const secrets = (await this.store.secrets.list(head.name)).map((secret) => secret.key);
        return {
          ...versionInfo(head),
          description: spec.description,
          file: spec.sourcePath,
          allowedHosts: spec.allowedHosts,
          timeout: spec.timeout,
          memoryMb: spec.memoryMb,
          secrets,
        };
      }),
    );
  }

  /** Every version with its source (what the console's editor diffs and opens). */
  async versions(name: string): Promise<{ current: number; versions: FunctionVersionSource[] }> {
    const head = await this.requireHead(name);
    const history = await this.store.definitions.history('Function', name);
    return {
      current: head.version,
      versions: history.map((version) => ({
        ...versionInfo(version),
        file: storedSpec(version).sourcePath,
        source: storedSpec(version).sourceText,
      })),
    };
  }

  /** The version a reference names: the current one, or NAME@VERSION. */
  async resolve(ref: string): Promise<DefinitionVersion & { spec: JsonObject }> {
    const parsed = parseFunctionRef(ref);
    if (!parsed) throw new IdflowError('INVALID', `"${ref}" is not a function reference: ${FUNCTION_REF_HINT}`);
    const { name, version } = parsed;
    if (version === undefined) return this.requireHead(name);
    const found = await this.store.definitions.get('Function', name, version);
    if (!found)
      throw new IdflowError('NOT_FOUND', `function "${name}" has no version ${version}; see \`idflow function versions ${name}\``);
    return found;
  }

  /** A new version with the current config and new code. */
  async publish(
    name: string,
    source: { path: string; content: string },
    message: string,
    actor: string,
  ): Promise<FunctionVersionInfo & { created: boolean }> {
    const head = await this.requireHead(name);
    const { sourcePath: _path, sourceText: _text, code: _code, codeHash: _hash, packages: _packages, ...config } = storedSpec(head);
    const spec = await storedFunctionSpec(config, source);
    const result = await this.store.definitions.put({
      kind: 'Function',
      name,
      spec: spec as unknown as JsonObject,
      enabled: true,
      source: message,
      actor,
    });
    await this.store.audit.record({
      actor,
      action: 'function.publish',
      target: `Function/${name}`,
      details: { version: result.version.version, codeHash: spec.codeHash, message, created: result.created },
    });
    return { ...versionInfo(result.version), created: result.created };
  }

  /** Makes an earlier version current again, as a new version with its content. */
  async rollback(name: string, version: number, actor: string): Promise<FunctionVersionInfo> {
    const target = await this.resolve(`${name}@${version}`);
    const result = await this.store.definitions.put({
      kind: 'Function',
      name,
      spec: target.spec,
      enabled: true,
      source: `rollback to v${version}`,
      actor,
    });
    await this.store.audit.record({
      actor,
      action: 'function.rollback',
      target: `Function/${name}`,
      details: { to: version, version: result.version.version },
    });
    return versionInfo(result.version);
  }

  async setSecret(name: string, key: string, value: string, actor: string): Promise<void> {
    await this.requireHead(name);
    await this.secrets.set(name, key, value, actor);
    await this.store.audit.record({ actor, action: 'function.secret.set', target: `Function/${name}`, details: { key } });
  }

  async listSecrets(name: string): Promise<{ key: string; updatedAt: string; updatedBy: string }[]> {
    await this.requireHead(name);
    return this.secrets.list(name);
  }

  async deleteSecret(name: string, key: string, actor: string): Promise<void> {
    if (!(await this.secrets.delete(name, key))) throw new IdflowError('NOT_FOUND', `function "${name}" has no secret ${key}`);
    await this.store.audit.record({ actor, action: 'function.secret.delete', target: `Function/${name}`, details: { key } });
  }

  /**
   * Calls a stored function. `lent`: credentials the caller adds to the function's own secrets for
   * this call (redacted like them), by the name `ctx.getConfig` takes; one that is not set fails the
   * call (INVALID_REQUEST, naming it). `overrides` are for tests of a version (stubbed fetch, a
   * directory of their own).
   */
  async call(
    ref: string,
    input: JsonValue,
    context: {
      trigger?: JsonValue;
      idempotencyKey?: string;
      lent?: Record<string, OwnedSecretRef>;
      overrides?: Partial<FunctionRunRequest>;
    } = {},
  ): Promise<FunctionCallResult> {
    const version = await this.resolve(ref);
    const spec = storedSpec(version);
    const lent = await this.openLent(context.lent ?? {});
    if ('unset' in lent)
      return {
        ok: false,
        error: { code: 'INVALID_REQUEST', message: lent.unset },
        logs: [],
        durationMs: 0,
        function: version.name,
        version: version.version,
      };
    const result = await this.sandbox.run({
      compiled: { code: spec.code, hash: spec.codeHash, packages: spec.packages },
      filename: spec.sourcePath,
      input,
      allowHosts: spec.allowedHosts,
      allowPrivateNetworks: this.privateNetworks,
      timeoutMs: parseDuration(spec.timeout),
      memoryMb: spec.memoryMb,
      secrets: { ...(await this.secrets.openAll(version.name)), ...lent.secrets },
      directory: this.directory,
      trigger: context.trigger,
      idempotencyKey: context.idempotencyKey,
      ...context.overrides,
    });
    return { ...result, function: version.name, version: version.version };
  }

  /**
   * A call for a plan: runs only a function whose document says `planSafe: true`, reaching no
   * host (ctx.fetch is refused) and reading `directory` (the plan's view) for ctx.directory.
   */
  async planCall(
    ref: string,
    input: JsonValue,
    context: { trigger?: JsonValue; directory: FunctionDirectory },
  ): Promise<{ ran: true; outcome: FunctionCallResult } | { ran: false; reason: string }> {
    const version = await this.resolve(ref);
    if (!storedSpec(version).planSafe)
      return { ran: false, reason: `function "${version.name}" is not marked planSafe: true, so plans do not run it` };
    const outcome = await this.call(ref, input, {
      trigger: context.trigger,
      overrides: { allowHosts: [], allowPrivateNetworks: [], directory: context.directory },
    });
    return { ran: true, outcome };
  }

  /** The values of lent credentials: from this process's environment, or sealed under their owner. */
  private async openLent(lent: Record<string, OwnedSecretRef>): Promise<{ secrets: Record<string, string> } | { unset: string }> {
    const secrets: Record<string, string> = {};
    for (const [name, { ref, owner }] of Object.entries(lent)) {
      const value = await this.secrets.resolve(ref, owner);
      if (value === undefined)
        return {
          unset: `${name} comes from ${'env' in ref ? `$${ref.env}, which is not set in the worker's environment` : `the secret ${ref.secret} of ${owner}, which is not set`}`,
        };
      secrets[name] = value;
    }
    return { secrets };
  }

  private async requireHead(name: string): Promise<DefinitionVersion & { spec: JsonObject }> {
    const head = await this.store.definitions.current('Function', name);
    if (!head) throw new IdflowError('NOT_FOUND', `function "${name}" does not exist: apply a kind: Function document named "${name}"`);
    return head;
  }
}

/**
 * Internal networks functions may reach, set by the operator (never by a function): e.g. an
 * on-premises HR system at 10.20.0.0/16. Comma-separated CIDRs; none by default.
 */
export function privateNetworksFrom(env: NodeJS.ProcessEnv): string[] {
  return (env.IDFLOW_FUNCTIONS_PRIVATE_NETWORKS ?? '')
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0);
}
