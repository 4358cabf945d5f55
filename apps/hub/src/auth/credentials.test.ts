import { describe, expect, it } from 'vitest';
import { CredentialError, checkCredentialPlacement } from './credentials.js';
import { newToken } from './secrets.js';

const request = (query: Record<string, unknown>, rawHeaders: string[] = []) => ({
  raw: { rawHeaders },
  query,
});
const refusal = (query: Record<string, unknown>, rawHeaders?: string[]) => {
  try {
    checkCredentialPlacement(request(query, rawHeaders));
    return null;
  } catch (error) {
    if (!(error instanceof CredentialError)) throw error;
    return `${error.statusCode} ${error.message}`;
  }
};

describe('checkCredentialPlacement', () => {
  it('refuses a token-looking value under any parameter name', () => {
    const token = newToken();
    for (const query of [
      { access_token: 'x' },
      { q: token },
      { metric: `temp,${token}` },
      { x: ['a', token] },
      { x: `Bearer ${token.slice(4)}` },
      { x: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln' },
    ]) {
      expect(refusal(query), JSON.stringify(query)).toBe(
        '400 credentials belong in the Authorization header, never in the URL',
      );
    }
  });

  it('leaves ordinary parameters alone, names that merely contain ewt_ included', () => {
    for (const query of [
      { metric: 'newt_population_count_total_abcdefghijklmnopqrstuvwxyz0123456789' },
      { from: '2026-01-01T00:00:00Z', to: '1700000000000', bucket: '1m', agg: 'avg' },
      { metric: 'temp' },
    ]) {
      expect(refusal(query), JSON.stringify(query)).toBeNull();
    }
  });

  it('refuses two Authorization headers, however spelt', () => {
    expect(refusal({}, ['Authorization', 'Bearer a', 'authorization', 'Bearer b'])).toBe(
      '400 send one Authorization header, not several',
    );
    expect(refusal({}, ['Authorization', 'Bearer a', 'Accept', 'text/csv'])).toBeNull();
  });
});
