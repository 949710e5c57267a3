/** A run's, step's or request's status as a coloured badge (the word is always written: colour is not the only cue). */
export function Status({ value }: { value: string }) {
  return <span className={`status status-${value}`}>{value.replace('_', ' ')}</span>;
}
