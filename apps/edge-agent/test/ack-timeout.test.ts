import { join } from 'node:path';
import { waitFor } from '@edgewire/hub/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { startAgent } from '../src/agent.js';
import { parseConfig } from '../src/config.js';
import { captureLogs } from './support/log-capture.js';
import { startScriptedHub, welcome } from './support/scripted-hub.js';
import { tempDir } from './support/temp-dir.js';

const ACK_TIMEOUT_MS = 500;
const RESENDING = 'no ack from the hub in time: sending again from the oldest unacknowledged reading';

interface Received {
  seq: number;
  firstTs: number;
}

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * A hub-like server on a real socket: welcomes the agent, records every telemetry frame, and acks
 * each one unless `swallow` says to drop it without a word.
 */
async function hubThatAcks(swallow: (frame: Received) => boolean) {
  const received: Received[] = [];
  const hub = await startScriptedHub(() => ({
    accept: (ws) => {
      ws.send(welcome());
      ws.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as {
          type: string;
          seq: number;
          readings: { ts: number }[];
        };
        if (frame.type !== 'telemetry') return;
        const entry = { seq: frame.seq, firstTs: frame.readings[0]!.ts };
        received.push(entry);
        if (!swallow(entry)) ws.send(JSON.stringify({ type: 'ack', ref: frame.seq, seq: frame.seq }));
      });
    },
  }));
  cleanups.push(() => hub.close());
  return { hub, received };
}

async function streamingAgent(hubUrl: string) {
  const dir = tempDir('agent-ack-timeout-');
  const logs = captureLogs('info');
  const agent = await startAgent(
    parseConfig({
      deviceId: 'pi-1',
      hub: { url: hubUrl },
      buffer: { path: join(dir, 'buffer.db'), flushIntervalMs: 50, reportIntervalSec: 0 },
      delivery: { ackTimeoutMs: ACK_TIMEOUT_MS },
      sensors: [{ type: 'simulated', rateHz: 50, signals: [{ metric: 'level' }] }],
    }),
    { token: 'tok_ack_timeout', logger: logs.logger },
  );
  cleanups.push(() => agent.close());
  return { agent, logs };
}

describe('ack timeout', () => {
  it('sends again, on the same connection, what a hub swallowed without an answer', async () => {
    // The first frame is dropped; like a hub whose commits are in order, nothing later is acked
    // until that frame's readings arrive again.
    let lost: Received | undefined;
    let recovered = false;
    const { hub, received } = await hubThatAcks((frame) => {
      if (!lost) {
        lost = frame;
        return true;
      }
      if (!recovered && frame.firstTs === lost.firstTs) recovered = true;
      return !recovered;
    });
    const { agent, logs } = await streamingAgent(hub.url);

    await waitFor('the swallowed readings acknowledged', () => lost && agent.stats().ackedSeq >= lost.seq);
    const resend = received.find((f) => f !== lost && f.firstTs === lost!.firstTs)!;
    expect(hub.attempts).toHaveLength(1);
    const warning = logs.lines.find((l) => l.msg === RESENDING);
    expect(warning).toMatchObject({ level: 40, seq: lost!.seq, waitedMs: ACK_TIMEOUT_MS });
    // Delivery goes on after the recovery.
    await waitFor('later readings acknowledged', () => agent.stats().ackedSeq > resend.seq);
  });

  it('sends nothing twice to a hub that acks, however long the stream runs', async () => {
    const { hub, received } = await hubThatAcks(() => false);
    const { agent, logs } = await streamingAgent(hub.url);
    // Four timeouts' worth of streaming: an ack timer that were not reset by acks would have fired.
    const started = Date.now();
    await waitFor(
      'four ack timeouts of acknowledged streaming',
      () => Date.now() - started > 4 * ACK_TIMEOUT_MS,
    );
    await waitFor('the last frame acknowledged', () => agent.stats().ackedSeq === received.at(-1)?.seq);
    expect(received.length).toBeGreaterThan(10);
    expect(new Set(received.map((f) => f.firstTs)).size).toBe(received.length);
    expect(logs.lines.filter((l) => l.msg === RESENDING)).toEqual([]);
  });
});
