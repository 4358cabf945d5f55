import { expect, it } from 'vitest';
import { HandshakeAdmission } from './handshake-admission.js';

const admitted = (admission: HandshakeAdmission, address: string, n: number) =>
  Array.from({ length: n }, () => admission.admit(address)).filter((r) => r === undefined).length;

it('admits a burst of 2 s worth per address, then refuses with a Retry-After', () => {
  const admission = new HandshakeAdmission({ handshakeRate: 1000, handshakeRatePerAddress: 10 });
  expect(admitted(admission, '10.0.0.1', 25)).toBe(20);
  const refusal = admission.admit('10.0.0.1');
  expect(refusal?.reason).toContain('this address');
  expect(refusal?.retryAfterSec).toBeGreaterThanOrEqual(1);
  // Another address has its own budget.
  expect(admission.admit('10.0.0.2')).toBeUndefined();
});

it('caps all addresses together at the hub rate', () => {
  const admission = new HandshakeAdmission({ handshakeRate: 5, handshakeRatePerAddress: 100 });
  const addresses = Array.from({ length: 30 }, (_, i) => `10.0.1.${i}`);
  const results = addresses.map((a) => admission.admit(a));
  expect(results.filter((r) => r === undefined)).toHaveLength(10);
  expect(results.at(-1)?.reason).toContain('the hub');
});

it('does not let an address over its own budget drain the hub budget', () => {
  const admission = new HandshakeAdmission({ handshakeRate: 10, handshakeRatePerAddress: 2 });
  // The abuser gets its 4, then 96 refusals that cost the hub budget nothing.
  expect(admitted(admission, '198.51.100.7', 100)).toBe(4);
  // 20 - 4 = 16 left for everyone else.
  const others = Array.from({ length: 30 }, (_, i) => admission.admit(`10.0.2.${i}`));
  expect(others.filter((r) => r === undefined)).toHaveLength(16);
});
