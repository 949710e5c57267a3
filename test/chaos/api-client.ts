/**
 * The chaos run's client of the API processes: HR imports, direct events and definitions, sent to
 * the APIs in turn and again to the other one while one is down (both routes are idempotent), with
 * the requests each API is answering counted, so the kill loop knows what a kill cuts off.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { SourceFile } from '../../definitions/types.js';
import type { Cluster } from './cluster.js';
import { importCsv, type Delivery } from './feed.js';

const API_RETRY_MS = 250;
const API_GIVE_UP_MS = 120_000;

/** Calls to the API processes, retried on the other API while one is down; counts requests in flight per API. */
export class ApiClient {
  readonly inFlight = new Map<string, number>();
  #next = 0;

  constructor(
    private readonly cluster: Cluster,
    private readonly token: string,
  ) {}

  /** Sends to the APIs in turn; a refused connection, a cut-off answer or a 5xx is sent again (the routes are idempotent). */
  async request(method: string, path: string, body: string, contentType: string): Promise<unknown> {
    const deadline = Date.now() + API_GIVE_UP_MS;
    for (;;) {
      const api = this.cluster.apis[this.#next++ % this.cluster.apis.length];
      this.inFlight.set(api.name, (this.inFlight.get(api.name) ?? 0) + 1);
      try {
        const response = await fetch(`${api.url}${path}`, {
          method,
          body,
          headers: { authorization: `Bearer ${this.token}`, 'content-type': contentType },
        });
        const text = await response.text();
        if (response.status < 500) {
          if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
          return JSON.parse(text) as unknown;
        }
        if (Date.now() > deadline) throw new Error(`${method} ${path} answered ${response.status}: ${text}`);
      } catch (error) {
        if (!(error instanceof TypeError) || Date.now() > deadline) throw error; // fetch's TypeError: the connection failed
      } finally {
        this.inFlight.set(api.name, (this.inFlight.get(api.name) ?? 1) - 1);
      }
      await sleep(API_RETRY_MS);
    }
  }

  apply(files: SourceFile[]): Promise<unknown> {
    return this.request(
      'POST',
      '/v1/apply',
      JSON.stringify({ files: files.map((f) => ({ path: f.path, content: f.content })), dryRun: false }),
      'application/json',
    );
  }

  importFeed(csv: string, source: string): Promise<unknown> {
    return this.request('POST', `/v1/directory/import?source=${source}&file=${source}.csv`, csv, 'text/csv');
  }

  deliver(delivery: Delivery, index: number): Promise<unknown> {
    if (delivery.kind === 'import') return this.importFeed(importCsv(delivery.changes), `chaos-${index}`);
    const { person, eventId, revoke } = delivery.change;
    const event = { id: eventId, type: 'review.completed', data: { user: { id: person.id, email: person.email }, revoke } };
    return this.request('POST', '/v1/events', JSON.stringify(event), 'application/json');
  }
}
