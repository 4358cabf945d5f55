import { describe, expect, it } from 'vitest';
import type { BusMessage } from '../bus/bus.js';
import { MemoryRetainedStore } from './retained-store.js';

const retained = (payload: BusMessage['payload'], ts: number): BusMessage => ({
  topic: 'config/mode',
  payload,
  ts,
  retain: true,
});
const held = (store: MemoryRetainedStore) => store.matching('config/#').map((message) => message.payload);

describe('MemoryRetainedStore', () => {
  it('ends with the newer of two retained messages, whichever arrives first', () => {
    for (const order of [
      [retained('old', 1000), retained('new', 2000)],
      [retained('new', 2000), retained('old', 1000)],
    ]) {
      const store = new MemoryRetainedStore();
      const kept = order.map((message) => store.set(message));
      expect(held(store)).toEqual(['new']);
      // The older one, arriving second, is refused: it is not delivered either.
      expect(kept).toEqual(order[0]!.payload === 'old' ? [true, true] : [true, false]);
    }
  });

  it('keeps the order of arrival within one millisecond', () => {
    const store = new MemoryRetainedStore();
    store.set(retained('first', 1000));
    expect(store.set(retained('second', 1000))).toBe(true);
    expect(held(store)).toEqual(['second']);
  });

  it('does not bring back a topic cleared after the message that arrives late', () => {
    const store = new MemoryRetainedStore();
    store.set(retained('on', 1000));
    store.set(retained(null, 3000));
    expect(store.set(retained('on', 2000))).toBe(false);
    expect(held(store)).toEqual([]);
    expect(store.set(retained('back', 4000))).toBe(true);
    expect(held(store)).toEqual(['back']);
  });
});
