/** A line diff of two texts, added and removed lines marked (the `diff` package, loaded with this chunk only). */
import { diffLines } from 'diff';

export default function DiffView({ before, after, label }: { before: string; after: string; label: string }) {
  const parts = diffLines(before, after);
  if (parts.every((part) => !part.added && !part.removed)) return <p className="muted">No difference.</p>;
  return (
    <pre className="code diff" tabIndex={0} aria-label={label}>
      {parts.flatMap((part, index) =>
        part.value
          .replace(/\n$/, '')
          .split('\n')
          .map((text, line) => (
            <span key={`${index}-${line}`} className={part.added ? 'line added' : part.removed ? 'line removed' : 'line'}>
              <span aria-hidden="true" className="diff-mark">
                {part.added ? '+' : part.removed ? '−' : ' '}
              </span>
              {part.added && <span className="visually-hidden">added: </span>}
              {part.removed && <span className="visually-hidden">removed: </span>}
              {text}
              {'\n'}
            </span>
          )),
      )}
    </pre>
  );
}
