/**
 * The mail integration's contract (workflow-safe: send_email imports it): an email ready for the
 * transport, what the server accepted, and the service the step calls. Its adapter is SMTP.
 */
import { integrationKey } from '../types.js';

/** An email ready for the transport: addresses resolved, Markdown already rendered. */
export interface OutgoingEmail {
  /** RFC 5322 Message-ID, derived from run + step so retries keep it. */
  messageId: string;
  to: string[];
  cc: string[];
  bcc: string[];
  replyTo?: string;
  subject: string;
  html: string;
  text: string;
}

export interface SentEmail {
  messageId: string;
  accepted: string[];
  rejected: string[];
}

/** Throws StepErrors that say whether a retry can help. */
export interface MailService {
  send(message: OutgoingEmail): Promise<SentEmail>;
}

export const mail = integrationKey<MailService>('mail');
