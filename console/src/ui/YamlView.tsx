/**
 * YAML with its keys, strings, numbers and comments coloured: a line-by-line highlighter, enough for
 * definitions (no editor is needed to read them, and this costs no chunk).
 */
import type { ReactNode } from 'react';

const SCALAR = /^(\s*)("(?:[^"\\]|\\.)*"|'(?:[^']|'')*'|-?\d+(?:\.\d+)?|true|false|null|~)(\s*(?:#.*)?)$/;

function value(text: string, key: string): ReactNode[] {
  const comment = text.match(/^(.*?)(\s+#.*)$/);
  const body = comment && !/["']/.test(comment[1]) ? comment[1] : text;
  const rest = body === text ? '' : text.slice(body.length);
  const scalar = body.match(SCALAR);
  const parts: ReactNode[] = [];
  if (scalar) {
    const kind = /^["']/.test(scalar[2]) ? 'y-string' : 'y-literal';
    parts.push(
      scalar[1],
      <span key={`${key}v`} className={kind}>
        {scalar[2]}
      </span>,
      scalar[3],
    );
  } else {
    parts.push(
      <span key={`${key}v`} className={body.trim().startsWith('{{') || body.includes('${{') ? 'y-template' : 'y-plain'}>
        {body}
      </span>,
    );
  }
  if (rest)
    parts.push(
      <span key={`${key}c`} className="y-comment">
        {rest}
      </span>,
    );
  return parts;
}

function line(text: string, index: number): ReactNode {
  if (/^\s*#/.test(text)) return <span className="y-comment">{text}</span>;
  const keyed = text.match(/^(\s*(?:-\s+)?)([\w$.-]+|"[^"]*"|'[^']*')(:)(\s.*|)$/);
  if (keyed) {
    return (
      <>
        {keyed[1]}
        <span className="y-key">{keyed[2]}</span>
        {keyed[3]}
        {value(keyed[4], String(index))}
      </>
    );
  }
  const item = text.match(/^(\s*-\s)(.*)$/);
  if (item) return [item[1], ...value(item[2], String(index))];
  return value(text, String(index));
}

export function YamlView({ source, label }: { source: string; label: string }) {
  return (
    <pre className="code yaml" tabIndex={0} aria-label={label}>
      {source.split('\n').map((text, index) => (
        <span key={index} className="line">
          {line(text, index)}
          {'\n'}
        </span>
      ))}
    </pre>
  );
}
