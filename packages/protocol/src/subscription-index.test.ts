import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SubscriptionIndex } from './subscription-index.js';
import { contains, matches } from './topics.js';

describe('SubscriptionIndex', () => {
  it('finds every subscriber whose filter matches, each once', () => {
    const index = new SubscriptionIndex<string>();
    index.add('devices/+/telemetry/#', 'dashboard');
    index.add('devices/pi-1/telemetry/temp', 'dashboard');
    index.add('devices/pi-1/#', 'ops');
    index.add('#', 'audit');
    index.add('$SYS/#', 'monitor');
    expect([...index.match('devices/pi-1/telemetry/temp')].sort()).toEqual(['audit', 'dashboard', 'ops']);
    expect([...index.match('devices/pi-2/status')].sort()).toEqual(['audit']);
    expect([...index.match('$SYS/load')]).toEqual(['monitor']);
    expect(index.hasMatch('nothing/here')).toBe(true);
    index.remove('#', 'audit');
    expect(index.hasMatch('nothing/here')).toBe(false);
  });

  it('reports duplicates and unknown removals', () => {
    const index = new SubscriptionIndex<number>();
    expect(index.add('a/b', 1)).toBe(true);
    expect(index.add('a/b', 1)).toBe(false);
    expect(index.remove('a/c', 1)).toBe(false);
    expect(index.remove('a/b', 2)).toBe(false);
    expect(index.size).toBe(1);
    expect(index.remove('a/b', 1)).toBe(true);
    expect(index.isEmpty()).toBe(true);
  });
});

// Random topics over a tiny alphabet so that filters and topics collide often.
const level = fc.constantFrom('a', 'b', '', '$x');
const topicArb = fc.array(level, { minLength: 1, maxLength: 5 }).map((levels) => levels.join('/'));
const filterArb = fc
  .tuple(fc.array(fc.constantFrom('a', 'b', '', '+', '$x'), { minLength: 1, maxLength: 5 }), fc.boolean())
  .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'))
  .chain((f) => fc.constantFrom(f, '#'));

/** The obvious, slow definition: try every filter. */
function naiveMatch(subs: Array<[string, number]>, topic: string): number[] {
  return [...new Set(subs.filter(([f]) => matches(f, topic)).map(([, s]) => s))].sort((x, y) => x - y);
}

describe('properties against a naive reference', () => {
  it('match agrees with trying every filter', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(filterArb, fc.integer({ min: 0, max: 5 })), { maxLength: 30 }),
        fc.array(topicArb, { minLength: 1, maxLength: 10 }),
        (subs, topics) => {
          const index = new SubscriptionIndex<number>();
          for (const [f, s] of subs) index.add(f, s);
          for (const topic of topics) {
            expect([...index.match(topic)].sort((x, y) => x - y)).toEqual(naiveMatch(subs, topic));
            expect(index.hasMatch(topic)).toBe(naiveMatch(subs, topic).length > 0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });

  it('removing every subscription leaves the index empty, in any order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(filterArb, fc.integer({ min: 0, max: 5 })), { maxLength: 30 }),
        fc.func(fc.integer()),
        (subs, shuffleKey) => {
          const index = new SubscriptionIndex<number>();
          for (const [f, s] of subs) index.add(f, s);
          const order = subs.map((sub, i) => ({ sub, key: shuffleKey(i) })).sort((x, y) => x.key - y.key);
          for (const { sub } of order) index.remove(sub[0], sub[1]);
          expect(index.size).toBe(0);
          expect(index.isEmpty()).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('contains(outer, inner) holds exactly when every sampled topic inner matches, outer matches', () => {
    // Exhaustive over the small universe of topics up to 6 levels from the alphabet, which includes every
    // shape a counter-example to these filters can take.
    const universe: string[] = [];
    const grow = (prefix: string[], depth: number) => {
      if (prefix.length > 0) universe.push(prefix.join('/'));
      if (depth === 6) return;
      for (const l of ['a', 'b', '', '$x', 'c']) grow([...prefix, l], depth + 1);
    };
    grow([], 0);
    fc.assert(
      fc.property(filterArb, filterArb, (outer, inner) => {
        const reference = universe.every((t) => !matches(inner, t) || matches(outer, t));
        expect(contains(outer, inner)).toBe(reference);
      }),
      { numRuns: 300 },
    );
  });
});
