/** Who is signed in: asked of the hub at start, set by signing in, cleared by signing out. */
import { ApiError, getJson, sendJson } from '../../api/http';
import type { Session } from '../../api/types';

export type SessionState =
  | { kind: 'loading' }
  | { kind: 'signed-out'; notice?: string }
  | { kind: 'signed-in'; session: Session }
  | { kind: 'unavailable'; message: string };

export async function currentSession(): Promise<SessionState> {
  try {
    return { kind: 'signed-in', session: await getJson<Session>('/api/session') };
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return { kind: 'signed-out' };
    if (error instanceof ApiError && error.status === 404) {
      return {
        kind: 'unavailable',
        message: "This hub has no operators' API yet: GET /api/session answered 404. Update the hub.",
      };
    }
    return { kind: 'unavailable', message: (error as Error).message };
  }
}

export function signIn(name: string, password: string): Promise<Session> {
  return sendJson<Session>('POST', '/api/session', { name, password });
}

export async function signOut(): Promise<void> {
  await sendJson('DELETE', '/api/session').catch(() => {});
}
