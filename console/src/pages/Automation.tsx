/**
 * One automation: its definition (highlighted), versions with a diff of any two and rollback,
 * enable/disable, Plan (an event or a context → what it would do), Run, Replay of the last 30 days,
 * and its recent runs.
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { useId, useState } from 'react';
import { useLocation, useSearchParams } from 'wouter';
import { api, seg } from '../api/client.js';
import { useRouteParam } from '../route-params.js';
import type { AutomationVersion, DefinitionVersion, JsonObject, Plan, ReplayReport, RunPage, RunRecord } from '../api/types.js';
import { useCan } from '../session.js';
import { Action } from '../ui/Action.js';
import { JsonInput, parseJson } from '../ui/JsonInput.js';
import { PageHeader, Section } from '../ui/Page.js';
import { PlanView, AutomationPlanView } from '../ui/PlanView.js';
import { ErrorMessage, Loaded } from '../ui/QueryState.js';
import { SubmitForm } from '../ui/SubmitForm.js';
import { Tabs } from '../ui/Tabs.js';
import { VersionDiff } from '../ui/VersionDiff.js';
import { VersionHistory } from '../ui/VersionHistory.js';
import { YamlView } from '../ui/YamlView.js';
import { runHref, RunsTable } from './RunsTable.js';

type Current = DefinitionVersion & { enabled: boolean };

/** A version's YAML: as written when the API keeps it, else its stored spec written as YAML. */
async function yamlOf(versions: AutomationVersion[]): Promise<{ version: number; text: string }[]> {
  const missing = versions.some((version) => version.yaml === undefined);
  const stringify = missing ? (await import('yaml')).stringify : undefined;
  return versions.map((version) => ({ version: version.version, text: version.yaml ?? stringify?.(version.spec, { lineWidth: 0 }) ?? '' }));
}

function asObject(value: unknown, what: string): JsonObject {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new Error(`${what} must be a JSON object`);
  return value as JsonObject;
}

function PlanForm({ name, triggerType }: { name: string; triggerType?: string }) {
  const id = useId();
  const [mode, setMode] = useState<'event' | 'context'>(
    triggerType && triggerType !== 'manual' && triggerType !== 'schedule' ? 'event' : 'context',
  );
  const [type, setType] = useState(triggerType ?? '');
  const [data, setData] = useState('{\n  "user": { "email": "ada@example.com" }\n}');
  const plan = useMutation({
    mutationFn: () =>
      mode === 'event'
        ? api.post<Plan>('/v1/plan/events', { type, data: asObject(parseJson(data, 'The data'), 'The data') })
        : api.post<Plan>('/v1/plan/runs', { automation: name, context: asObject(parseJson(data, 'The context'), 'The context') }),
  });
  return (
    <div>
      <SubmitForm onSubmit={() => plan.mutate()} pending={plan.isPending} label="Plan" pendingLabel="Planning…">
        <fieldset className="choice">
          <legend>Plan from</legend>
          <label>
            <input type="radio" name={`${id}-mode`} checked={mode === 'event'} onChange={() => setMode('event')} /> an event
          </label>
          <label>
            <input type="radio" name={`${id}-mode`} checked={mode === 'context'} onChange={() => setMode('context')} /> a manual run's
            context
          </label>
        </fieldset>
        {mode === 'event' && (
          <div className="field">
            <label htmlFor={`${id}-type`}>Event type</label>
            <input id={`${id}-type`} value={type} onChange={(event) => setType(event.target.value)} required />
          </div>
        )}
        <JsonInput label={mode === 'event' ? 'Event data (JSON)' : 'Context (JSON)'} value={data} onChange={setData} rows={8} />
      </SubmitForm>
      <ErrorMessage error={plan.error} />
      {plan.data && <PlanView plan={plan.data} />}
    </div>
  );
}

function RunForm({ name }: { name: string }) {
  const [, navigate] = useLocation();
  const [context, setContext] = useState('{}');
  const run = useMutation({
    mutationFn: () =>
      api.post<RunRecord>(`/v1/automations/${seg(name)}/runs`, { context: asObject(parseJson(context, 'The context'), 'The context') }),
    onSuccess: (started) => navigate(runHref(started.runId)),
  });
  return (
    <>
      <SubmitForm onSubmit={() => run.mutate()} pending={run.isPending} label="Run now" pendingLabel="Starting…">
        <p className="muted">Starts a manual run now, with this context as its trigger.</p>
        <JsonInput label="Context (JSON)" value={context} onChange={setContext} />
      </SubmitForm>
      <ErrorMessage error={run.error} />
    </>
  );
}

function ReplayPanel({ name }: { name: string }) {
  const replay = useMutation({
    mutationFn: () => api.post<{ replays: ReplayReport[] }>('/v1/replay', { automation: name, since: '30d' }),
  });
  const report = replay.data?.replays[0];
  return (
    <div className="stack">
      <p className="muted">
        Replays the events of the last 30 days against the version in force: what it would match now, and what it would do differently.
      </p>
      <div>
        <button type="button" className="button primary" disabled={replay.isPending} onClick={() => replay.mutate()}>
          {replay.isPending ? 'Replaying…' : 'Replay last 30 days'}
        </button>
      </div>
      <ErrorMessage error={replay.error} />
      {replay.data && !report && <p className="muted">Nothing to replay.</p>}
      {report && (
        <>
          <dl className="facts">
            <dt>Seen</dt>
            <dd>{report.summary.seen}</dd>
            <dt>Matched then / now</dt>
            <dd>
              {report.summary.matchedThen} / {report.summary.matchedNow}
            </dd>
            <dt>Newly matched</dt>
            <dd>{report.summary.newlyMatched}</dd>
            <dt>No longer matched</dt>
            <dd>{report.summary.noLongerMatched}</dd>
            <dt>Inputs that differ</dt>
            <dd>
              {report.summary.inputsDiffer} of {report.summary.runsCompared} runs
            </dd>
          </dl>
          {report.truncated && <p className="warning">Stopped early: {report.truncated}</p>}
          {report.newlyMatched.map((event) => (
            <details key={event.id}>
              <summary>
                Newly matched <span className="mono">{event.id}</span> (then: {event.then})
              </summary>
              {event.plan && <AutomationPlanView plan={event.plan} />}
              {event.planError && <p className="error-text">{event.planError}</p>}
            </details>
          ))}
          {report.noLongerMatched.map((event) => (
            <p key={event.id}>
              No longer matched <span className="mono">{event.id}</span>: {event.now}
            </p>
          ))}
          {report.inputsDiffer.map((diff) => (
            <details key={diff.runId}>
              <summary>
                Inputs differ for <span className="mono">{diff.runId}</span>
              </summary>
              <pre className="json">{JSON.stringify(diff, null, 2)}</pre>
            </details>
          ))}
        </>
      )}
    </div>
  );
}

function Versions({ name, versions, current }: { name: string; versions: AutomationVersion[]; current: number }) {
  const can = useCan();
  const [params] = useSearchParams();
  const texts = useQuery({ queryKey: ['automation-yaml', name, versions.length], queryFn: () => yamlOf(versions) });
  const shown = Number(params.get('version')) || current;
  return (
    <VersionHistory
      title="History"
      name={name}
      versions={versions}
      current={current}
      shown={shown}
      detail={{ header: 'Source', cell: (version) => version.source }}
      createdHeader="Created"
      rollback={can('definitions:write') ? (version) => api.post(`/v1/automations/${seg(name)}/rollback`, { version }) : undefined}
      invalidate={[['automation', name], ['automations']]}
      diff={<Loaded query={texts}>{(list) => <VersionDiff versions={list} what={name} />}</Loaded>}
    />
  );
}

function Definition({ versions, current }: { versions: AutomationVersion[]; current: number }) {
  const [params] = useSearchParams();
  const wanted = Number(params.get('version')) || current;
  const version = versions.find((candidate) => candidate.version === wanted) ?? versions[versions.length - 1];
  const texts = useQuery({ queryKey: ['automation-yaml-one', version.name, version.version], queryFn: () => yamlOf([version]) });
  return (
    <Section title={`Definition v${version.version}${version.version === current ? ' (in force)' : ''}`}>
      <Loaded query={texts}>{([text]) => <YamlView source={text.text} label={`${version.name} v${version.version}`} />}</Loaded>
    </Section>
  );
}

export function AutomationPage() {
  const name = useRouteParam('name');
  const can = useCan();
  const automation = useQuery({
    queryKey: ['automation', name],
    queryFn: async () => {
      const [current, history] = await Promise.all([
        api.get<Current>(`/v1/automations/${seg(name)}`),
        api.get<{ versions: AutomationVersion[] }>(`/v1/automations/${seg(name)}/versions`),
      ]);
      return { current, versions: history.versions };
    },
  });
  const runs = useQuery({
    queryKey: ['runs', { automation: name }],
    queryFn: () => api.get<RunPage>('/v1/runs', { automation: name, limit: 20 }),
    enabled: can('runs:read'),
  });
  return (
    <Loaded query={automation}>
      {({ current, versions }) => {
        const spec = current.spec as { description?: string; trigger?: { type?: string } };
        const tabs = [
          { id: 'definition', label: 'Definition', render: () => <Definition versions={versions} current={current.version} /> },
          {
            id: 'versions',
            label: `Versions (${versions.length})`,
            render: () => <Versions name={name} versions={versions} current={current.version} />,
          },
        ];
        if (can('plan')) tabs.push({ id: 'plan', label: 'Plan', render: () => <PlanForm name={name} triggerType={spec.trigger?.type} /> });
        if (can('runs:write')) tabs.push({ id: 'run', label: 'Run', render: () => <RunForm name={name} /> });
        if (can('plan')) tabs.push({ id: 'replay', label: 'Replay', render: () => <ReplayPanel name={name} /> });
        if (can('runs:read'))
          tabs.push({
            id: 'runs',
            label: 'Runs',
            render: () => <Loaded query={runs}>{(page) => <RunsTable runs={page.runs} caption={`Runs of ${name}`} />}</Loaded>,
          });
        return (
          <>
            <PageHeader
              title={name}
              subtitle={
                <>
                  <span className={`status ${current.enabled ? 'status-completed' : 'status-cancelled'}`}>
                    {current.enabled ? 'enabled' : 'disabled'}
                  </span>{' '}
                  · v{current.version} · trigger {spec.trigger?.type ?? '—'}
                  {spec.description && <> · {spec.description}</>}
                </>
              }
            >
              {can('definitions:write') && (
                <Action
                  kind={current.enabled ? 'danger' : 'primary'}
                  confirm={current.enabled ? `Disable ${name}? Events will no longer start it.` : undefined}
                  run={() => api.post(`/v1/automations/${seg(name)}/${current.enabled ? 'disable' : 'enable'}`)}
                  invalidate={[['automation', name], ['automations']]}
                >
                  {current.enabled ? 'Disable' : 'Enable'}
                </Action>
              )}
            </PageHeader>
            <Tabs tabs={tabs} />
          </>
        );
      }}
    </Loaded>
  );
}
