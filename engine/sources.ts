/**
 * Event sources at work (`kind: EventSource`): a request to POST /v1/sources/:name is checked
 * against the source's signature and secret, recorded, and mapped. Its people are imported
 * through the directory service, so their user.created/updated/deactivated events leave through
 * the outbox exactly as an HR import's do; its events are ingested as POST /v1/events ingests
 * them, so a repeated id starts nothing twice. A delivery id accepted before answers again
 * without doing anything; a failed one keeps its body, and is mapped again when it comes again
 * or is replayed after the mapping is fixed.
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { IdflowError } from '../core/errors.js';
import { asJson, MAX_BODY_DEPTH, nestsDeeperThan, type JsonObject, type JsonValue } from '../core/json.js';
import { sourceSecretOwner } from '../core/secret-ref.js';
import { importFeed, type Feed, type ImportReport } from '../directory/import.js';
import type { DirectoryService } from '../directory/service.js';
import { SealedSecrets } from '../functions/sealed-secrets.js';
import { SecretsError } from '../functions/secrets.js';
import { storedSourceSpec, type EventSourceSpec } from '../sources/document.js';
import { MappingError, mapDelivery, type MappedDelivery, type MappedEvent } from '../sources/mapping.js';
import { SourceSecretError, verifySignature, type Verdict } from '../sources/signature.js';
import { Mutex } from '../store/mutex.js';
import type { SourceDelivery, SourceDeliverySummary, Store } from '../store/types.js';

export interface SourceRequest {
  /** The body's bytes as they arrived: what was signed. */
  body: Buffer;
  headers: Record<string, string | string[] | undefined>;
  remoteAddress: string;
}

/** What a delivery was mapped to, as its sender (and a replay) is told. */
export interface DeliveryOutcome {
  source: string;
  delivery: string;
  /** The delivery id was accepted before: nothing was done again. */
  duplicate: boolean;
  events: { id: string; type: string; duplicate: boolean }[];
  users: { created: number; updated: number; deactivated: number; unchanged: number };
}

export interface SourceSummary {
  name: string;
  version: number;
  enabled: boolean;
  /** As applied: the secret is a reference ({ env } or { secret }), never a value. */
  spec: EventSourceSpec;
  /** Names of the source's sealed secrets. */
  secrets: string[];
  updatedAt: string;
}

/** Whether an ingested event was a repeated id, and how many runs it matched could not start yet. */
interface Ingested {
  duplicate: boolean;
  notStarted: number;
}

export interface EventSourcesOptions {
  store: Store;
  directory: DirectoryService;
  secrets: SealedSecrets;
  /** The engine's ingest (what POST /v1/events does), as far as a delivery needs its answer. */
  ingest(event: MappedEvent, actor: string): Promise<Ingested>;
  logger: Logger;
}

/** Credentials of the hop, not the sender's data: a mapping never sees them and they are not kept. */
const HIDDEN_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

/** A source in force: its current version. */
interface ActiveSource {
  name: string;
  version: number;
  spec: EventSourceSpec;
}

/** A signed delivery about to be mapped (again). */
interface SignedDelivery {
  id: string;
  body: JsonValue;
  headers: Record<string, string>;
  receivedAt: string;
}

/** The body as JSON, or why it cannot be mapped. Only a body that parses is kept: the store's text columns take any JSON text. */
function parseBody(text: string): { json: JsonValue } | { problem: string } {
  let json: JsonValue;
  try {
    json = JSON.parse(text) as JsonValue;
  } catch (error) {
    return { problem: `the body is not JSON: ${(error as Error).message}` };
  }
  if (nestsDeeperThan(json, MAX_BODY_DEPTH)) return { problem: `the body is nested too deep: at most ${MAX_BODY_DEPTH} levels` };
  return { json };
}

/** Headers as a mapping sees them: lowercased names (as Node gives them), one string each, the hop's credentials left out. */
function mappableHeaders(headers: SourceRequest['headers']): Record<string, string> {
  const mappable: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HIDDEN_HEADERS.has(name)) continue;
    mappable[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return mappable;
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

/** The people of a mapping as the rows of an HR feed: `users[i]` is line i + 1. */
function feedOf(name: string, users: JsonObject[]): Feed {
  return {
    file: `event source ${name}`,
    rows: users.map((values, index) => ({
      line: index + 1,
      values: Object.assign(Object.create(null) as Record<string, unknown>, values),
    })),
    renamed: new Map(),
  };
}

function rowErrors(report: ImportReport): string {
  return report.errors.map((error) => `mapping.users[${error.line - 1}]${error.id ? ` (${error.id})` : ''}: ${error.message}`).join('; ');
}

export class EventSources {
  private readonly store: Store;
  /** Deliveries of one source are mapped one at a time in this process: two imports of one person never race. */
  private readonly locks = new Map<string, Mutex>();

  constructor(private readonly options: EventSourcesOptions) {
    this.store = options.store;
  }

  async list(): Promise<SourceSummary[]> {
    const heads = await this.store.definitions.list('EventSource');
    return Promise.all(
      heads.map(async (head) => ({
        name: head.name,
        version: head.version,
        enabled: head.enabled,
        spec: storedSourceSpec(head.spec),
        secrets: (await this.options.secrets.list(sourceSecretOwner(head.name))).map((secret) => secret.key),
        updatedAt: head.createdAt,
      })),
    );
  }

  /** The source's current version (for the scopes its effects need, and replays): NOT_FOUND when there is none, DISABLED when it is disabled. */
  async current(name: string): Promise<ActiveSource> {
    const current = await this.store.definitions.current('EventSource', name);
    if (!current)
      throw new IdflowError('NOT_FOUND', `event source "${name}" does not exist: apply a kind: EventSource document named "${name}"`);
    if (!current.enabled) throw new IdflowError('DISABLED', `event source "${name}" is disabled: apply it with enabled: true first`);
    return { name, version: current.version, spec: storedSourceSpec(current.spec) };
  }

  /** A request to POST /v1/sources/:name: verified, recorded, mapped and carried out (see the file comment). */
  async receive(name: string, request: SourceRequest): Promise<DeliveryOutcome> {
    const current = await this.store.definitions.current('EventSource', name);
    // Unknown and disabled alike: neither takes requests, and the answer does not say which.
    if (!current?.enabled) throw new IdflowError('NOT_FOUND', `no enabled event source "${name}"`);
    const source: ActiveSource = { name, version: current.version, spec: storedSourceSpec(current.spec) };
    const receivedAt = new Date();
    const headers = mappableHeaders(request.headers);
    const verdict = await this.verify(source, request, headers, receivedAt);
    if (!verdict.ok) {
      await this.refuse(source, request, receivedAt, verdict.reason);
      throw new IdflowError('UNAUTHORIZED', `the request's signature was refused: ${verdict.reason}`);
    }
    const id = verdict.deliveryId;
    const text = request.body.toString('utf8');
    const parsed = parseBody(text);
    return this.exclusive(name, async () => {
      const earlier = await this.store.sourceDeliveries.get(name, id);
      if (earlier?.status === 'accepted') return { ...this.outcomeOf(earlier), duplicate: true };
      if (!earlier)
        await this.store.sourceDeliveries.insert({
          source: name,
          id,
          status: 'received',
          receivedAt: receivedAt.toISOString(),
          remoteAddress: request.remoteAddress,
          bodyBytes: request.body.length,
          bodySha256: sha256(request.body),
          ...('json' in parsed && { body: text }),
          headers,
        });
      if ('problem' in parsed) return this.fail(source, id, 'INVALID', parsed.problem);
      return this.carryOut(source, { id, body: parsed.json, headers, receivedAt: receivedAt.toISOString() }, `source:${name}`);
    });
  }

  /** Maps a kept delivery again with the source's current version (after its mapping was fixed). */
  async replay(name: string, id: string, actor: string): Promise<DeliveryOutcome> {
    const source = await this.current(name);
    return this.exclusive(name, async () => {
      const kept = await this.store.sourceDeliveries.get(name, id);
      if (!kept)
        throw new IdflowError('NOT_FOUND', `event source "${name}" has no delivery "${id}" (see \`idflow sources deliveries ${name}\`)`);
      const parsed = kept.body === undefined ? undefined : parseBody(kept.body);
      if (parsed === undefined || !('json' in parsed))
        throw new IdflowError(
          'CONFLICT',
          `delivery "${id}" kept no body to map again (${kept.status}: ${kept.reason}): only the JSON body of a signed request is kept`,
        );
      const delivery: SignedDelivery = { id, body: parsed.json, headers: kept.headers ?? {}, receivedAt: kept.receivedAt };
      try {
        return await this.carryOut(source, delivery, actor);
      } finally {
        await this.store.audit.record({
          actor,
          action: 'source.replay',
          target: `EventSource/${name}`,
          details: { delivery: id, version: source.version, status: (await this.store.sourceDeliveries.get(name, id))?.status ?? null },
        });
      }
    });
  }

  /** Recent deliveries, newest first: status and reason, never bodies. */
  async deliveries(name: string, limit?: number): Promise<SourceDeliverySummary[]> {
    await this.requireDefined(name);
    return this.store.sourceDeliveries.list(name, { limit });
  }

  async setSecret(name: string, key: string, value: string, actor: string): Promise<void> {
    await this.requireDefined(name);
    await this.options.secrets.set(sourceSecretOwner(name), key, value, actor);
    await this.store.audit.record({ actor, action: 'source.secret.set', target: `EventSource/${name}`, details: { key } });
  }

  async listSecrets(name: string): Promise<{ key: string; updatedAt: string; updatedBy: string }[]> {
    await this.requireDefined(name);
    return this.options.secrets.list(sourceSecretOwner(name));
  }

  async deleteSecret(name: string, key: string, actor: string): Promise<void> {
    if (!(await this.options.secrets.delete(sourceSecretOwner(name), key)))
      throw new IdflowError('NOT_FOUND', `event source "${name}" has no secret ${key}`);
    await this.store.audit.record({ actor, action: 'source.secret.delete', target: `EventSource/${name}`, details: { key } });
  }

  private async requireDefined(name: string): Promise<void> {
    if (!(await this.store.definitions.head('EventSource', name)))
      throw new IdflowError('NOT_FOUND', `event source "${name}" does not exist: apply a kind: EventSource document named "${name}"`);
  }

  private async exclusive<T>(name: string, work: () => Promise<T>): Promise<T> {
    let lock = this.locks.get(name);
    if (!lock) this.locks.set(name, (lock = new Mutex()));
    const release = await lock.lock();
    try {
      return await work();
    } finally {
      release();
    }
  }

  /**
   * The verdict on a request's signature. A secret that is missing or unusable refuses every
   * request with 503 (the operator's to fix, and the sender's retry then succeeds), recorded
   * with the reason; the secret's value never appears in either.
   */
  private async verify(source: ActiveSource, request: SourceRequest, headers: Record<string, string>, now: Date): Promise<Verdict> {
    const { signature } = source.spec;
    let problem: string;
    try {
      const secret = await this.options.secrets.resolve(signature.secret, sourceSecretOwner(source.name));
      if (secret !== undefined) return verifySignature(signature, secret, request.body, headers, now);
      problem =
        'env' in signature.secret
          ? `the environment variable ${signature.secret.env} of the API process is not set`
          : `the secret ${signature.secret.secret} is not set: \`idflow sources secrets set ${source.name} ${signature.secret.secret}\``;
    } catch (error) {
      if (!(error instanceof SourceSecretError) && !(error instanceof SecretsError)) throw error;
      problem = error.message;
    }
    await this.refuse(source, request, now, `the source cannot check signatures: ${problem}`);
    throw new IdflowError(
      'UNAVAILABLE',
      `event source "${source.name}" cannot check signatures now (its operator sees why in \`idflow sources deliveries ${source.name}\`)`,
    );
  }

  /** Records a refused request: who sent how many bytes with which hash, never the body itself. */
  private async refuse(source: ActiveSource, request: SourceRequest, receivedAt: Date, reason: string): Promise<void> {
    await this.store.sourceDeliveries.insert({
      source: source.name,
      id: `rejected-${randomUUID()}`,
      status: 'rejected',
      reason,
      receivedAt: receivedAt.toISOString(),
      remoteAddress: request.remoteAddress,
      bodyBytes: request.body.length,
      bodySha256: sha256(request.body),
    });
    this.options.logger.warn({ source: source.name, reason, remoteAddress: request.remoteAddress }, 'event source request refused');
  }

  /**
   * Maps a signed delivery with `source`'s version and carries it out: people first (one
   * transaction; refused whole when a row would fail), then events. A mapping or data error
   * settles it as failed (422); runs that could not start yet as unavailable (503), which a
   * delivery of the same id again completes.
   */
  private async carryOut(source: ActiveSource, delivery: SignedDelivery, actor: string): Promise<DeliveryOutcome> {
    const { name, version } = source;
    const outcome: DeliveryOutcome = {
      source: name,
      delivery: delivery.id,
      duplicate: false,
      events: [],
      users: { created: 0, updated: 0, deactivated: 0, unchanged: 0 },
    };
    const fail = (reason: string): Promise<never> => this.fail(source, delivery.id, 'MAPPING_FAILED', reason);
    let mapped: MappedDelivery;
    try {
      mapped = mapDelivery(
        source.spec.mapping,
        { body: delivery.body, headers: delivery.headers, delivery: { id: delivery.id, source: name, receivedAt: delivery.receivedAt } },
        new Date(delivery.receivedAt),
      );
    } catch (error) {
      if (!(error instanceof MappingError)) throw error;
      return fail(error.message);
    }
    if (mapped.users.length > 0) {
      const feed = feedOf(name, mapped.users);
      const options = { source: `source:${name}` };
      const preview = await importFeed(this.options.directory, feed, { ...options, dryRun: true });
      if (preview.errors.length > 0) return fail(rowErrors(preview));
      const report = await importFeed(this.options.directory, feed, options);
      outcome.users = {
        created: report.created.length,
        updated: report.updated.length,
        deactivated: report.deactivated.length,
        unchanged: report.unchanged,
      };
    }
    let notStarted = 0;
    for (const [index, event] of mapped.events.entries()) {
      let ingested: Ingested;
      try {
        ingested = await this.options.ingest(event, actor);
      } catch (error) {
        if (!(error instanceof IdflowError)) throw error;
        return fail(`mapping.events[${index}] (${event.id}): ${error.message}`);
      }
      outcome.events.push({ id: event.id, type: event.type, duplicate: ingested.duplicate });
      notStarted += ingested.notStarted;
    }
    const result = asJson({ events: outcome.events, users: outcome.users });
    if (notStarted > 0) {
      const reason = `${notStarted} run(s) the events matched could not start yet: the next delivery of this id (or a replay) starts them`;
      await this.store.sourceDeliveries.settle(name, delivery.id, { status: 'unavailable', reason, version, result });
      throw new IdflowError('UNAVAILABLE', reason, outcome);
    }
    await this.store.sourceDeliveries.settle(name, delivery.id, { status: 'accepted', version, result });
    this.options.logger.info(
      { source: name, delivery: delivery.id, actor, events: outcome.events.length, users: outcome.users },
      'event source delivery accepted',
    );
    return outcome;
  }

  /** Settles a delivery as failed (its body, when kept, waits for a replay) and refuses the request with the reason. */
  private async fail(source: ActiveSource, id: string, code: 'INVALID' | 'MAPPING_FAILED', reason: string): Promise<never> {
    await this.store.sourceDeliveries.settle(source.name, id, { status: 'failed', reason, version: source.version });
    throw new IdflowError(code, reason, { delivery: id });
  }

  /** The outcome an accepted delivery recorded. */
  private outcomeOf(delivery: SourceDelivery): DeliveryOutcome {
    const result = (delivery.result ?? {}) as Partial<Pick<DeliveryOutcome, 'events' | 'users'>>;
    return {
      source: delivery.source,
      delivery: delivery.id,
      duplicate: false,
      events: result.events ?? [],
      users: result.users ?? { created: 0, updated: 0, deactivated: 0, unchanged: 0 },
    };
  }
}
