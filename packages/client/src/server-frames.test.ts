import { describe, expect, it } from 'vitest';
import { readServerFrame } from './server-frames.js';

describe('readServerFrame', () => {
  it('types the frames the client relies on', () => {
    expect(readServerFrame({ type: 'ack', ref: 'c1' })).toEqual({ type: 'ack', ref: 'c1' });
    const positions = { a: { epoch: 'e', offset: 0 } };
    expect(readServerFrame({ type: 'ack', ref: 2, positions })).toEqual({ type: 'ack', ref: 2, positions });
    expect(
      readServerFrame({ type: 'msg', topic: 'a', payload: 1, ts: 5, pos: { epoch: 'e', offset: 1 } }),
    ).toMatchObject({
      pos: { epoch: 'e', offset: 1 },
    });
  });

  it('names what is wrong with a frame it cannot use', () => {
    expect(readServerFrame([])).toBe('frame must be a JSON object');
    expect(readServerFrame({ type: 'msg', topic: 3, ts: 1 })).toBe('msg: topic must be a string');
    expect(readServerFrame({ type: 'welcome', conn: 'c', heartbeatSec: 0, permissions: [] })).toMatch(
      /heartbeatSec/,
    );
    expect(readServerFrame({ type: 'ack', ref: 1, positions: { a: { epoch: 'e', offset: '1' } } })).toMatch(
      /positions/,
    );
    expect(readServerFrame({ type: 'nope' })).toBe('unknown frame type "nope"');
  });
});
