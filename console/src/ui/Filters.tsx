/**
 * A list's filters kept in the URL's query (shareable, back-button friendly): a form of labelled
 * fields; submitting it replaces the query and starts again from the first page.
 */
import { useId, type FormEvent } from 'react';
import { useSearchParams } from 'wouter';

export interface FilterField {
  name: string;
  label: string;
  /** `datetime`: shown in the viewer's zone, kept in the URL as ISO UTC. */
  type?: 'text' | 'datetime' | 'select';
  options?: readonly string[];
  placeholder?: string;
}

/** ISO → the value of a datetime-local input (the viewer's zone). */
function localInput(iso: string | null): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return new Date(date.getTime() - date.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
}

/** The URL's filters (and cursor) as a query for the API. */
export function useFilters(names: readonly string[]): Record<string, string | undefined> {
  const [params] = useSearchParams();
  return Object.fromEntries([...names, 'cursor'].map((name) => [name, params.get(name) ?? undefined]));
}

export function Filters({ fields }: { fields: readonly FilterField[] }) {
  const [params, setParams] = useSearchParams();
  const id = useId();
  const submit = (event: FormEvent<HTMLFormElement>) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const next = new URLSearchParams();
    for (const field of fields) {
      const value = String(form.get(field.name) ?? '').trim();
      if (value === '') continue;
      next.set(field.name, field.type === 'datetime' ? new Date(value).toISOString() : value);
    }
    setParams(next);
  };
  return (
    <form className="filters" onSubmit={submit} role="search" key={params.toString()}>
      {fields.map((field) => (
        <div className="field" key={field.name}>
          <label htmlFor={`${id}-${field.name}`}>{field.label}</label>
          {field.type === 'select' ? (
            <select id={`${id}-${field.name}`} name={field.name} defaultValue={params.get(field.name) ?? ''}>
              <option value="">any</option>
              {field.options?.map((option) => (
                <option key={option} value={option}>
                  {option}
                </option>
              ))}
            </select>
          ) : (
            <input
              id={`${id}-${field.name}`}
              name={field.name}
              type={field.type === 'datetime' ? 'datetime-local' : 'text'}
              placeholder={field.placeholder}
              defaultValue={field.type === 'datetime' ? localInput(params.get(field.name)) : (params.get(field.name) ?? '')}
            />
          )}
        </div>
      ))}
      <div className="field filter-buttons">
        <button type="submit" className="button primary">
          Filter
        </button>
        <button type="button" className="button ghost" onClick={() => setParams(new URLSearchParams())}>
          Clear
        </button>
      </div>
    </form>
  );
}

/** Next page / first page, through the API's opaque cursor in the URL. */
export function Pager({ nextCursor }: { nextCursor?: string }) {
  const [params, setParams] = useSearchParams();
  const go = (cursor: string | undefined) => {
    const next = new URLSearchParams(params);
    if (cursor) next.set('cursor', cursor);
    else next.delete('cursor');
    setParams(next);
    document.getElementById('main')?.focus();
  };
  if (!nextCursor && !params.get('cursor')) return null;
  return (
    <nav className="pager" aria-label="Pages">
      <button type="button" className="button ghost" disabled={!params.get('cursor')} onClick={() => go(undefined)}>
        First page
      </button>
      <button type="button" className="button ghost" disabled={!nextCursor} onClick={() => go(nextCursor)}>
        Next page
      </button>
    </nav>
  );
}
