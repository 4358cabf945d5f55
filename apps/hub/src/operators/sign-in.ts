/**
 * Password sign-in: throttled per name and per address, the same answer and about the same time for
 * an unknown name as for a wrong password, and a fresh server-side session on success.
 */
import { CredentialError } from '../auth/credentials.js';
import type { PasswordHasher } from './passwords.js';
import type { OperatorSession, SessionStore } from './session-store.js';
import type { SignInThrottle } from './sign-in-throttle.js';
import type { UserStore } from './user-store.js';

/** One message for both an unknown name and a wrong password, so neither can be told apart. */
export const WRONG_CREDENTIALS = 'name or password is wrong';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SignIn {
  constructor(
    private readonly users: UserStore,
    private readonly sessions: SessionStore,
    private readonly hasher: PasswordHasher,
    private readonly throttle: SignInThrottle,
  ) {}

  /** A new session and its cookie secret; throws `CredentialError` 401 or 429 (with `retryAfterSec`). */
  async signIn(
    name: string,
    password: string,
    address: string,
  ): Promise<{ session: OperatorSession; secret: string }> {
    const wait = await this.throttle.lockedFor(name, address);
    if (wait > 0) throw new CredentialError(429, 'too many failed sign-ins: try again later', wait);
    const user = await this.users.get(name);
    const ok = await this.hasher.verify(password, user?.passwordHash);
    if (!ok || !user) {
      await sleep(await this.throttle.fail(name, address));
      throw new CredentialError(401, WRONG_CREDENTIALS);
    }
    await this.throttle.succeeded(name);
    return this.sessions.create(user.name, address);
  }
}
