import { describe, expect, it } from 'vitest';
import type { ConnectionIdentity } from './connection.js';
import { CredentialChanges, predates } from './credential-changes.js';

const client = (credentialsVersion: number): ConnectionIdentity => ({
  tokenId: 'tok_a',
  kind: 'client',
  deviceId: undefined,
  permissions: [{ filter: 'a/#', access: 'read' }],
  expiresAt: null,
  address: '127.0.0.1',
  credentialsVersion,
});

describe('CredentialChanges', () => {
  it('admits a handshake that read the version a late announcement carries, refuses one that read older', () => {
    const changes = new CredentialChanges(() => 1_000);
    // The token's creation (version 3) is heard after this handshake read it: it stays.
    changes.heard({ type: 'token-invalidated', tokenId: 'tok_a', version: 3 });
    expect(changes.missed(client(3), 500)).toBe(false);
    expect(changes.missed(client(4), 500)).toBe(false);
    expect(changes.missed(client(2), 500)).toBe(true);
    // An announcement of an older version, heard later, does not lower the bar.
    changes.heard({ type: 'token-invalidated', tokenId: 'tok_a', version: 2 });
    expect(changes.missed(client(2), 500)).toBe(true);
    expect(changes.missed({ ...client(2), tokenId: 'tok_b' }, 500)).toBe(false);
  });

  it('refuses handshakes checked before an unversioned change or a session end', () => {
    const changes = new CredentialChanges(() => 1_000);
    changes.heard({ type: 'token-invalidated', tokenId: 'tok_a' });
    expect(changes.missed(client(9), 1_000)).toBe(true);
    expect(changes.missed(client(9), 1_001)).toBe(false);

    changes.heard({ type: 'session-ended', sessionId: 'ses_1' });
    const operator = {
      ...client(1),
      tokenId: 'ses_1',
      kind: 'operator' as const,
      credentialsVersion: undefined,
    };
    expect(changes.missed(operator, 900)).toBe(true);
    expect(changes.missed(operator, 1_100)).toBe(false);
  });

  it('forgets a change once no handshake can still be in flight from before it', () => {
    let now = 1_000;
    const changes = new CredentialChanges(() => now);
    changes.heard({ type: 'token-invalidated', tokenId: 'tok_a', version: 3 });
    now += 10_001;
    changes.heard({ type: 'session-ended', sessionId: 'other' });
    expect(changes.missed(client(2), 500)).toBe(false);
  });
});

describe('predates', () => {
  it('closes what read an older version, and everything on an unversioned change', () => {
    expect(predates(client(3), 3)).toBe(false);
    expect(predates(client(2), 3)).toBe(true);
    expect(predates(client(5), undefined)).toBe(true);
  });
});
