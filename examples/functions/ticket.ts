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

/** Base64 of UTF-8 text (btoa alone takes Latin-1 only). */
const base64 = (text: string): string => btoa(String.fromCharCode(...new TextEncoder().encode(text)));

export default async function (input: Input, ctx: FunctionContext) {
  const user = ctx.getConfig('TICKETS_USER');
  const password = ctx.getConfig('TICKETS_PASSWORD');
  if (!user || !password)
    throw new Error('secrets TICKETS_USER and TICKETS_PASSWORD must be set: idflow secret set ticket TICKETS_USER (and TICKETS_PASSWORD)');
  const base = ctx.getConfig('TICKETS_URL') ?? 'https://acme.service-now.com';
  const response = await ctx.fetch(`${base}/api/now/table/incident`, {
    method: 'POST',
    headers: { authorization: `Basic ${base64(`${user}:${password}`)}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({
      short_description: input.summary,
      description: input.description ?? '',
      assignment_group: input.assignmentGroup ?? 'IT Service Desk',
      priority: String(input.priority ?? 4),
    }),
  });
  if (!response.ok) throw new Error(`the ticketing system refused the ticket: ${response.status} ${await response.text()}`);
  const { result } = (await response.json()) as { result: { number: string; sys_id: string } };
  ctx.log(`opened ${result.number}`);
  return { number: result.number, id: result.sys_id, url: `${base}/nav_to.do?uri=incident.do?sys_id=${result.sys_id}` };
}
