/** A labelled textarea for JSON, parsed on use: its error names what is wrong. */
import { useId } from 'react';
import type { JsonValue } from '../api/types.js';

export function parseJson(text: string, what: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new Error(`${what} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

export function JsonInput({
  label,
  value,
  onChange,
  rows = 6,
}: {
  label: string;
  value: string;
  onChange: (text: string) => void;
  rows?: number;
}) {
  const id = useId();
  return (
    <div className="field wide">
      <label htmlFor={id}>{label}</label>
      <textarea id={id} className="mono" rows={rows} spellCheck={false} value={value} onChange={(event) => onChange(event.target.value)} />
    </div>
  );
}
