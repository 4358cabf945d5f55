import { describe, expect, it } from 'vitest';
import { count, formatValue } from './format';

describe('count labels', () => {
  it('use the singular for exactly one and the plural otherwise', () => {
    expect(count(1, 'device')).toBe('1 device');
    expect(count(0, 'device')).toBe('0 devices');
    expect(count(2, 'device')).toBe('2 devices');
    expect(count(1000, 'device')).toBe('1,000 devices');
    expect(count(1, 'more device')).toBe('1 more device');
  });
});

describe('values', () => {
  it('keep their width as they stream: a fixed number of decimals for their magnitude', () => {
    const en = (v: number) => formatValue(v).replace(/\s/g, ' ');
    expect([24, 24.05, 24.25].map(en)).toEqual(['24.0', '24.1', '24.3']);
    expect([3, 3.456].map(en)).toEqual(['3.00', '3.46']);
    expect(en(1234.5)).toMatch(/^1.?235$/);
    expect(en(2e-4)).toBe('2.00e-4');
  });
});
