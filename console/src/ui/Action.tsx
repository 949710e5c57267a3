import { useMutation, useQueryClient, type QueryKey } from '@tanstack/react-query';
import type { ReactNode } from 'react';
import { ErrorMessage } from './QueryState.js';

/**
 * A button that writes: asks to confirm when told, disables itself while the request runs, shows
 * the API's error beside it, and refreshes the queries the write changes.
 */
export function Action<T>({
  children,
  run,
  invalidate = [],
  confirm,
  onDone,
  kind = 'secondary',
}: {
  children: ReactNode;
  run: () => Promise<T>;
  invalidate?: QueryKey[];
  confirm?: string;
  onDone?: (result: T) => void;
  kind?: 'primary' | 'secondary' | 'danger';
}) {
  const client = useQueryClient();
  const mutation = useMutation({
    mutationFn: run,
    onSuccess: async (result) => {
      await Promise.all(invalidate.map((queryKey) => client.invalidateQueries({ queryKey })));
      onDone?.(result);
    },
  });
  return (
    <span className="action">
      <button
        type="button"
        className={`button ${kind}`}
        disabled={mutation.isPending}
        onClick={() => {
          if (confirm && !window.confirm(confirm)) return;
          mutation.mutate();
        }}
      >
        {mutation.isPending ? 'Working…' : children}
      </button>
      <ErrorMessage error={mutation.error} />
    </span>
  );
}
