/**
 * `send_slack`: post a message to a Slack channel, at most once per run. Values templated into
 * mrkdwn (the message, mrkdwn text objects of blocks) are escaped, so `<!channel>` or
 * `<https://...|click>` from data stay text while the author's own stay live.
 */
import { z } from 'zod';
import type { EscapeSelector } from '../cel/template.js';
import { slack } from '../integrations/slack/types.js';
import { defineActivityStep } from './types.js';

const schema = z
  .object({
    channel: z.string().min(1).describe('"#new-employees", a channel name, or a channel id.'),
    message: z.string().min(1).max(40_000).describe('The text (Slack mrkdwn); also the notification text when blocks are given.'),
    blocks: z.array(z.record(z.string(), z.json())).optional().describe('Block Kit JSON.'),
    thread: z.string().optional().describe('ts of a message to reply to in its thread.'),
  })
  .strict();

const SLACK_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;' };

/** A templated value as literal mrkdwn text: Slack's own three escapes (its `<...>` marks mentions and links). */
export function slackText(text: string): string {
  return text.replace(/[&<>]/g, (char) => SLACK_ESCAPES[char]);
}

/** The message, and the `text` of every `{ type: mrkdwn }` object in the blocks (plain_text and rich text are not parsed). */
const escapeFor: EscapeSelector = (path, container) => {
  if (path.length === 1 && path[0] === 'message') return slackText;
  const inMrkdwnObject = container !== undefined && !Array.isArray(container) && container.type === 'mrkdwn';
  return path[0] === 'blocks' && path.at(-1) === 'text' && inMrkdwnObject ? slackText : undefined;
};

export const sendSlackStep = defineActivityStep({
  type: 'send_slack',
  description: 'Post a message to a Slack channel (names resolved to ids), retried after rate limits, at most once per run.',
  runsIn: 'activity',
  scopes: [],
  with: schema,
  escapeFor,
  integrations: [slack],
  defaults: { timeout: '30s', retry: { maximumAttempts: 8, initialInterval: '2s', backoffCoefficient: 2, maximumInterval: '5m' } },
  async plan(input) {
    return {
      effects: [{ kind: 'slack', channel: input.channel, text: input.message }],
      unknownReason: "the message's Slack id (ts) is known only once it is posted",
    };
  },
  async run(input, services) {
    return services.once(async () => {
      const posted = await services
        .integration(slack)
        .postMessage({ channel: input.channel, text: input.message, blocks: input.blocks, thread: input.thread });
      return { channel: posted.channel, ts: posted.ts };
    });
  },
});
