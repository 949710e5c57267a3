/**
 * The Slack integration's contract (workflow-safe: send_slack imports it): a message, where it was
 * posted, and the service the step calls. Its adapter is the Slack Web API.
 */
import type { JsonValue } from '../../core/json.js';
import { integrationKey } from '../types.js';

export interface SlackMessage {
  /** "#name", "name" or a channel id. */
  channel: string;
  text: string;
  blocks?: JsonValue[];
  /** ts of the parent message, to reply in its thread. */
  thread?: string;
}

export interface PostedSlackMessage {
  /** The channel id. */
  channel: string;
  ts: string;
}

/** Throws StepErrors that say whether a retry can help and how to fix the rest. */
export interface SlackService {
  postMessage(message: SlackMessage): Promise<PostedSlackMessage>;
  /** A Slack user's email (users.info; needs the users:read.email scope), for approvals decided in Slack. */
  userEmail(userId: string): Promise<string | undefined>;
}

export const slack = integrationKey<SlackService>('slack');
