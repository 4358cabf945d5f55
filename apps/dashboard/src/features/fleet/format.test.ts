import { describe, expect, it } from 'vitest';
import { count } from './format';

describe('count labels', () => {
  it('use the singular for exactly one and the plural otherwise', () => {
    expect(count(1, 'device')).toBe('1 device');
    expect(count(0, 'device')).toBe('0 devices');
    expect(count(2, 'device')).toBe('2 devices');
    expect(count(1000, 'device')).toBe('1,000 devices');
    expect(count(1, 'more device')).toBe('1 more device');
  });
});
