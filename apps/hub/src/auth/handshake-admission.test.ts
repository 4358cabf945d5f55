import { expect, it } from 'vitest';
import { loadConfig } from '../config.js';
import { HandshakeAdmission } from './handshake-admission.js';

const limits = { handshakesPending: 1_000_000 };

/** How many of `n` handshakes from `address` are admitted (each one finished at once). */
function admitted(admission: HandshakeAdmission, address: string, n: number): number {
  let count = 0;
  for (let i = 0; i < n; i++) {
    const result = admission.admit(address);
    if (result.admitted) {
      result.done();
      count++;
    }
  }
  return count;
}

it('admits a burst of 2 s worth per address, then refuses with a Retry-After', () => {
  const admission = new HandshakeAdmission({ ...limits, handshakeRate: 1000, handshakeRatePerAddress: 10 });
  expect(admitted(admission, '10.0.0.1', 25)).toBe(20);
  const refusal = admission.admit('10.0.0.1');
  expect(refusal).toMatchObject({ admitted: false, reason: expect.stringContaining('this address') });
  expect(refusal.admitted === false && refusal.retryAfterSec).toBeGreaterThanOrEqual(1);
  // Another address has its own budget.
  expect(admission.admit('10.0.0.2').admitted).toBe(true);
});

it("tells a fleet refused together each one's turn, spread over the time its address's rate needs", () => {
  const admission = new HandshakeAdmission({ ...limits, handshakeRate: 1000, handshakeRatePerAddress: 10 });
  expect(admitted(admission, '100.64.0.9', 20)).toBe(20);
  const waits = Array.from({ length: 50 }, () => {
    const refusal = admission.admit('100.64.0.9');
    return refusal.admitted ? 0 : refusal.retryAfterSec;
  });
  // 50 more at 10/s: told 1 s … 5 s, at most 10 to each second, in the order they came.
  expect(Math.min(...waits)).toBe(1);
  expect(Math.max(...waits)).toBeGreaterThanOrEqual(4);
  expect(Math.max(...waits)).toBeLessThanOrEqual(5);
  for (let second = 1; second <= 5; second++)
    expect(waits.filter((w) => w === second).length).toBeLessThanOrEqual(10);
  expect(waits).toEqual([...waits].sort((a, b) => a - b));
  // Another address is not behind that queue.
  expect(admission.admit('100.64.0.10').admitted).toBe(true);
});

it('never tells a client to wait more than a minute, however long the queue', () => {
  const admission = new HandshakeAdmission({ ...limits, handshakeRate: 1000, handshakeRatePerAddress: 1 });
  let longest = 0;
  for (let i = 0; i < 500; i++) {
    const refusal = admission.admit('198.51.100.8');
    if (!refusal.admitted) longest = Math.max(longest, refusal.retryAfterSec);
  }
  expect(longest).toBe(60);
});

it('caps all addresses together at the hub rate', () => {
  const admission = new HandshakeAdmission({ ...limits, handshakeRate: 5, handshakeRatePerAddress: 100 });
  const addresses = Array.from({ length: 30 }, (_, i) => `10.0.1.${i}`);
  const results = addresses.map((a) => admission.admit(a));
  expect(results.filter((r) => r.admitted)).toHaveLength(10);
  expect(results.at(-1)).toMatchObject({ admitted: false, reason: expect.stringContaining('the hub') });
});

it('does not let an address over its own budget drain the hub budget', () => {
  const admission = new HandshakeAdmission({ ...limits, handshakeRate: 10, handshakeRatePerAddress: 2 });
  // The abuser gets its 4, then 96 refusals that cost the hub budget nothing.
  expect(admitted(admission, '198.51.100.7', 100)).toBe(4);
  // 20 - 4 = 16 left for everyone else, and the abuser's queue does not lengthen theirs.
  const others = Array.from({ length: 30 }, (_, i) => admission.admit(`10.0.2.${i}`));
  expect(others.filter((r) => r.admitted)).toHaveLength(16);
  expect(Math.max(...others.map((r) => (r.admitted ? 0 : r.retryAfterSec)))).toBe(2);
});

it('caps handshakes in progress: a slow token check sheds load instead of queueing it', () => {
  const admission = new HandshakeAdmission({
    handshakesPending: 3,
    handshakeRate: 1000,
    handshakeRatePerAddress: 1000,
  });
  const inProgress = [admission.admit('10.0.3.1'), admission.admit('10.0.3.2'), admission.admit('10.0.3.3')];
  expect(inProgress.every((t) => t.admitted)).toBe(true);
  expect(admission.admit('10.0.3.4')).toEqual({
    admitted: false,
    reason: 'the hub is busy checking other handshakes',
    retryAfterSec: 1,
  });
  const first = inProgress[0]!;
  if (first.admitted) {
    first.done();
    first.done(); // finishing twice frees one place, not two
  }
  expect(admission.admit('10.0.3.4').admitted).toBe(true);
  expect(admission.admit('10.0.3.5').admitted).toBe(false);
});

it('with the default settings, admits 1,000 handshakes from one address at once (a NAT-ed fleet reconnecting)', () => {
  // The old default (50/s per address, burst 250) refused all but 250 of these.
  const admission = new HandshakeAdmission(loadConfig({}));
  expect(admitted(admission, '100.64.0.1', 1000)).toBe(1000);
});
