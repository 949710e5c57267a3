/** Approval requests, pending or decided; decide one with a comment. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { Link, useSearchParams } from 'wouter';
import { api, seg } from '../api/client.js';
import type { ApprovalRecord } from '../api/types.js';
import { useCan } from '../session.js';
import { PageHeader } from '../ui/Page.js';
import { ErrorMessage, Loaded } from '../ui/QueryState.js';
import { Status } from '../ui/Status.js';
import { Time } from '../ui/Time.js';
import { runHref } from './RunsTable.js';

function Decide({ approval }: { approval: ApprovalRecord }) {
  const id = useId();
  const client = useQueryClient();
  const [comment, setComment] = useState('');
  const decide = useMutation({
    mutationFn: (decision: 'approve' | 'reject') =>
      api.post(`/v1/approvals/${seg(approval.id)}/decision`, { decision, ...(comment.trim() ? { comment: comment.trim() } : {}) }),
    onSuccess: () => client.invalidateQueries({ queryKey: ['approvals'] }),
  });
  return (
    <form className="decide" onSubmit={(event) => event.preventDefault()}>
      <div className="field wide">
        <label htmlFor={`${id}-comment`}>Comment</label>
        <input id={`${id}-comment`} value={comment} onChange={(event) => setComment(event.target.value)} />
      </div>
      <button type="button" className="button primary" disabled={decide.isPending} onClick={() => decide.mutate('approve')}>
        Approve
      </button>
      <button type="button" className="button danger" disabled={decide.isPending} onClick={() => decide.mutate('reject')}>
        Reject
      </button>
      <ErrorMessage error={decide.error} />
    </form>
  );
}

export function ApprovalsPage() {
  const can = useCan();
  const [params, setParams] = useSearchParams();
  const state = params.get('state') ?? 'pending';
  const approvals = useQuery({
    queryKey: ['approvals', state],
    queryFn: () => api.get<{ approvals: ApprovalRecord[] }>('/v1/approvals', { state: state === 'all' ? undefined : state, limit: 100 }),
  });
  return (
    <>
      <PageHeader title="Approvals">
        <div className="segmented" role="group" aria-label="Show">
          {['pending', 'approved', 'rejected', 'timed_out', 'all'].map((option) => (
            <button
              key={option}
              type="button"
              className="button ghost"
              aria-pressed={state === option}
              onClick={() => setParams({ state: option })}
            >
              {option.replace('_', ' ')}
            </button>
          ))}
        </div>
      </PageHeader>
      <Loaded query={approvals}>
        {({ approvals: list }) =>
          list.length === 0 ? (
            <p className="muted">No {state === 'all' ? '' : state.replace('_', ' ')} approval requests.</p>
          ) : (
            <ul className="cards">
              {list.map((approval) => (
                <li key={approval.id} className="card">
                  <p>
                    <Status value={approval.state} /> <strong>{approval.automation}</strong> / {approval.stepName} ·{' '}
                    <Link href={runHref(approval.runId)}>run</Link> · opened <Time iso={approval.createdAt} /> · expires{' '}
                    <Time iso={approval.expiresAt} />
                  </p>
                  <p className="message">{approval.message}</p>
                  <p className="muted">
                    Asked: {approval.approvers.map((approver) => approver.name ?? approver.email).join(', ')} ({approval.quorum})
                    {approval.subject && <> · about {approval.subject.email ?? approval.subject.userId}</>}
                  </p>
                  {approval.decisions.length > 0 && (
                    <ul className="plain">
                      {approval.decisions.map((decision) => (
                        <li key={decision.approver}>
                          <Status value={decision.decision} /> {decision.approver} via {decision.via} <Time iso={decision.at} />
                          {decision.comment && <> — “{decision.comment}”</>}
                        </li>
                      ))}
                    </ul>
                  )}
                  {approval.state === 'pending' && can('approvals:write') && <Decide approval={approval} />}
                </li>
              ))}
            </ul>
          )
        }
      </Loaded>
    </>
  );
}
