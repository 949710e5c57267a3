/**
 * The Slack integration's adapter: @slack/web-api with SLACK_BOT_TOKEN; SLACK_API_URL
 * overrides the API base (tests, proxies, the dev outbox). Rate limits become Temporal retries
 * after Retry-After (never a sleep here); errors a retry cannot fix say how to fix them.
 */
import { ErrorCode, LogLevel, WebClient, type Block, type KnownBlock, type WebAPICallError } from '@slack/web-api';
import { StepError } from '../../core/step-error.js';
import { defineAdapter, type AdapterContext } from '../types.js';
import { slack, type SlackService } from './types.js';

/** Platform errors no retry fixes, with what to do about each. */
const FIXES: Record<string, string> = {
  channel_not_found: 'check the channel name or id; for a private channel, invite the bot first',
  not_in_channel: 'invite the bot to the channel (/invite @your-bot)',
  is_archived: 'the channel is archived: unarchive it or post elsewhere',
  invalid_auth: 'SLACK_BOT_TOKEN is not a valid token: copy the Bot User OAuth Token (xoxb-...) again',
  not_authed: 'set SLACK_BOT_TOKEN for the worker',
  account_inactive: 'the token belongs to a deleted user or an uninstalled app: reinstall the app and update SLACK_BOT_TOKEN',
  token_revoked: 'the token was revoked: reinstall the app and update SLACK_BOT_TOKEN',
  missing_scope: 'add the chat:write and channels:read scopes to the Slack app and reinstall it',
  msg_too_long: 'shorten the message (Slack allows 40,000 characters)',
  invalid_blocks: 'the blocks are not valid Block Kit JSON: check them in the Block Kit Builder',
};
/** Platform errors that are Slack's passing trouble. */
const TRANSIENT = new Set(['ratelimited', 'internal_error', 'fatal_error', 'service_unavailable', 'request_timeout']);
const CHANNEL_ID = /^[CGD][A-Z0-9]{6,}$/;
const CHANNEL_CACHE_MS = 5 * 60_000;

interface SlackSettings {
  token: string;
  apiUrl?: string;
}

function slackSettingsFromEnv(env: AdapterContext['env']): SlackSettings | undefined {
  return env.SLACK_BOT_TOKEN ? { token: env.SLACK_BOT_TOKEN, apiUrl: env.SLACK_API_URL || undefined } : undefined;
}

function classify(error: unknown, token: string): StepError {
  const scrub = (text: string): string => text.split(token).join('[REDACTED]');
  const coded = error as WebAPICallError;
  switch (coded.code) {
    case ErrorCode.RateLimitedError:
      return new StepError('SLACK_RATE_LIMITED', `Slack rate-limited the call; retrying after ${coded.retryAfter} s`, {
        retryable: true,
        retryAfterMs: coded.retryAfter * 1000,
      });
    case ErrorCode.PlatformError: {
      const slackError = String(coded.data.error);
      if (TRANSIENT.has(slackError)) return new StepError('SLACK_UNAVAILABLE', `Slack answered ${slackError}`, { retryable: true });
      const fix = FIXES[slackError];
      return new StepError(`SLACK_${slackError.toUpperCase()}`, `Slack answered ${slackError}${fix ? `: ${fix}` : ''}`, {
        retryable: false,
      });
    }
    case ErrorCode.HTTPError:
      return new StepError('SLACK_HTTP_ERROR', `Slack answered HTTP ${coded.statusCode}`, {
        retryable: coded.statusCode >= 500 || coded.statusCode === 429,
      });
    default:
      return new StepError(
        'SLACK_UNAVAILABLE',
        `Slack could not be reached: ${scrub(error instanceof Error ? error.message : String(error))}`,
        { retryable: true },
      );
  }
}

function createSlackPoster(settings: SlackSettings | undefined): SlackService {
  if (!settings) {
    const notConfigured = async (): Promise<never> => {
      throw new StepError(
        'SLACK_NOT_CONFIGURED',
        'Slack is not configured: set SLACK_BOT_TOKEN for the worker; `idflow dev` runs a local outbox',
        {
          retryable: false,
        },
      );
    };
    return { postMessage: notConfigured, userEmail: notConfigured };
  }
  const client = new WebClient(settings.token, {
    slackApiUrl: settings.apiUrl,
    retryConfig: { retries: 0 }, // Temporal retries, with backoff and a record of each attempt
    rejectRateLimitedCalls: true,
    logLevel: LogLevel.ERROR,
  });
  const channels = new Map<string, { id: string; until: number }>();

  async function channelId(channel: string): Promise<string> {
    const name = channel.replace(/^#/, '');
    if (CHANNEL_ID.test(name)) return name;
    const cached = channels.get(name);
    if (cached && cached.until > Date.now()) return cached.id;
    let cursor: string | undefined;
    do {
      const page = await client.conversations.list({
        types: 'public_channel,private_channel',
        exclude_archived: true,
        limit: 1000,
        cursor,
      });
      for (const found of page.channels ?? []) {
        if (found.name && found.id) channels.set(found.name, { id: found.id, until: Date.now() + CHANNEL_CACHE_MS });
      }
      cursor = page.response_metadata?.next_cursor || undefined;
    } while (cursor && !channels.has(name));
    const resolved = channels.get(name);
    if (!resolved)
      throw new StepError(
        'SLACK_CHANNEL_NOT_FOUND',
        `Slack has no channel named "#${name}" that the bot can see: ${FIXES.channel_not_found}`,
        { retryable: false },
      );
    return resolved.id;
  }

  return {
    async postMessage(message) {
      try {
        const channel = await channelId(message.channel);
        const posted = await client.chat.postMessage({
          channel,
          text: message.text,
          // Block Kit JSON is validated by Slack itself (invalid_blocks names the problem).
          blocks: message.blocks as (Block | KnownBlock)[] | undefined,
          thread_ts: message.thread,
        });
        return { channel: posted.channel ?? channel, ts: posted.ts ?? '' };
      } catch (error) {
        throw error instanceof StepError ? error : classify(error, settings.token);
      }
    },
    async userEmail(userId) {
      try {
        const found = await client.users.info({ user: userId });
        return found.user?.profile?.email?.toLowerCase() || undefined;
      } catch (error) {
        throw classify(error, settings.token);
      }
    },
  };
}

/** One client per worker (its channel-name cache with it), from the worker's environment. */
export default defineAdapter(slack, ({ env }) => createSlackPoster(slackSettingsFromEnv(env)));
