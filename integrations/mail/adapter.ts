/**
 * The mail integration's adapter, SMTP: nodemailer, configured by SMTP_URL
 * (smtp://user:pass@host:587, smtps://...) or SMTP_HOST / SMTP_PORT / SMTP_USER / SMTP_PASSWORD /
 * SMTP_SECURE, and EMAIL_FROM. Credentials never reach errors, logs or run records.
 */
import nodemailer, { type Transporter } from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport/index.js';
import { StepError } from '../../core/step-error.js';
import { defineAdapter, type AdapterContext } from '../types.js';
import { mail, type MailService } from './types.js';

export interface MailSettings {
  transport: SMTPTransport.Options;
  from: string;
  /** Values to scrub from any message that leaves this module. */
  secrets: string[];
}

const DEFAULT_FROM = 'idflow <idflow@localhost>';

/** The SMTP settings in the environment, or undefined when email is not configured. */
export function mailSettingsFromEnv(env: AdapterContext['env']): MailSettings | undefined {
  const from = env.EMAIL_FROM || DEFAULT_FROM;
  if (env.SMTP_URL) {
    const url = new URL(env.SMTP_URL);
    const password = decodeURIComponent(url.password);
    return {
      transport: {
        host: url.hostname,
        port: url.port ? Number(url.port) : url.protocol === 'smtps:' ? 465 : 587,
        secure: url.protocol === 'smtps:',
        auth: url.username ? { user: decodeURIComponent(url.username), pass: password } : undefined,
      },
      from,
      secrets: [password, env.SMTP_URL].filter(Boolean),
    };
  }
  if (env.SMTP_HOST) {
    return {
      transport: {
        host: env.SMTP_HOST,
        port: Number(env.SMTP_PORT || 587),
        secure: env.SMTP_SECURE === 'true',
        auth: env.SMTP_USER ? { user: env.SMTP_USER, pass: env.SMTP_PASSWORD ?? '' } : undefined,
      },
      from,
      secrets: [env.SMTP_PASSWORD ?? ''].filter(Boolean),
    };
  }
  return undefined;
}

interface SmtpError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  rejected?: string[];
}

const NETWORK_CODES = new Set(['ECONNECTION', 'ETIMEDOUT', 'ESOCKET', 'EDNS', 'ECONNREFUSED', 'ECONNRESET']);

/** Retryable: network trouble and 4xx replies (421, 450, 451, 452); not: 5xx, auth, all recipients rejected. */
function classify(error: SmtpError, scrub: (text: string) => string): StepError {
  const reply = scrub(error.response ?? error.message);
  if (error.code === 'EAUTH') {
    return new StepError('SMTP_AUTH_FAILED', `the SMTP server refused the credentials in SMTP_URL: ${reply}`, { retryable: false });
  }
  if (error.code === 'EENVELOPE' && error.responseCode !== undefined && error.responseCode < 500) {
    return new StepError('SMTP_TEMPORARY_FAILURE', `the SMTP server deferred the message: ${reply}`, { retryable: true });
  }
  if (error.code === 'EENVELOPE') {
    return new StepError('EMAIL_REJECTED', `every recipient was rejected: ${reply}`, { retryable: false });
  }
  if (error.responseCode !== undefined) {
    const retryable = error.responseCode < 500;
    return new StepError(retryable ? 'SMTP_TEMPORARY_FAILURE' : 'SMTP_PERMANENT_FAILURE', `the SMTP server answered ${reply}`, {
      retryable,
    });
  }
  if (error.code && NETWORK_CODES.has(error.code)) {
    return new StepError('SMTP_UNAVAILABLE', `the SMTP server could not be reached: ${scrub(error.message)}`, { retryable: true });
  }
  return new StepError('SMTP_ERROR', scrub(error.message), { retryable: true });
}

export function createMailer(settings: MailSettings | undefined): MailService {
  if (!settings) {
    return {
      send: async () => {
        throw new StepError(
          'EMAIL_NOT_CONFIGURED',
          'email is not configured: set SMTP_URL (and EMAIL_FROM) for the worker; `idflow dev` runs a local outbox',
          { retryable: false },
        );
      },
    };
  }
  const scrub = (text: string): string => settings.secrets.reduce((scrubbed, secret) => scrubbed.split(secret).join('[REDACTED]'), text);
  const transporter: Transporter<SMTPTransport.SentMessageInfo> = nodemailer.createTransport({
    ...settings.transport,
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 30_000,
  });
  return {
    async send(message) {
      try {
        const info = await transporter.sendMail({
          from: settings.from,
          messageId: message.messageId,
          to: message.to,
          cc: message.cc,
          bcc: message.bcc,
          replyTo: message.replyTo,
          subject: message.subject,
          html: message.html,
          text: message.text,
        });
        const addresses = (list: SMTPTransport.SentMessageInfo['accepted']) =>
          list.map((entry) => (typeof entry === 'string' ? entry : entry.address));
        return { messageId: info.messageId, accepted: addresses(info.accepted), rejected: addresses(info.rejected) };
      } catch (error) {
        throw classify(error as SmtpError, scrub);
      }
    },
  };
}

/** One transport per worker, from the worker's environment. */
export default defineAdapter(mail, ({ env }) => createMailer(mailSettingsFromEnv(env)));
