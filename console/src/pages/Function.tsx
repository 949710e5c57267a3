/**
 * One function: the editor (CodeMirror, a lazy chunk) with Run (input JSON → output, logs, duration,
 * error), test cases, publish, versions with a diff and rollback, and secrets by name (set, delete;
 * a value is never shown or read back).
 */
import { useMutation, useQuery } from '@tanstack/react-query';
import { lazy, Suspense, useId, useState, type FormEvent } from 'react';
import { api, seg } from '../api/client.js';
import { useRouteParam } from '../route-params.js';
import type { FunctionRunResult, FunctionVersion, TestCaseResult } from '../api/types.js';
import { useCan } from '../session.js';
import { Action } from '../ui/Action.js';
import { ACTIONS_HEADER, DataTable } from '../ui/DataTable.js';
import { JsonInput, parseJson } from '../ui/JsonInput.js';
import { JsonView } from '../ui/JsonView.js';
import { PageHeader, Section } from '../ui/Page.js';
import { ErrorMessage, Loaded } from '../ui/QueryState.js';
import { SubmitForm } from '../ui/SubmitForm.js';
import { Tabs } from '../ui/Tabs.js';
import { formatDuration, Time } from '../ui/Time.js';
import { VersionDiff } from '../ui/VersionDiff.js';
import { VersionHistory } from '../ui/VersionHistory.js';

const CodeEditor = lazy(() => import('../ui/CodeEditor.js'));

interface Versions {
  current: number;
  versions: FunctionVersion[];
}

function RunResult({ result }: { result: FunctionRunResult }) {
  return (
    <div className="result" role="status">
      <p>
        {result.ok ? <span className="status status-completed">ok</span> : <span className="status status-failed">error</span>}{' '}
        <span className="muted">in {formatDuration(result.durationMs)}</span>
      </p>
      {result.error && (
        <pre className="json error-text">
          {result.error.code}: {result.error.message}
        </pre>
      )}
      {result.ok && (
        <>
          <h4>Output</h4>
          <JsonView value={result.output} label="Output" />
        </>
      )}
      <h4>Logs</h4>
      {result.logs.length === 0 ? (
        <p className="muted">No log lines.</p>
      ) : (
        <pre className="json logs" tabIndex={0} aria-label="Logs">
          {result.logs.join('\n')}
        </pre>
      )}
    </div>
  );
}

function Secrets({ name }: { name: string }) {
  const can = useCan();
  const id = useId();
  const secrets = useQuery({
    queryKey: ['function-secrets', name],
    queryFn: () => api.get<{ secrets: { key: string; updatedAt: string; updatedBy: string }[] }>(`/v1/functions/${seg(name)}/secrets`),
  });
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const set = useMutation({
    mutationFn: () => api.put(`/v1/functions/${seg(name)}/secrets/${seg(key)}`, { value }),
    onSuccess: async () => {
      setKey('');
      setValue('');
      await secrets.refetch();
    },
  });
  return (
    <>
      <Loaded query={secrets}>
        {({ secrets: list }) => (
          <DataTable
            rows={list}
            empty="No secrets."
            rowKey={(secret) => secret.key}
            columns={[
              { header: 'Name', className: 'mono', cell: (secret) => secret.key },
              {
                header: 'Updated',
                cell: (secret) => (
                  <>
                    <Time iso={secret.updatedAt} /> <span className="muted">by {secret.updatedBy}</span>
                  </>
                ),
              },
              {
                header: ACTIONS_HEADER,
                cell: (secret) =>
                  can('functions:write') && (
                    <Action
                      kind="danger"
                      confirm={`Delete the secret ${secret.key}?`}
                      run={() => api.delete(`/v1/functions/${seg(name)}/secrets/${seg(secret.key)}`)}
                      invalidate={[['function-secrets', name]]}
                    >
                      Delete {secret.key}
                    </Action>
                  ),
              },
            ]}
          />
        )}
      </Loaded>
      {can('functions:write') && (
        <form
          className="filters"
          onSubmit={(event: FormEvent) => {
            event.preventDefault();
            set.mutate();
          }}
        >
          <div className="field">
            <label htmlFor={`${id}-key`}>Secret name</label>
            <input id={`${id}-key`} value={key} onChange={(event) => setKey(event.target.value)} required autoComplete="off" />
          </div>
          <div className="field">
            <label htmlFor={`${id}-value`}>Value (never shown again)</label>
            <input
              id={`${id}-value`}
              type="password"
              value={value}
              onChange={(event) => setValue(event.target.value)}
              required
              autoComplete="new-password"
            />
          </div>
          <div className="field filter-buttons">
            <button type="submit" className="button primary" disabled={set.isPending}>
              Set secret
            </button>
          </div>
          <ErrorMessage error={set.error} />
        </form>
      )}
    </>
  );
}

const EXAMPLE_CASES = `{
  "cases": [
    { "name": "example", "input": {}, "expect": {} }
  ]
}`;

function Workbench({ name, versions }: { name: string; versions: Versions }) {
  const can = useCan();
  const id = useId();
  const current = versions.versions.find((version) => version.version === versions.current);
  const [source, setSource] = useState(current?.source ?? '');
  const [input, setInput] = useState('{}');
  const [cases, setCases] = useState(EXAMPLE_CASES);
  const [message, setMessage] = useState('');
  const run = useMutation({
    mutationFn: () => api.post<FunctionRunResult>(`/v1/functions/${seg(name)}/runs`, { input: parseJson(input, 'The input') }),
  });
  const tests = useMutation({
    mutationFn: () => api.post<{ results: TestCaseResult[] }>(`/v1/functions/${seg(name)}/tests`, parseJson(cases, 'The test cases')),
  });
  const edited = current !== undefined && source !== current.source;
  return (
    <div className="columns">
      <div>
        <Section title={`Source${edited ? ' (edited, not published)' : ''}`}>
          {current === undefined ? (
            <p className="muted">No version of this function is in force.</p>
          ) : (
            <Suspense fallback={<p className="muted">Loading the editor…</p>}>
              <CodeEditor value={source} onChange={setSource} label={`Source of ${name}`} />
            </Suspense>
          )}
          {can('functions:write') && current !== undefined && (
            <form
              className="filters"
              onSubmit={(event) => {
                event.preventDefault();
              }}
            >
              <div className="field wide">
                <label htmlFor={`${id}-message`}>Publish message</label>
                <input
                  id={`${id}-message`}
                  value={message}
                  onChange={(event) => setMessage(event.target.value)}
                  placeholder="what changed"
                />
              </div>
              <div className="field filter-buttons">
                <Action
                  kind="primary"
                  run={() =>
                    api.post(`/v1/functions/${seg(name)}/versions`, {
                      source,
                      filename: `${name}.ts`,
                      message: message || 'published from the console',
                    })
                  }
                  invalidate={[['function', name], ['functions']]}
                  onDone={() => setMessage('')}
                >
                  Publish
                </Action>
              </div>
            </form>
          )}
          {edited && <p className="muted">Run and the test cases use the published version: publish to try the edited source.</p>}
        </Section>
      </div>
      <div>
        {can('functions:run') && (
          <>
            <Section title="Run">
              <SubmitForm onSubmit={() => run.mutate()} pending={run.isPending} label="Run" pendingLabel="Running…">
                <JsonInput label="Input (JSON)" value={input} onChange={setInput} />
              </SubmitForm>
              <ErrorMessage error={run.error} />
              {run.data && <RunResult result={run.data} />}
            </Section>
            <Section title="Test cases">
              <SubmitForm
                onSubmit={() => tests.mutate()}
                pending={tests.isPending}
                label="Run the cases"
                pendingLabel="Testing…"
                kind="secondary"
              >
                <JsonInput label="Cases (JSON, as in a test file)" value={cases} onChange={setCases} rows={8} />
              </SubmitForm>
              <ErrorMessage error={tests.error} />
              {tests.data && (
                <ul className="plain" role="status">
                  {tests.data.results.map((result) => (
                    <li key={result.name}>
                      <span className={`status ${result.passed ? 'status-completed' : 'status-failed'}`}>
                        {result.passed ? 'passed' : 'failed'}
                      </span>{' '}
                      {result.name} {result.problem && <span className="error-text">{result.problem}</span>}
                    </li>
                  ))}
                </ul>
              )}
            </Section>
          </>
        )}
      </div>
    </div>
  );
}

function History({ name, versions }: { name: string; versions: Versions }) {
  const can = useCan();
  const texts = versions.versions.map((version) => ({ version: version.version, text: version.source }));
  return (
    <VersionHistory
      title="Versions"
      name={name}
      versions={versions.versions}
      current={versions.current}
      detail={{ header: 'Message', cell: (version) => version.message }}
      createdHeader="Published"
      rollback={can('functions:write') ? (version) => api.post(`/v1/functions/${seg(name)}/rollback`, { version }) : undefined}
      invalidate={[['function', name], ['functions']]}
      diff={<VersionDiff versions={texts} what={name} />}
    />
  );
}

export function FunctionPage() {
  const name = useRouteParam('name');
  const versions = useQuery({ queryKey: ['function', name], queryFn: () => api.get<Versions>(`/v1/functions/${seg(name)}/versions`) });
  return (
    <>
      <PageHeader title={name} subtitle={versions.data && `v${versions.data.current} in force`} />
      <Loaded query={versions}>
        {(data) => (
          <Tabs
            tabs={[
              { id: 'editor', label: 'Editor', render: () => <Workbench key={data.current} name={name} versions={data} /> },
              { id: 'versions', label: `Versions (${data.versions.length})`, render: () => <History name={name} versions={data} /> },
              { id: 'secrets', label: 'Secrets', render: () => <Secrets name={name} /> },
            ]}
          />
        )}
      </Loaded>
    </>
  );
}
