/** approvals list|show|approve|reject: the requests of request_approval steps, decided with the CLI's token. */
import type { Command } from 'commander';
import type { ApprovalRecord } from '../../store/types.js';
import { connect } from '../client.js';
import { printJson, type Output } from '../output.js';

function describe(approval: ApprovalRecord): string {
  const lines = [
    `${approval.id}  ${approval.state}  ${approval.automation} / ${approval.stepName}  (run ${approval.runId})`,
    `  quorum ${approval.quorum}, expires ${approval.expiresAt}${approval.round > 0 ? ', escalated' : ''}`,
    `  approvers: ${approval.approvers.map((approver) => approver.email).join(', ')}`,
    ...approval.decisions.map(
      (decision) =>
        `  ${decision.at}  ${decision.approver} ${decision.decision} via ${decision.via}${decision.comment ? `: ${decision.comment}` : ''}`,
    ),
  ];
  return lines.join('\n');
}

export function registerApprovalCommands(program: Command, output: Output): void {
  const approvals = program.command('approvals').description('Approval requests of request_approval steps');
  approvals
    .command('list')
    .option('--state <state>', 'pending, approved, rejected, timed_out, cancelled (its run ended while it waited)')
    .option('--json', 'machine-readable output')
    .action(async (options: { state?: string; json?: boolean }) => {
      const query = new URLSearchParams(options.state ? { state: options.state } : {});
      const { approvals: list } = await (await connect()).request<{ approvals: ApprovalRecord[] }>('GET', `/v1/approvals?${query}`);
      if (options.json) return printJson(output, list);
      if (list.length === 0) return output.out('no approval requests');
      for (const approval of list) output.out(describe(approval));
    });
  approvals
    .command('show')
    .argument('<id>')
    .option('--json', 'machine-readable output')
    .action(async (id: string, options: { json?: boolean }) => {
      const approval = await (await connect()).request<ApprovalRecord>('GET', `/v1/approvals/${encodeURIComponent(id)}`);
      if (options.json) return printJson(output, approval);
      output.out(`${describe(approval)}\n\n${approval.message}`);
    });
  for (const decision of ['approve', 'reject'] as const) {
    approvals
      .command(decision)
      .argument('<id>')
      .option('--comment <text>', 'why (kept with the decision and in the audit log)')
      .description(`${decision === 'approve' ? 'Approve' : 'Reject'} as the approver this token's name maps to (or any, with admin)`)
      .action(async (id: string, options: { comment?: string }) => {
        const answer = await (
          await connect()
        ).request<{ state: string }>('POST', `/v1/approvals/${encodeURIComponent(id)}/decision`, {
          decision,
          ...(options.comment !== undefined && { comment: options.comment }),
        });
        output.out(`${decision === 'approve' ? 'approved' : 'rejected'} ${id}: the request is ${answer.state}`);
      });
  }
}
