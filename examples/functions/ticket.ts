/**
 * Opens a ticket for the work people must do by hand (a laptop to ship, a badge to disable):
 * POST /api/now/table/incident on a ServiceNow-style API. Secrets: TICKETS_USER and
 * TICKETS_PASSWORD (basic auth); TICKETS_URL is the instance (https://acme.service-now.com by default).
 */
import type { FunctionContext } from '../../functions/sdk.js';

interface Input {
  summary: string;
  description?: string;
  assignmentGroup?: string;
  /** 1 (critical) to 5 (planning). */
  priority?: number;
}

/** Base64 of UTF-8 text, from JavaScript built-ins only (the sandbox has no Buffer, btoa or TextEncoder). */
function base64(text: string): string {
  const bytes = unescape(encodeURIComponent(text));
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  let out = '';
  for (let i = 0; i < bytes.length; i += 3) {
    const chunk = (bytes.charCodeAt(i) << 16) | ((bytes.charCodeAt(i + 1) || 0) << 8) | (bytes.charCodeAt(i + 2) || 0);
    out += alphabet[(chunk >> 18) & 63] + alphabet[(chunk >> 12) & 63];
    out += i + 1 < bytes.length ? alphabet[(chunk >> 6) & 63] : '=';
    out += i + 2 < bytes.length ? alphabet[chunk & 63] : '=';
  }
  return out;
}

export default async function (input: Input, ctx: FunctionContext) {
  const user = ctx.getConfig('TICKETS_USER');
  const password = ctx.getConfig('TICKETS_PASSWORD');
  if (!user || !password) throw new Error('secrets TICKETS_USER and TICKETS_PASSWORD must be set: idflow secret set ticket TICKETS_USER (and TICKETS_PASSWORD)');
  const base = ctx.getConfig('TICKETS_URL') ?? 'https://acme.service-now.com';
  const response = await ctx.fetch(`${base}/api/now/table/incident`, {
    method: 'POST',
    headers: { authorization: `Basic ${base64(`${user}:${password}`)}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ short_description: input.summary, description: input.description ?? '', assignment_group: input.assignmentGroup ?? 'IT Service Desk', priority: String(input.priority ?? 4) }),
  });
  if (!response.ok) throw new Error(`the ticketing system refused the ticket: ${response.status} ${await response.text()}`);
  const { result } = (await response.json()) as { result: { number: string; sys_id: string } };
  ctx.log(`opened ${result.number}`);
  return { number: result.number, id: result.sys_id, url: `${base}/nav_to.do?uri=incident.do?sys_id=${result.sys_id}` };
}
