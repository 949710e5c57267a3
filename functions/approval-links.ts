/**
 * Approvers' links: `<approval id, round, approver index>` and an HMAC-SHA256 over those, the
 * approver's email and the expiry, under a key
 * derived (HKDF) from the master key that seals secrets (functions/secrets.ts), so the worker that
 * mails a link and the API that honours it agree without storing anything, and the key itself
 * never leaves the process. The link is the credential: it names one approver of one request and
 * stops working at the request's expiry; the workflow makes it single-use (a decided approver
 * cannot decide again).
 */
import { createHmac, hkdfSync, timingSafeEqual } from 'node:crypto';
import { loadMasterKey, type MasterKeySource } from './secrets.js';

/** What a link stands for: the approver at `index` of round `round` of a request, until its expiry. */
export interface ApprovalLinkClaims {
  approvalId: string;
  round: number;
  index: number;
  /** The approver's email, lower case (signed, not carried: the request's record has it). */
  approver: string;
  /** The request's expiry (signed, not carried). */
  expiresAt: string;
}

/** What a link carries: short enough for a URL path segment (Fastify's 100-character parameter limit). */
export type ApprovalLinkToken = Pick<ApprovalLinkClaims, 'approvalId' | 'round' | 'index'> & { mac: string };

/** The longest token a route accepts. */
export const MAX_LINK_TOKEN_LENGTH = 100;
const TOKEN = /^([0-9a-f-]{36})\.(\d{1,2})\.(\d{1,3})\.([A-Za-z0-9_-]{43})$/;

export class ApprovalLinks {
  private cachedKey: Buffer | undefined;

  constructor(private readonly source: MasterKeySource) {}

  sign(claims: ApprovalLinkClaims): string {
    return `${claims.approvalId}.${claims.round}.${claims.index}.${this.mac(claims)}`;
  }

  /** The token's parts, or undefined when it is not one idflow makes. */
  parse(token: string): ApprovalLinkToken | undefined {
    const match = TOKEN.exec(token);
    return match ? { approvalId: match[1], round: Number(match[2]), index: Number(match[3]), mac: match[4] } : undefined;
  }

  /** Whether the token was signed for these claims (the request's record supplies approver and expiry). */
  holds(token: ApprovalLinkToken, claims: ApprovalLinkClaims): boolean {
    const expected = Buffer.from(this.mac(claims), 'utf8');
    const given = Buffer.from(token.mac, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private mac(claims: ApprovalLinkClaims): string {
    const text = [claims.approvalId, claims.round, claims.index, claims.approver, claims.expiresAt].join('\n');
    return createHmac('sha256', this.key()).update(text).digest('base64url');
  }
  /** Derived once; the master key file is created if this is its first use (a second process racing reads the winner's). */
  private key(): Buffer {
    if (!this.cachedKey) {
      let master: Buffer;
      try {
        master = loadMasterKey(this.source, { create: true });
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        master = loadMasterKey(this.source);
      }
      this.cachedKey = Buffer.from(hkdfSync('sha256', master, Buffer.alloc(0), 'idflow approval links v1', 32));
    }
    return this.cachedKey;
  }
}
