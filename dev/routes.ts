/**
 * Dev-mode routes (idflow dev only): the webhook sink, a Slack-Web-API-compatible endpoint for
 * the send_slack step, and the outbox they fill. The sink and the Slack endpoint take requests
 * as the real services would, without an idflow token, and so answer loopback clients only.
 */
import type { FastifyRequest } from 'fastify';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { DevOutbox } from './outbox.js';
import { ApiError } from '../api/errors.js';
import { DEV_ROUTES } from '../api/scopes.js';

/** Whether a peer address is this machine: 127.0.0.0/8 or ::1, also as IPv4-mapped IPv6. */
export function isLoopbackAddress(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || /^(::ffff:)?127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/i.test(address);
}

/** The socket's peer, never a forwarded-for header: a proxy in front would not make a client local. */
async function loopbackOnly(request: FastifyRequest): Promise<void> {
  if (!isLoopbackAddress(request.socket.remoteAddress)) {
    throw new ApiError(
      'FORBIDDEN',
      `${request.method} ${request.routeOptions.url} is a dev route (no token) and answers loopback clients only`,
    );
  }
}

/** The channels the dev Slack knows; send_slack to any other name fails as real Slack would. */
export const DEV_SLACK_CHANNELS = ['general', 'random', 'new-employees', 'it-ops', 'security', 'hr', 'engineering'].map((name, index) => ({
  id: `C0DEV${String(index + 1).padStart(4, '0')}`,
  name,
}));

/** The dev routes over `outbox`, for buildApiServer's `routes` (idflow dev mounts them). */
export const devRoutes =
  (outbox: DevOutbox): FastifyPluginAsyncZod =>
  async (app) => {
    // The Slack SDK posts form-encoded bodies; JSON-valued fields (blocks) arrive as strings.
    app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    });

    // onRequest: refused before the body is read.
    app.post(DEV_ROUTES.sink.url, { onRequest: loopbackOnly, schema: { params: z.object({ name: z.string() }) } }, async (request) => {
      outbox.add({
        channel: 'webhook',
        to: request.params.name,
        signed: Boolean(request.headers['webhook-signature']),
        body: request.body,
      });
      return { received: true };
    });

    app.post(DEV_ROUTES.slack.url, { onRequest: loopbackOnly, schema: { params: z.object({ method: z.string() }) } }, async (request) => {
      const body = (request.body ?? {}) as Record<string, string>;
      switch (request.params.method) {
        case 'auth.test':
          return { ok: true, user: 'idflow-dev', team: 'idflow dev' };
        case 'conversations.list':
          return { ok: true, channels: DEV_SLACK_CHANNELS, response_metadata: { next_cursor: '' } };
        case 'chat.postMessage': {
          const channel = DEV_SLACK_CHANNELS.find((known) => known.id === body.channel);
          if (!channel) return { ok: false, error: 'channel_not_found' };
          let blocks: unknown = body.blocks;
          try {
            if (typeof blocks === 'string') blocks = JSON.parse(blocks);
          } catch {
            return { ok: false, error: 'invalid_blocks' };
          }
          outbox.add({ channel: 'slack', to: `#${channel.name}`, body: { text: body.text, blocks, thread: body.thread_ts } });
          return { ok: true, channel: channel.id, ts: `${(Date.now() / 1000).toFixed(6)}` };
        }
        default:
          return { ok: false, error: 'unknown_method' };
      }
    });

    app.get(DEV_ROUTES.outbox.url, async () => ({ items: outbox.list() }));
  };
