/**
 * Dev-mode routes (idflow dev only): the webhook sink, a Slack-Web-API-compatible endpoint for
 * the send_slack step, and the outbox they fill. The sink and the Slack endpoint take requests
 * as the real services would: without an idflow token.
 */
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DevOutbox } from '../../engine/dev-outbox.js';
import type { Engine } from '../../engine/types.js';

/** The channels the dev Slack knows; send_slack to any other name fails as real Slack would. */
export const DEV_SLACK_CHANNELS = ['general', 'random', 'new-employees', 'it-ops', 'security', 'hr', 'engineering'].map((name, index) => ({
  id: `C0DEV${String(index + 1).padStart(4, '0')}`,
  name,
}));

export const outboxRoutes: FastifyPluginAsyncZod<{ engine: Engine; outbox: DevOutbox }> = async (app, { outbox }) => {
  // The Slack SDK posts form-encoded bodies; JSON-valued fields (blocks) arrive as strings.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(body as string)));
  });

  app.post('/v1/dev/sink/:name', { schema: { params: z.object({ name: z.string() }) } }, async (request) => {
    outbox.add({ channel: 'webhook', to: request.params.name, signed: Boolean(request.headers['webhook-signature']), body: request.body });
    return { received: true };
  });

  app.post('/v1/dev/slack/api/:method', { schema: { params: z.object({ method: z.string() }) } }, async (request) => {
    const body = (request.body ?? {}) as Record<string, string>;
    switch (request.params.method) {
      case 'auth.test':
        return { ok: true, user: 'idflow-dev', team: 'idflow dev' };
      case 'conversations.list':
        return { ok: true, channels: DEV_SLACK_CHANNELS, response_metadata: { next_cursor: '' } };
      case 'chat.postMessage': {
        const channel = DEV_SLACK_CHANNELS.find((known) => known.id === body.channel);
        if (!channel) return { ok: false, error: 'channel_not_found' };
        const blocks = typeof body.blocks === 'string' ? (JSON.parse(body.blocks) as unknown) : body.blocks;
        outbox.add({ channel: 'slack', to: `#${channel.name}`, body: { text: body.text, blocks, thread: body.thread_ts } });
        return { ok: true, channel: channel.id, ts: `${(Date.now() / 1000).toFixed(6)}` };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  });

  app.get('/v1/outbox', async () => ({ items: outbox.list() }));
};
