/**
 * `send_email`: a Markdown message, rendered to HTML with a plain-text alternative, over SMTP.
 * The Message-ID comes from run + step, and a message the server accepted is never sent again
 * by a retry of the step. Values templated into the message are escaped as Markdown text, and
 * links and images keep only web and mail addresses.
 */
import { Marked } from 'marked';
import { z } from 'zod';
import { mail } from '../integrations/mail/types.js';
import { defineActivityStep, type StepServices } from './types.js';

const address = z
  .string()
  .trim()
  .regex(/^[^\s@<>]+@[^\s@<>]+\.[^\s@<>]+$/, 'expected an email address such as ada@example.com');
const recipients = z
  .union([address, z.array(address).min(1)])
  .transform((value) => (Array.isArray(value) ? value : [value]))
  .describe('An address or a list of addresses; templates such as "{{ ctx.trigger.newUser.manager }}".');

const schema = z
  .object({
    to: recipients,
    cc: recipients.optional(),
    bcc: recipients.optional(),
    replyTo: address.optional(),
    title: z.string().optional().describe('A heading at the top of the message.'),
    subject: z.string().min(1).max(998),
    message: z.string().describe('Markdown; rendered to HTML with a plain-text alternative.'),
  })
  .strict();

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Text as HTML: the five characters that could open markup escaped. */
export const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (char) => ESCAPES[char]);

/** ASCII punctuation: CommonMark lets a backslash make any of it literal. */
const PUNCTUATION = '!-/:-@[-`{-~';

/**
 * A templated value as literal Markdown text: every punctuation character backslash-escaped (no
 * link, image, emphasis, heading, list or raw HTML can start), a line break a hard line break (no
 * new block can start).
 */
export function markdownText(text: string): string {
  return text.replace(new RegExp(`[${PUNCTUATION}]`, 'g'), '\\$&').replace(/\r\n?|\n/g, '\\\n');
}

/** Backslash escapes resolved: the text as it reads, for the plain-text part and code. */
function resolveEscapes(markdownSource: string): string {
  return markdownSource.replace(new RegExp(`\\\\([${PUNCTUATION}]|\n)`, 'g'), '$1');
}

const LINK_SCHEMES = /^(https?:\/\/|mailto:)/i;
const IMAGE_SCHEMES = /^https?:\/\//i;

/**
 * Markdown for email: raw HTML shown as text, links only to web and mail addresses (others keep
 * their text), images only from the web (others show their alt text). Code shows templated values
 * as they read: backslashes are literal in Markdown code, so their escapes are resolved there.
 */
const markdown = new Marked({
  async: false,
  renderer: {
    html: (token) => escapeHtml(token.text),
    link(token) {
      return LINK_SCHEMES.test(token.href) ? false : this.parser.parseInline(token.tokens);
    },
    image: (token) => (IMAGE_SCHEMES.test(token.href) ? false : escapeHtml(token.text)),
    codespan: (token) => `<code>${escapeHtml(resolveEscapes(token.text))}</code>`,
    code: (token) => `<pre><code>${escapeHtml(resolveEscapes(token.text))}\n</code></pre>\n`,
  },
});

/** `message` is Markdown whose templated values arrive escaped by markdownText (see escapeFor). */
export function renderEmail(input: { title?: string; message: string }): { html: string; text: string } {
  const heading = input.title ? `<h1>${escapeHtml(input.title)}</h1>\n` : '';
  const body = markdown.parse(input.message) as string;
  const text = resolveEscapes(input.message);
  return {
    html: `<!doctype html>\n<html><body style="font-family: sans-serif; line-height: 1.5">\n${heading}${body}</body></html>\n`,
    text: input.title ? `${input.title}\n\n${text}\n` : `${text}\n`,
  };
}

function messageId(services: StepServices): string {
  return `<${services.run.idempotencyKey.replace(/[^A-Za-z0-9._-]/g, '.')}@idflow>`;
}

export const sendEmailStep = defineActivityStep({
  type: 'send_email',
  description: 'Send an email (Markdown rendered to HTML with a plain-text alternative) over SMTP, at most once per run.',
  runsIn: 'activity',
  scopes: [],
  with: schema,
  escapeFor: (path) => (path.length === 1 && path[0] === 'message' ? markdownText : undefined),
  integrations: [mail],
  defaults: { timeout: '1m', retry: { maximumAttempts: 8, initialInterval: '5s', backoffCoefficient: 2, maximumInterval: '5m' } },
  async plan(input) {
    const { text } = renderEmail(input);
    return {
      effects: [{ kind: 'email', to: input.to, cc: input.cc ?? [], bcc: input.bcc ?? [], subject: input.subject, text }],
      unknownReason: "the mail server's answer is known only once it is sent",
    };
  },
  async run(input, services) {
    const { html, text } = renderEmail(input);
    return services.once(async () => {
      const sent = await services.integration(mail).send({
        messageId: messageId(services),
        to: input.to,
        cc: input.cc ?? [],
        bcc: input.bcc ?? [],
        replyTo: input.replyTo,
        subject: input.subject,
        html,
        text,
      });
      return { messageId: sent.messageId, accepted: sent.accepted, rejected: sent.rejected };
    });
  },
});
