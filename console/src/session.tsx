/** The signed-in session: who, with which scopes (`admin` implies every one), as the server reported it. */
import { createContext, useContext } from 'react';
import type { Scope, Session } from './api/types.js';

export const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in session');
  return session;
}

export function holds(session: Session, scope: Scope): boolean {
  return session.scopes.includes('admin') || session.scopes.includes(scope);
}

/** Whether the session holds a scope: the console shows a page or a write button only then (the server checks again). */
export function useCan(): (scope: Scope) => boolean {
  const session = useSession();
  return (scope) => holds(session, scope);
}
