/**
 * One fan-out measurement: devices send telemetry at a fixed total rate of readings per second;
 * every subscriber of `devices/+/telemetry/#` receives each reading. A reading's value is its send
 * time (performance.now(), same process), so each delivery yields an end-to-end latency.
 */
import type WebSocket from 'ws';
import { type BrokerHub, LatencyHistogram, sleep } from './broker-support.js';
import type { RawSubscriber } from './raw-subscriber.js';

export interface FanoutResult {
  offeredPerSec: number;
  sentReadings: number;
  deliveriesPerSec: number;
  lossPercent: number;
  p50: number;
  p99: number;
  max: number;
  hubCpuMicrosPerDelivery: number;
  /** Hub CPU use during the window, 1 = one full core. */
  hubCpuLoad: number;
  /** This load generator's CPU use during the window: near 1, it (not the hub) was the limit. */
  generatorCpuLoad: number;
}

const VALUE_KEY = Buffer.from('"value":');
const WARMUP_MS = 1000;
/** Readings per frame at most: well under EDGEWIRE_MAX_FRAME_BYTES even when the generator lags. */
const MAX_BATCH = 200;

/** The number after `"value":` in a `msg` frame, without parsing the whole frame. */
function sentAt(data: Buffer): number {
  const start = data.indexOf(VALUE_KEY) + VALUE_KEY.length;
  let end = start;
  while (end < data.length && data[end] !== 44 /* , */ && data[end] !== 125 /* } */) end++;
  return Number(data.toString('latin1', start, end));
}

export async function runFanout(
  hub: BrokerHub,
  devices: readonly WebSocket[],
  subscribers: readonly RawSubscriber[],
  options: { rate: number; seconds: number; seq: { next: number } },
): Promise<FanoutResult> {
  const histogram = new LatencyHistogram();
  let received = 0;
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let inWindow = 0;
  const onMessage = (data: Buffer) => {
    const now = performance.now();
    received++;
    const sent = sentAt(data);
    if (sent >= windowStart && sent < windowEnd) {
      inWindow++;
      histogram.record(now - sent);
    }
  };
  for (const s of subscribers) s.onMessage(onMessage);

  const measureMs = options.seconds * 1000;
  const start = performance.now();
  let sent = 0;
  let cpuBefore = 0;
  let generatorBefore = process.cpuUsage();
  let round = 0;
  for (;;) {
    const elapsed = performance.now() - start;
    if (elapsed >= WARMUP_MS + measureMs) break;
    if (windowStart === Number.POSITIVE_INFINITY && elapsed >= WARMUP_MS) {
      cpuBefore = (await hub.usage()).cpuSeconds;
      generatorBefore = process.cpuUsage();
      windowStart = performance.now();
      windowEnd = windowStart + measureMs;
    }
    let due = Math.floor((options.rate * (performance.now() - start)) / 1000) - sent;
    const perDevice = Math.min(MAX_BATCH, Math.ceil(due / devices.length));
    for (let d = 0; due > 0; d++) {
      const count = Math.min(perDevice, due);
      const now = performance.now();
      const ts = Date.now();
      const readings: string[] = [];
      for (let i = 0; i < count; i++)
        readings.push(`{"metric":"m${(round + i) % 8}","value":${now},"ts":${ts}}`);
      devices[(d + round) % devices.length]!.send(
        `{"type":"telemetry","seq":${options.seq.next++},"readings":[${readings.join(',')}]}`,
      );
      sent += count;
      due -= count;
    }
    round++;
    await sleep(1);
  }
  const cpuAfter = (await hub.usage()).cpuSeconds;
  const generator = process.cpuUsage(generatorBefore);
  // Drain: wait until deliveries stop arriving.
  let last = -1;
  for (let i = 0; i < 50 && received !== last; i++) {
    last = received;
    await sleep(200);
  }
  for (const s of subscribers) s.onMessage(() => {});
  const expected = sent * subscribers.length;
  return {
    offeredPerSec: options.rate,
    sentReadings: sent,
    deliveriesPerSec: inWindow / options.seconds,
    lossPercent: expected === 0 ? 0 : (100 * (expected - received)) / expected,
    p50: histogram.percentile(50),
    p99: histogram.percentile(99),
    max: histogram.max,
    hubCpuMicrosPerDelivery: inWindow === 0 ? Number.NaN : ((cpuAfter - cpuBefore) * 1e6) / inWindow,
    hubCpuLoad: (cpuAfter - cpuBefore) / options.seconds,
    generatorCpuLoad: (generator.user + generator.system) / 1e6 / options.seconds,
  };
}
