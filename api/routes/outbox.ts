/**
 * The dev outbox: under `idflow dev` the example webhooks point at /v1/dev/sink/<name>, which
 * records what arrives, so a newcomer sees what the automations sent (`idflow outbox`).
 * In memory and only mounted in dev mode: the sink takes requests without a token, as a real
 * receiver would.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { Engine } from '../../engine/types.js';
import { requireScope } from '../auth.js';

export interface OutboxItem {
  id: number;
  at: string;
  channel: 'webhook';
  /** The sink name: the webhook's name in the examples. */
  to: string;
  /** Standard Webhooks headers, when the delivery was signed. */
  webhookId?: string;
  signed: boolean;
  body: unknown;
}

const MAX_ITEMS = 500;

export class DevOutbox {
  private readonly items: OutboxItem[] = [];
  private nextId = 1;

  add(item: Omit<OutboxItem, 'id' | 'at'>): OutboxItem {
    const stored = { id: this.nextId++, at: new Date().toISOString(), ...item };
    this.items.push(stored);
    if (this.items.length > MAX_ITEMS) this.items.shift();
    return stored;
  }

  list(): OutboxItem[] {
    return [...this.items].reverse();
  }
}

export const outboxRoutes: FastifyPluginAsyncZod<{ engine: Engine; outbox: DevOutbox }> = async (app, { engine, outbox }) => {
  app.post('/v1/dev/sink/:name', { schema: { params: z.object({ name: z.string() }) } }, async (request) => {
    const webhookId = request.headers['webhook-id'];
    outbox.add({ channel: 'webhook', to: request.params.name, webhookId: typeof webhookId === 'string' ? webhookId : undefined, signed: Boolean(request.headers['webhook-signature']), body: request.body });
    return { received: true };
  });

  app.get('/v1/outbox', { preHandler: requireScope(engine.store, 'runs:read') }, async () => ({ items: outbox.list() }));
};
