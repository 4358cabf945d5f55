import { describe, expect, it } from 'vitest';
import { Ring } from './ring';

describe('Ring', () => {
  it('keeps the newest values in order once full', () => {
    const ring = new Ring(3);
    for (let i = 1; i <= 5; i++) ring.push(i * 10, i);
    const seen: Array<[number, number]> = [];
    ring.forEach((t, v) => {
      seen.push([t, v]);
    });
    expect(seen).toEqual([
      [30, 3],
      [40, 4],
      [50, 5],
    ]);
  });
});
