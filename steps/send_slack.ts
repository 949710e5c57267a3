/** `send_slack`: post a message to a Slack channel, at most once per run. */
import { z } from 'zod';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    channel: z.string().min(1).describe('"#new-employees", a channel name, or a channel id.'),
    message: z.string().min(1).max(40_000).describe('The text (Slack mrkdwn); also the notification text when blocks are given.'),
    blocks: z.array(z.record(z.string(), z.json())).optional().describe('Block Kit JSON.'),
    thread: z.string().optional().describe('ts of a message to reply to in its thread.'),
  })
  .strict();

export const sendSlackStep = defineActivityStep({
  type: 'send_slack',
  description: 'Post a message to a Slack channel (names resolved to ids), retried after rate limits, at most once per run.',
  runsIn: 'activity',
  with: schema,
  defaults: { timeout: '30s', retry: { maximumAttempts: 8, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' } },
  async run(input, services) {
    return services.once(async () => {
      const posted = await services.slack.postMessage({ channel: input.channel, text: input.message, blocks: input.blocks, thread: input.thread });
      return { channel: posted.channel, ts: posted.ts };
    });
  },
});
