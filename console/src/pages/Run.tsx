/**
 * One run: what triggered it, the version that ran, and its step timeline (status, attempts,
 * durations, rendered input, output, error, an approval's decision), its parent and children;
 * cancel, retry from the failed step, and Temporal's Web UI for the history.
 */
import { useQuery } from '@tanstack/react-query';
import { Link, useLocation } from 'wouter';
import { api, seg } from '../api/client.js';
import { useRouteParam } from '../route-params.js';
import type { JsonValue, RunDetail, RunPage } from '../api/types.js';
import { useCan } from '../session.js';
import { Action } from '../ui/Action.js';
import { JsonView } from '../ui/JsonView.js';
import { PageHeader, Section } from '../ui/Page.js';
import { Loaded } from '../ui/QueryState.js';
import { Status } from '../ui/Status.js';
import { Duration, Time } from '../ui/Time.js';
import { LIVE_REFRESH_MS } from './Runs.js';
import { runHref, RunsTable } from './RunsTable.js';

type Step = RunDetail['steps'][number];

/** An approval step's decision, as its output records it. */
function decisionOf(output: JsonValue | undefined): { decision: string; detail: JsonValue } | undefined {
  if (!output || typeof output !== 'object' || Array.isArray(output) || typeof output.decision !== 'string') return undefined;
  return { decision: output.decision, detail: output };
}

function StepItem({ step }: { step: Step }) {
  const decision = step.type === 'request_approval' ? decisionOf(step.output) : undefined;
  return (
    <li className={`step step-${step.status}`}>
      <details open={step.status === 'failed' || step.status === 'running'}>
        <summary>
          <span className="step-index">{step.index + 1}</span>
          <span className="step-name">{step.name}</span>
          <span className="muted">{step.type}</span>
          <Status value={step.status} />
          {step.attempts > 1 && <span className="badge">{step.attempts} attempts</span>}
          {step.startedAt && (
            <span className="step-time">
              <Time iso={step.startedAt} /> · <Duration from={step.startedAt} to={step.endedAt} />
            </span>
          )}
        </summary>
        <div className="step-body">
          {decision && (
            <p className="decision">
              Decision: <Status value={decision.decision} />
            </p>
          )}
          {step.error && (
            <div>
              <h4>Error</h4>
              <pre className="json error-text">{step.error}</pre>
            </div>
          )}
          <div className="two">
            <div>
              <h4>Input (rendered)</h4>
              <JsonView value={step.input} label={`Input of ${step.name}`} />
            </div>
            <div>
              <h4>Output</h4>
              <JsonView value={step.output} label={`Output of ${step.name}`} />
            </div>
          </div>
        </div>
      </details>
    </li>
  );
}

export function RunPage() {
  const id = useRouteParam('id');
  const can = useCan();
  const [, navigate] = useLocation();
  const run = useQuery({
    queryKey: ['run', id],
    queryFn: () => api.get<RunDetail>(`/v1/runs/${seg(id)}`),
    refetchInterval: (current) => (current.state.data?.status === 'running' ? LIVE_REFRESH_MS : false),
  });
  const children = useQuery({
    queryKey: ['runs', { parent: id }],
    queryFn: () => api.get<RunPage>('/v1/runs', { parent: id, limit: 200 }),
    refetchInterval: run.data?.status === 'running' ? LIVE_REFRESH_MS : false,
  });
  const invalidate = [['run', id], ['runs']];
  return (
    <Loaded query={run}>
      {(data) => (
        <>
          <PageHeader
            title={data.automation}
            subtitle={
              <>
                <span className="mono">{data.runId}</span> · <Status value={data.status} /> · started <Time iso={data.startedAt} />
                {data.endedAt && (
                  <>
                    {' '}
                    · took <Duration from={data.startedAt} to={data.endedAt} />
                  </>
                )}
              </>
            }
          >
            {data.webUiLink && (
              <a className="button ghost" href={data.webUiLink} target="_blank" rel="noreferrer">
                Temporal Web UI<span className="visually-hidden"> (opens a new tab)</span>
              </a>
            )}
            {can('runs:write') && data.status === 'running' && (
              <Action kind="danger" confirm="Cancel this run?" run={() => api.post(`/v1/runs/${seg(id)}/cancel`)} invalidate={invalidate}>
                Cancel
              </Action>
            )}
            {can('runs:write') && data.status === 'failed' && (
              <Action
                kind="primary"
                run={() => api.post<{ runId: string }>(`/v1/runs/${seg(id)}/retry`)}
                invalidate={invalidate}
                onDone={(retried) => retried?.runId && navigate(runHref(retried.runId))}
              >
                Retry from the failed step
              </Action>
            )}
          </PageHeader>
          {data.error && (
            <p className="error" role="status">
              {data.error}
            </p>
          )}
          <dl className="facts">
            <dt>Version</dt>
            <dd>
              <Link href={`/automations/${seg(data.automation)}?version=${data.version}`}>
                {data.automation} v{data.version}
              </Link>
            </dd>
            <dt>Trigger</dt>
            <dd>{data.eventId ? <Link href={`/events/${seg(data.eventId)}`}>event {data.eventId}</Link> : 'manual or scheduled'}</dd>
            {data.parentRunId && (
              <>
                <dt>Parent run</dt>
                <dd>
                  <Link href={runHref(data.parentRunId)}>{data.parentRunId}</Link>
                </dd>
              </>
            )}
          </dl>
          <Section title="Steps">
            <ol className="timeline">
              {data.steps.map((step) => (
                <StepItem key={step.index} step={step} />
              ))}
            </ol>
          </Section>
          <Section title="Child runs">
            <Loaded query={children}>{(page) => <RunsTable runs={page.runs} caption="Child runs" />}</Loaded>
          </Section>
          <Section title="Trigger context">
            <JsonView value={data.trigger} label="Trigger context" />
          </Section>
        </>
      )}
    </Loaded>
  );
}
