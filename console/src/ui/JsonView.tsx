import type { JsonValue } from '../api/types.js';

/** A JSON value as readable, indented text (strings shown as they are, not quoted, when alone). */
export function JsonView({ value, label }: { value: JsonValue | undefined; label?: string }) {
  if (value === undefined) return <span className="muted">—</span>;
  const text = typeof value === 'string' ? value : JSON.stringify(value, null, 2);
  return (
    <pre className="json" tabIndex={0} aria-label={label}>
      {text}
    </pre>
  );
}
