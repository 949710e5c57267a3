/**
 * Go's time layouts (https://pkg.go.dev/time#pkg-constants), split into tokens by Go's own rules
 * (nextStdChunk in Go's format.go), so that a layout means here what it means in Go: "Jan" is a
 * month but "Janet" is text, "_2006" is "_" then the year, ".000" is milliseconds only when no
 * other digit follows. Used by time.format and time.parse (cel/time.ts). Workflow-safe.
 */

export type Std =
  | 'January'
  | 'Jan'
  | '1'
  | '01'
  | 'Monday'
  | 'Mon'
  | '2'
  | '_2'
  | '02'
  | '__2'
  | '002'
  | '15'
  | '3'
  | '03'
  | '4'
  | '04'
  | '5'
  | '05'
  | '2006'
  | '06'
  | 'PM'
  | 'pm'
  | 'MST'
  | 'Z070000'
  | 'Z07:00:00'
  | 'Z0700'
  | 'Z07:00'
  | 'Z07'
  | '-070000'
  | '-07:00:00'
  | '-0700'
  | '-07:00'
  | '-07';

/** Fractional seconds: `.000` (exactly `digits` digits, `zeros`) or `.999` (trailing zeros dropped); `separator` is `.` or `,`. */
export interface Fraction {
  kind: 'fraction';
  zeros: boolean;
  digits: number;
  separator: string;
}

export type Chunk = { kind: 'literal'; text: string } | { kind: 'std'; std: Std } | Fraction;

const OFFSET_TOKENS = ['070000', '07:00:00', '0700', '07:00', '07'] as const;
export const isDigitAt = (text: string, i: number): boolean => i < text.length && text.charCodeAt(i) >= 48 && text.charCodeAt(i) <= 57;
const isLowerAt = (text: string, i: number): boolean => i < text.length && text[i] !== text[i]?.toUpperCase();

/** The token starting at layout[i], with its length, following Go's nextStdChunk. */
function tokenAt(layout: string, i: number): { chunk: Chunk; length: number } | undefined {
  const at = (text: string): boolean => layout.startsWith(text, i);
  const std = (value: Std, length: number) => ({ chunk: { kind: 'std', std: value } as Chunk, length });
  switch (layout[i]) {
    case 'J':
      if (at('January')) return std('January', 7);
      // "Janet" is text: a name token must not run on into a lowercase letter.
      if (at('Jan') && !isLowerAt(layout, i + 3)) return std('Jan', 3);
      return undefined;
    case 'M':
      if (at('Monday')) return std('Monday', 6);
      if (at('Mon') && !isLowerAt(layout, i + 3)) return std('Mon', 3);
      if (at('MST')) return std('MST', 3);
      return undefined;
    case '0': {
      const next = layout[i + 1];
      if (next !== undefined && next >= '1' && next <= '6') return std(`0${next}` as Std, 2);
      if (at('002')) return std('002', 3);
      return undefined;
    }
    case '1':
      return at('15') ? std('15', 2) : std('1', 1);
    case '2':
      return at('2006') ? std('2006', 4) : std('2', 1);
    case '_':
      // "_2006" is a literal "_" then the year.
      if (at('_2') && !at('_2006')) return std('_2', 2);
      if (at('__2')) return std('__2', 3);
      return undefined;
    case '3':
    case '4':
    case '5':
      return std(layout[i] as Std, 1);
    case 'P':
      return at('PM') ? std('PM', 2) : undefined;
    case 'p':
      return at('pm') ? std('pm', 2) : undefined;
    case '-':
    case 'Z':
      for (const tail of OFFSET_TOKENS) if (layout.startsWith(tail, i + 1)) return std(`${layout[i]}${tail}` as Std, tail.length + 1);
      return undefined;
    case '.':
    case ',': {
      const digit = layout[i + 1];
      if (digit !== '0' && digit !== '9') return undefined;
      let end = i + 1;
      while (layout[end] === digit) end++;
      // ".0001" is not a fraction: the run must be all zeros or all nines, then no digit.
      if (isDigitAt(layout, end)) return undefined;
      const digits = end - i - 1;
      return { chunk: { kind: 'fraction', zeros: digit === '0', digits, separator: layout[i] as string }, length: digits + 1 };
    }
    default:
      return undefined;
  }
}

const layouts = new Map<string, Chunk[]>();
const LAYOUT_CACHE_LIMIT = 1000;

/** The layout split into literal text and tokens; memoised, layouts being few and reused. */
export function tokenize(layout: string): Chunk[] {
  const cached = layouts.get(layout);
  if (cached !== undefined) return cached;
  const chunks: Chunk[] = [];
  let literal = '';
  for (let i = 0; i < layout.length;) {
    const token = tokenAt(layout, i);
    if (token === undefined) {
      literal += layout[i];
      i++;
      continue;
    }
    if (literal !== '') chunks.push({ kind: 'literal', text: literal });
    literal = '';
    chunks.push(token.chunk);
    i += token.length;
  }
  if (literal !== '') chunks.push({ kind: 'literal', text: literal });
  if (layouts.size >= LAYOUT_CACHE_LIMIT) layouts.clear();
  layouts.set(layout, chunks);
  return chunks;
}
