/**
 * Writes what IT created back to the HR system of record: the work email and username of a new
 * hire (PATCH /api/v1/employees/{employeeId}, the shape of BambooHR/Workday-style REST APIs).
 * Secrets: HR_TOKEN; HR_URL is the HR system's base URL (https://hr.acme.example by default).
 */
import type { FunctionContext } from '../../functions/sdk.js';

interface Input {
  employeeId: string;
  workEmail: string;
  username: string;
}

export default async function (input: Input, ctx: FunctionContext) {
  const token = ctx.getConfig('HR_TOKEN');
  if (!token) throw new Error('secret HR_TOKEN is not set: idflow secret set hr-writeback HR_TOKEN');
  const base = ctx.getConfig('HR_URL') ?? 'https://hr.acme.example';
  const response = await ctx.fetch(`${base}/api/v1/employees/${encodeURIComponent(input.employeeId)}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', accept: 'application/json' },
    body: JSON.stringify({ workEmail: input.workEmail, username: input.username }),
  });
  if (response.status === 404) throw new Error(`employee ${input.employeeId} is not in the HR system`);
  if (!response.ok) throw new Error(`the HR system refused the update of ${input.employeeId}: ${response.status} ${await response.text()}`);
  const employee = (await response.json()) as { id: string; workEmail: string; username: string; updatedAt: string };
  ctx.log(`employee ${employee.id} now has ${employee.workEmail} / ${employee.username}`);
  return { employeeId: employee.id, workEmail: employee.workEmail, username: employee.username, updatedAt: employee.updatedAt };
}
