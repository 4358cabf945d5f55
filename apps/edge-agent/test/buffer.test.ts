import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { waitFor } from '@edgewire/hub/test-support';
import BetterSqlite3 from 'better-sqlite3';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BYTES_PER_READING, ReadingBuffer } from '../src/buffer/reading-buffer.js';
import { tempDir } from './support/temp-dir.js';

const tempPath = () => join(tempDir('agent-buffer-'), 'nested', 'buffer.db');
const open = (path: string, maxBytes = 1e9) => new ReadingBuffer({ path, maxBytes, flushIntervalMs: 60_000 });
const readings = (from: number, count: number, metric = 'temp') =>
  Array.from({ length: count }, (_, i) => ({
    metric,
    value: from + i,
    ts: 1_700_000_000_000 + from + i,
    unit: '°C',
  }));

describe('durable reading buffer', () => {
  it('hands out readings only once committed, in order, with rising seqs', () => {
    const buffer = open(tempPath());
    buffer.append(readings(0, 3));
    expect(buffer.readAfter(0, 10)).toEqual([]);
    buffer.flush();
    const stored = buffer.readAfter(0, 10);
    expect(stored.map((r) => r.value)).toEqual([0, 1, 2]);
    expect(stored[0]).toMatchObject({ metric: 'temp', unit: '°C', ts: 1_700_000_000_000 });
    expect(stored.map((r) => r.seq)).toEqual([...stored.map((r) => r.seq)].sort((a, b) => a - b));
    expect(buffer.readAfter(stored[1]!.seq, 10).map((r) => r.value)).toEqual([2]);
    buffer.close();
  });

  it('keeps unacknowledged readings across a restart and drops acknowledged ones', () => {
    const path = tempPath();
    const first = open(path);
    first.append(readings(0, 10));
    first.flush();
    const seqs = first.readAfter(0, 100).map((r) => r.seq);
    first.ack(seqs[3]!);
    first.close();

    const second = open(path);
    expect(second.readAfter(0, 100).map((r) => r.value)).toEqual([4, 5, 6, 7, 8, 9]);
    expect(second.stats().readings).toBe(6);
    second.close();
  });

  it('never reuses a seq, even after every reading was acknowledged and the agent restarted', () => {
    const path = tempPath();
    const first = open(path);
    first.append(readings(0, 5));
    first.flush();
    const last = first.stats().lastSeq;
    first.ack(last);
    first.close();

    const second = open(path);
    expect(second.stats().readings).toBe(0);
    second.append(readings(5, 1));
    second.flush();
    expect(second.readAfter(0, 10)[0]!.seq).toBeGreaterThan(last);
    second.close();
  });

  it('is bounded in bytes: evicts the oldest readings first, and counts them across restarts', () => {
    const path = tempPath();
    const evictions: Array<[number, number]> = [];
    const buffer = new ReadingBuffer({
      path,
      maxBytes: 100 * BYTES_PER_READING,
      flushIntervalMs: 60_000,
      onEvicted: (count, total) => evictions.push([count, total]),
    });
    buffer.append(readings(0, 250));
    buffer.flush();
    expect(buffer.stats()).toMatchObject({ readings: 100, evicted: 150, bytes: 100 * BYTES_PER_READING });
    const kept = buffer.readAfter(0, 1000).map((r) => r.value);
    expect(kept).toEqual(Array.from({ length: 100 }, (_, i) => 150 + i));
    buffer.append(readings(250, 10));
    buffer.flush();
    expect(evictions).toEqual([
      [150, 150],
      [10, 160],
    ]);
    buffer.close();
    const reopened = open(path, 100 * BYTES_PER_READING);
    expect(reopened.stats().evicted).toBe(160);
    reopened.close();
  });

  it('survives kill -9: every committed reading is there, none twice, no gaps', async () => {
    const path = tempPath();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(import.meta.dirname, 'support', 'buffer-writer.ts'), path],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    // Killed even when the test fails before its own kill, e.g. on a timeout.
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let committed = -1;
    child.stdout.on('data', (chunk: Buffer) => {
      for (const m of chunk.toString().matchAll(/committed (-?\d+)/g))
        committed = Math.max(committed, Number(m[1]));
    });
    await waitFor('20,000 committed readings', () => committed >= 20_000, 20_000);
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await exited;

    const buffer = open(path);
    const values = buffer.readAfter(0, 10_000_000).map((r) => r.value);
    buffer.close();
    expect(values.length).toBeGreaterThan(committed);
    // 0, 1, 2 … in order: nothing lost before the last commit, nothing duplicated, no torn rows.
    expect(values.every((v, i) => v === i)).toBe(true);
  });

  it('keeps readings in memory when a commit fails, and writes them once it can again', async () => {
    const path = tempPath();
    const failures: string[] = [];
    const buffer = new ReadingBuffer({
      path,
      maxBytes: 1e9,
      flushIntervalMs: 50,
      onCommitFailed: (error) => failures.push(error.message),
    });
    buffer.append(readings(0, 10));
    buffer.flush();
    // Another process holds the write lock (as a stuck backup would).
    const other = new BetterSqlite3(path);
    other.exec('begin exclusive');
    buffer.append(readings(10, 5));
    await waitFor('a failed commit', () => failures.length > 0, 5000);
    expect(failures[0]).toMatch(/locked|busy/i);
    expect(buffer.stats()).toMatchObject({ readings: 10, pending: 5 });
    expect(buffer.readAfter(0, 100)).toHaveLength(10);
    other.exec('commit');
    other.close();
    await waitFor('the waiting readings committed', () => buffer.readAfter(0, 100).length === 15, 5000);
    expect(buffer.readAfter(0, 100).map((r) => r.value)).toEqual(Array.from({ length: 15 }, (_, i) => i));
    buffer.close();
  });
});
