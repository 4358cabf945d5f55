import { type FormEvent, useState } from 'react';
import { ApiError } from '../../api/http';
import type { Session } from '../../api/types';
import { signIn } from './session';

export function SignInPage({
  onSignedIn,
  notice,
}: {
  onSignedIn(session: Session): void;
  notice?: string | undefined;
}) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(name, password));
    } catch (e) {
      setError(e instanceof ApiError && e.status === 401 ? 'Wrong name or password.' : (e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="signin">
      <form className="card signin-card" onSubmit={submit} aria-labelledby="signin-title">
        <h1 id="signin-title">edgewire</h1>
        <p className="muted">Sign in to see your devices.</p>
        {notice && <p className="notice">{notice}</p>}
        <label>
          Name
          <input
            name="name"
            autoComplete="username"
            required
            value={name}
            onChange={(e) => setName(e.target.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
