import { describe, expect, it } from 'vitest';
import { revocationEvent } from './revocation-listener.js';

describe('revocationEvent', () => {
  it('reads the announcements of migrations 0003 and 0006', () => {
    expect(revocationEvent('token:tok_a-B_c:7')).toEqual({
      type: 'token-invalidated',
      tokenId: 'tok_a-B_c',
      version: 7,
    });
    expect(revocationEvent('session:s1')).toEqual({ type: 'session-ended', sessionId: 's1' });
  });

  it("passes over the bare token announcement kept for earlier hubs and a device's, and rejects what it can't read", () => {
    expect(revocationEvent('token:tok_a')).toBeNull();
    // A deleted device's tokens announce their own deletion, with their versions.
    expect(revocationEvent('device:d1')).toBeNull();
    for (const payload of ['token:tok_a:', 'token:tok_a:x', 'token::7', 'token:a:b:7', 'other:x', 'token:'])
      expect(revocationEvent(payload)).toBeUndefined();
  });
});
