/** The token form shown when there is no session: exchanges an API token for the session cookie. */
import { useState, type FormEvent } from 'react';
import { api } from '../api/client.js';
import type { Session } from '../api/types.js';
import { ErrorMessage } from '../ui/QueryState.js';

export function SignIn({ onSignedIn }: { onSignedIn: (session: Session) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await api.post<Session>('/v1/console/sessions', { token: token.trim() }));
    } catch (failure) {
      setError(failure);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" className="signin">
      <form onSubmit={submit} className="card">
        <h1>Sign in to idflow</h1>
        <p className="muted">
          Paste an API token, or open the one-time link <code>idflow dev</code> prints (<code>idflow console link</code> makes a new one).
        </p>
        <label htmlFor="token">API token</label>
        <input
          id="token"
          name="token"
          type="password"
          autoComplete="off"
          required
          value={token}
          onChange={(event) => setToken(event.target.value)}
        />
        <button type="submit" className="button primary" disabled={busy || token.trim() === ''}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ErrorMessage error={error} />
      </form>
    </main>
  );
}
