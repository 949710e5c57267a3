/** Pick any two versions and see what changed between them (the diff view is a lazy chunk). */
import { lazy, Suspense, useId, useState } from 'react';

const DiffView = lazy(() => import('./DiffView.js'));

export interface VersionText {
  version: number;
  text: string;
}

export function VersionDiff({ versions, what }: { versions: VersionText[]; what: string }) {
  const id = useId();
  const newest = versions[versions.length - 1]?.version ?? 0;
  const [from, setFrom] = useState(Math.max(newest - 1, versions[0]?.version ?? 0));
  const [to, setTo] = useState(newest);
  if (versions.length < 2) return <p className="muted">Only one version: nothing to compare.</p>;
  const text = (version: number) => versions.find((candidate) => candidate.version === version)?.text ?? '';
  const select = (label: string, value: number, set: (version: number) => void) => (
    <div className="field">
      <label htmlFor={`${id}-${label}`}>{label}</label>
      <select id={`${id}-${label}`} value={value} onChange={(event) => set(Number(event.target.value))}>
        {versions.map((version) => (
          <option key={version.version} value={version.version}>
            v{version.version}
          </option>
        ))}
      </select>
    </div>
  );
  return (
    <div>
      <div className="filters">
        {select('From', from, setFrom)}
        {select('To', to, setTo)}
      </div>
      <Suspense fallback={<p className="muted">Loading the diff…</p>}>
        <DiffView before={text(from)} after={text(to)} label={`${what}: v${from} to v${to}`} />
      </Suspense>
    </div>
  );
}
