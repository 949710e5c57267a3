/**
 * The definitions of the chaos run: Acme's apps and the username function from examples/, the
 * example joiner, mover and leaver automations extended with an email, a Slack message and a
 * signed webhook, and an automation for access reviews sent as direct events.
 *
 * Every step gets a 30 s timeout: an attempt on a SIGKILLed worker is retried when it times out,
 * and the examples' defaults (up to 16 minutes) would make each kill cost minutes. 10 s was too
 * short on a busy 2-core machine: governance steps waiting for PostgreSQL's directory write lock
 * timed out and were retried by the hundred. The username function gets 30 s instead of 5 s for
 * the same reason: its TIMEOUT is not retried, and CPU starvation failed joiners with it (a
 * finding of this test, not what it probes).
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'yaml';
import { collectDefinitionFiles } from '../../definitions/files.js';
import type { SourceFile } from '../../definitions/types.js';
import { reviewText, welcomeText } from './feed.js';
import { SLACK_CHANNEL } from './sinks.js';

/** The worker's environment variable holding the webhook's signing secret. */
export const WEBHOOK_SECRET_ENV = 'CHAOS_WEBHOOK_SECRET';

const example = (path: string): string => fileURLToPath(new URL(`../../examples/${path}`, import.meta.url));

interface Step {
  name: string;
  type: string;
  timeout?: string;
  retry?: { initialInterval: string };
  with?: Record<string, unknown>;
}
interface Automation {
  kind: 'Automation';
  name: string;
  steps: Step[];
}

const bounded = (step: Step): Step => ({ ...step, timeout: '30s', retry: { initialInterval: '200ms' } });

async function extended(file: string, extraSteps: Step[]): Promise<Automation> {
  const automation = parse(await readFile(example(file), 'utf8')) as Automation;
  return { ...automation, steps: [...automation.steps, ...extraSteps].map(bounded) };
}

const notifyIt = (event: string): Step => ({
  name: 'notify_it',
  type: 'run_webhook',
  with: { webhook: 'chaos-it', payload: { event, user: '{{ subject.id }}' } },
});

export async function chaosDefinitions(webhookUrl: string): Promise<SourceFile[]> {
  const [joiner, mover, leaver] = await Promise.all([
    extended('joiner-access.yaml', [
      {
        name: 'welcome_email',
        type: 'send_email',
        with: { to: '{{ subject.email }}', subject: 'Welcome, {{ subject.firstName }}', message: 'Your accounts are ready.' },
      },
      { name: 'welcome_slack', type: 'send_slack', with: { channel: `#${SLACK_CHANNEL.name}`, message: welcomeText('{{ subject.id }}') } },
    ]),
    extended('mover-access.yaml', [notifyIt('mover')]),
    extended('leaver-access.yaml', [
      notifyIt('leaver'),
      {
        name: 'tell_manager',
        type: 'send_email',
        with: { to: '{{ subject.manager }}', subject: '{{ subject.id }} has left', message: 'Their access was revoked.' },
      },
    ]),
  ]);
  const review: Automation = {
    kind: 'Automation',
    name: 'review-revocation',
    steps: [
      {
        name: 'revoke',
        type: 'revoke_entitlements',
        with: { user: '{{ subject.id }}', entitlements: ['{{ ctx.trigger.revoke }}'] },
      },
      {
        name: 'announce',
        type: 'send_slack',
        with: { channel: `#${SLACK_CHANNEL.name}`, message: reviewText('{{ subject.id }}', '{{ ctx.trigger.revoke }}') },
      },
    ].map(bounded),
  };
  const webhook = { kind: 'Webhook', name: 'chaos-it', url: webhookUrl, signingSecret: { env: WEBHOOK_SECRET_ENV }, timeout: '5s' };
  const chaos = [webhook, joiner, mover, leaver, { ...review, trigger: { type: 'review.completed' } }]
    .map((d) => stringify(d))
    .join('---\n');
  const username = (await collectDefinitionFiles([example('functions/username.yaml')])).map((file) =>
    file.path.endsWith('.yaml') ? { ...file, content: file.content.replace(/^timeout: .*$/m, 'timeout: 30s') } : file,
  );
  return [...username, { path: 'chaos-automations.yaml', content: chaos }];
}

/** Acme's apps, entitlements and the leaver-review campaign template. */
export const directoryDefinitions = (): Promise<SourceFile[]> => collectDefinitionFiles([example('directory/acme.yaml')]);
