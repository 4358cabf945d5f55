import { Writable } from 'node:stream';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LogSummary } from './log-summary.js';

function capture() {
  const lines: Array<Record<string, unknown>> = [];
  let bytes = 0;
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      bytes += chunk.length;
      lines.push(JSON.parse(chunk.toString()));
      done();
    },
  });
  return { logger: pino({ level: 'info' }, destination), lines, bytes: () => bytes };
}

describe('LogSummary', () => {
  it('logs the first events of an interval in full and sums up the rest in one line', () => {
    const { logger, lines } = capture();
    const summary = new LogSummary(logger, {
      message: 'invalid frame',
      level: 'warn',
      keyName: 'conn',
      intervalMs: 60_000,
      burst: 3,
    });
    for (let i = 0; i < 60; i++) summary.note('a', { conn: 'a', problem: `p${i}` });
    for (let i = 0; i < 30; i++) summary.note('b', { conn: 'b' });
    for (let i = 0; i < 10; i++) summary.note('c', { conn: 'c' });
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ msg: 'invalid frame', conn: 'a', problem: 'p0', level: 40 });
    summary.flush();
    expect(lines).toHaveLength(4);
    expect(lines[3]).toMatchObject({
      msg: 'invalid frame: 97 more not logged one by one',
      suppressed: 97,
      keys: 3,
      top: [
        { conn: 'a', count: 57 },
        { conn: 'b', count: 30 },
        { conn: 'c', count: 10 },
      ],
    });
    // A new interval starts with full lines again; a quiet interval writes nothing.
    summary.note('d', { conn: 'd' });
    expect(lines).toHaveLength(5);
    summary.close();
    expect(lines).toHaveLength(5);
  });

  it('writes a bounded number of bytes however many events and keys come', () => {
    const { logger, lines, bytes } = capture();
    const summary = new LogSummary(logger, {
      message: 'handshake refused',
      level: 'info',
      keyName: 'address',
      intervalMs: 60_000,
      burst: 10,
    });
    for (let i = 0; i < 200_000; i++)
      summary.note(`10.0.${i % 250}.${i % 199}`, { address: 'x', status: 429 });
    summary.close();
    expect(lines).toHaveLength(11);
    expect(lines[10]).toMatchObject({ suppressed: 199_990, keys: 1000 });
    expect((lines[10]!.top as unknown[]).length).toBe(10);
    expect(bytes()).toBeLessThan(4096);
  });

  it('flushes on its own every interval', async () => {
    const { logger, lines } = capture();
    const summary = new LogSummary(logger, {
      message: 'e',
      level: 'info',
      keyName: 'k',
      intervalMs: 50,
      burst: 0,
    });
    summary.note('x', {});
    await expect.poll(() => lines.length).toBe(1);
    expect(lines[0]).toMatchObject({ suppressed: 1, top: [{ k: 'x', count: 1 }] });
    summary.close();
  });
});
