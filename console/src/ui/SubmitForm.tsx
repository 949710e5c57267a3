/** A form that sends one request: its fields, then a submit button that says so while the request runs. */
import type { ReactNode } from 'react';

export function SubmitForm({
  onSubmit,
  pending,
  label,
  pendingLabel,
  kind = 'primary',
  children,
}: {
  onSubmit: () => void;
  pending: boolean;
  label: string;
  pendingLabel: string;
  kind?: 'primary' | 'secondary';
  children: ReactNode;
}) {
  return (
    <form
      className="stack"
      onSubmit={(event) => {
        event.preventDefault();
        onSubmit();
      }}
    >
      {children}
      <div>
        <button type="submit" className={kind === 'primary' ? 'button primary' : 'button'} disabled={pending}>
          {pending ? pendingLabel : label}
        </button>
      </div>
    </form>
  );
}
