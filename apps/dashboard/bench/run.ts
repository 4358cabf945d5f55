/**
 * Dashboard performance in Debian's chromium (playwright-core), against a real hub in this process:
 *
 * 1. 100 devices × 5 metrics at 10 Hz (5,000 readings/s) streaming into the fleet overview;
 * 2. the same stream while a device page shows its 5 live charts;
 * 3. first render of the overview with 1,000 devices;
 * 4. the gzipped size of the initial route (what index.html loads before any lazy chunk).
 *
 * For 1 and 2: the longest main-thread task (PerformanceObserver `longtask`), the tasks over 50 ms,
 * frames per second (page, and redraws of the busiest and idlest chart: a chart redraws in a frame where
 * a reading arrived or its window slid a pixel), the page's renderer CPU time per second (CDP
 * SystemInfo: unlike the wall-clock figures, it barely depends on what else the machine runs), and
 * the JS heap after a forced GC at the start and the end of the measured window. The hub's storage is
 * replaced by a sink that acknowledges at once: this measures the browser, not the database.
 *
 * On Linux with two cores or more, chromium is pinned to the last core and this process (the hub and
 * the load generator) to the others, with taskset, so that the two do not take turns on one core.
 *
 * The generator sends what is due by the clock, catching up when its timer fires late (a loaded
 * machine fires a 1 ms interval far less often than 1,000 times a second), and the rate it achieved
 * during each window is printed: a figure measured under less load than asked for would flatter.
 *
 * `--profile DIR` also records a CPU profile of the page during each window (CDP Profiler; open the
 * .cpuprofile files in Chromium's DevTools) and prints the functions with the most self time;
 * `--trace DIR` records a Chromium trace instead (open it in DevTools' Performance panel) and prints
 * what the longest main-thread tasks spent their time on. Both slow the page: their windows' figures
 * are for finding causes, not for reporting.
 *
 *   node --conditions=source --import tsx bench/run.ts [--seconds 120] [--warmup 10] [--profile DIR] [--trace DIR]
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import type { TelemetrySink } from '@edgewire/hub';
import type { Browser, Page } from 'playwright-core';
import WebSocket from 'ws';
import { launchChromium } from '../e2e/browser';
import { DIST, ensureBuilt, startDashboardHub } from '../e2e/dashboard-hub';
import { startDiagnostics } from './diagnostics';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '120' },
    warmup: { type: 'string', default: '10' },
    devices: { type: 'string', default: '100' },
    profile: { type: 'string' },
    trace: { type: 'string' },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (values.help) {
  console.log(`usage: pnpm --filter @edgewire/dashboard bench [-- --seconds N] [--warmup N] [--devices N] [--profile DIR] [--trace DIR]

Streams devices × 5 metrics at 10 Hz into the fleet overview and into a device page, in Debian's chromium,
and prints the longest main-thread task, frame rates and heap growth over the measured window (default 120 s);
then the first render of the overview with 1,000 devices and the gzipped size of the initial route.
--profile DIR writes a CPU profile of the page for each window there and prints its hottest functions;
--trace DIR writes a Chromium trace for each window there and prints what its longest tasks did.`);
  process.exit(0);
}
const SECONDS = Number(values.seconds);
const WARMUP = Number(values.warmup);
const DEVICES = Number(values.devices);
const METRICS = ['temperature', 'humidity', 'pressure', 'voltage', 'current'];
const HZ = 10;

/** Acknowledges every batch at once: the bench measures the dashboard, not storage. */
function instantSink(): TelemetrySink {
  let committed: (deviceId: string, seq: number) => void = () => {};
  return {
    healthy: true,
    offer(batch) {
      queueMicrotask(() => committed(batch.deviceId, batch.seq));
      return true;
    },
    onCommitted(listener) {
      committed = listener;
    },
    close: async () => {},
  };
}

/** Pins every thread of this process to `cores` (taskset's list syntax); false where that is not possible. */
function pinSelf(cores: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Cumulative CPU seconds of the renderer processes (the page's main thread is in one of them). */
async function rendererCpuSeconds(browser: Browser): Promise<number> {
  const cdp = await browser.newBrowserCDPSession();
  const { processInfo } = (await cdp.send('SystemInfo.getProcessInfo')) as {
    processInfo: Array<{ type: string; cpuTime: number }>;
  };
  await cdp.detach();
  return processInfo.filter((p) => p.type === 'renderer').reduce((sum, p) => sum + p.cpuTime, 0);
}

function initialRouteBytes(): { files: string[]; raw: number; gzip: number } {
  const html = readFileSync(`${DIST}/index.html`, 'utf8');
  const files = ['index.html', ...[...html.matchAll(/(?:src|href)="\/(assets\/[^"]+)"/g)].map((m) => m[1]!)];
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = readFileSync(`${DIST}/${file}`);
    raw += bytes.length;
    gzip += gzipSync(bytes, { level: 9 }).length;
  }
  return { files, raw, gzip };
}

/**
 * Installed before the app's scripts: long tasks and frame counting. Plain text, because the
 * TypeScript loader would wrap named functions in a helper that the page does not have.
 */
const PROBE = `
  window.__bench = { longest: 0, over50: 0, frames: 0 };
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      window.__bench.longest = Math.max(window.__bench.longest, entry.duration);
      if (entry.duration > 50) window.__bench.over50++;
    }
  }).observe({ type: 'longtask', buffered: true });
  const tick = () => { window.__bench.frames++; requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
`;

async function heapMb(page: Page): Promise<number> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('HeapProfiler.collectGarbage');
  const { usedSize } = (await cdp.send('Runtime.getHeapUsage')) as { usedSize: number };
  await cdp.detach();
  return usedSize / 1024 / 1024;
}

interface Window {
  /** Readings the generator sent per second during the window (the load actually applied). */
  readingsPerSecond: number;
  longest: number;
  over50: number;
  pageFps: number;
  chartFps: { most: number; least: number } | undefined;
  rendererCpuMsPerSecond: number;
  heapStart: number;
  heapEnd: number;
}

/** Measures `seconds` after `WARMUP`, resetting the long-task record at the start of the window. */
async function measure(page: Page, seconds: number, name: string): Promise<Window> {
  await page.waitForTimeout(WARMUP * 1000);
  const heapStart = await heapMb(page);
  const read = () =>
    page.evaluate(() => {
      const w = window as unknown as { __bench: { longest: number; over50: number; frames: number } };
      const charts = [...document.querySelectorAll<HTMLElement>('.chart-host')].map((h) =>
        Number(h.dataset.frames ?? 0),
      );
      return { ...w.__bench, charts, at: performance.now() };
    });
  await page.evaluate(() => {
    const w = window as unknown as { __bench: { longest: number; over50: number } };
    w.__bench.longest = 0;
    w.__bench.over50 = 0;
  });
  const browser = page.context().browser()!;
  const stopDiagnostics = await startDiagnostics(page, values, name);
  const cpuStart = await rendererCpuSeconds(browser);
  const sentStart = { readings: sent, at: performance.now() };
  const start = await read();
  await page.waitForTimeout(seconds * 1000);
  const end = await read();
  const readingsPerSecond = ((sent - sentStart.readings) * 1000) / (performance.now() - sentStart.at);
  const cpuEnd = await rendererCpuSeconds(browser);
  await stopDiagnostics();
  const heapEnd = await heapMb(page);
  const elapsed = (end.at - start.at) / 1000;
  const perChart = end.charts.map((f, i) => (f - (start.charts[i] ?? 0)) / elapsed);
  const chartFps =
    perChart.length > 0 ? { most: Math.max(...perChart), least: Math.min(...perChart) } : undefined;
  return {
    readingsPerSecond,
    longest: end.longest,
    over50: end.over50,
    pageFps: (end.frames - start.frames) / elapsed,
    chartFps,
    rendererCpuMsPerSecond: ((cpuEnd - cpuStart) * 1000) / elapsed,
    heapStart,
    heapEnd,
  };
}

function report(name: string, w: Window): void {
  const growth = ((w.heapEnd - w.heapStart) / w.heapStart) * 100;
  console.log(`\n${name} (${SECONDS} s measured after ${WARMUP} s warm-up)`);
  console.log(`  readings sent              ${w.readingsPerSecond.toFixed(0)} per second`);
  console.log(
    `  longest main-thread task   ${w.longest.toFixed(0)} ms   (tasks over 50 ms: ${w.over50})   goal: none over 50 ms`,
  );
  console.log(
    `  frames per second (rAF)    ${w.pageFps.toFixed(1)}   goal: ≥ 55 (animation frames the page got while readings streamed)`,
  );
  if (w.chartFps !== undefined)
    console.log(
      `  chart redraws per second   ${w.chartFps.least.toFixed(1)} … ${w.chartFps.most.toFixed(1)} (a frame with a new reading or a slide of ≥ 1 px)`,
    );
  console.log(`  renderer CPU               ${w.rendererCpuMsPerSecond.toFixed(0)} ms per second`);
  console.log(
    `  JS heap after GC           ${w.heapStart.toFixed(1)} MB → ${w.heapEnd.toFixed(1)} MB (${growth >= 0 ? '+' : ''}${growth.toFixed(1)}%)   goal: within 10% over 2 min`,
  );
}

await ensureBuilt();
// Chromium's processes inherit the affinity of this process when it launches them.
const cores = availableParallelism();
const pinned = cores >= 2 && pinSelf(String(cores - 1));
const browser = await launchChromium();
if (pinned) pinSelf(`0-${cores - 2}`);
console.log(
  pinned
    ? `taskset: chromium on core ${cores - 1}, the hub and the load generator on ${cores === 2 ? 'core 0' : `cores 0-${cores - 2}`}`
    : 'taskset: not pinned (needs Linux, taskset and two cores)',
);
const hub = await startDashboardHub({ telemetrySink: instantSink });
const password = 'bench password 123';
await hub.admin.addUser('bench', 'admin', password);

// The generator: DEVICES device connections, each a telemetry frame of 5 readings every 100 ms, spread evenly.
const sockets: WebSocket[] = [];
for (let i = 0; i < DEVICES; i++) {
  const id = `bench-${String(i).padStart(4, '0')}`;
  const { token } = await hub.admin.addDevice(id, { labels: { rack: String(i % 10) } });
  const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/ws/device/${id}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await new Promise((resolve, reject) => {
    socket.once('open', resolve);
    socket.once('error', reject);
  });
  sockets.push(socket);
}
let seq = 0;
let slot = 0;
/** Readings sent so far, for the rate each window achieved. */
let sent = 0;
const SLOTS = 10;
const SLOT_MS = 1000 / HZ / SLOTS;
const generatorStart = performance.now();
const generatorEpoch = Date.now();
let slotsSent = 0;
const generator = setInterval(() => {
  // Every slot that is due by the clock, however late this timer fired (at most a second's worth).
  const due = Math.floor((performance.now() - generatorStart) / SLOT_MS);
  slotsSent = Math.max(slotsSent, due - SLOTS * HZ);
  for (; slotsSent < due; slotsSent++) {
    // The time the slot was due: readings sent late by a catch-up keep their own 100 ms steps.
    const now = Math.round(generatorEpoch + slotsSent * SLOT_MS);
    for (let i = slot; i < sockets.length; i += SLOTS) {
      seq++;
      sent += METRICS.length;
      sockets[i]!.send(
        JSON.stringify({
          type: 'telemetry',
          seq,
          readings: METRICS.map((metric, m) => ({
            metric,
            value: 20 + m + Math.sin(now / 2000 + i) * 5,
            ts: now,
          })),
        }),
      );
    }
    slot = (slot + 1) % SLOTS;
  }
}, SLOT_MS);

try {
  const context = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  await context.addInitScript(PROBE);
  const page = await context.newPage();
  await page.goto(hub.url);
  await page.getByLabel('Name').fill('bench');
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByText(`${DEVICES.toLocaleString('en')} devices ·`).waitFor({ timeout: 30_000 });
  await page.locator('tr[data-device]').first().waitFor({ timeout: 30_000 });
  console.log(
    `streaming ${DEVICES} devices × ${METRICS.length} metrics at ${HZ} Hz = ${DEVICES * METRICS.length * HZ} readings/s`,
  );
  console.log(`load average at start: ${execFileSync('cat', ['/proc/loadavg']).toString().trim()}`);
  report('fleet overview', await measure(page, SECONDS, 'overview'));

  await page.goto(`${hub.url}/devices/bench-0000`);
  await page
    .locator('.chart-host[data-points]')
    .nth(METRICS.length - 1)
    .waitFor({ timeout: 30_000 });
  report('device page, 5 live charts', await measure(page, SECONDS, 'device-page'));
  clearInterval(generator);

  for (let i = DEVICES; i < 1000; i++) await hub.admin.addDevice(`bench-${String(i).padStart(4, '0')}`);
  const first = await browser.newContext({ viewport: { width: 1440, height: 1000 } });
  // When the overview shows all 1,000 devices (the count, and the rows of its first screen), to the
  // frame: no polling delay in the figure. Rows further down are built as the list scrolls near them.
  await first.addInitScript(`
    const seen = new MutationObserver(() => {
      const head = document.querySelector('#fleet-title + p');
      if (!head || !head.textContent.startsWith('1,000 devices')) return;
      if (document.querySelectorAll('tr[data-device]').length < 20) return;
      window.__rowsAt = performance.now();
      seen.disconnect();
    });
    seen.observe(document, { childList: true, subtree: true });
  `);
  const fresh = await first.newPage();
  await fresh.goto(hub.url);
  await fresh.getByLabel('Name').fill('bench');
  await fresh.getByLabel('Password').fill(password);
  await fresh.getByRole('button', { name: 'Sign in' }).click();
  await fresh.locator('.conn[data-state="open"]').waitFor({ timeout: 30_000 });
  const cookie = (await first.cookies(hub.url)).map((c) => `${c.name}=${c.value}`).join('; ');
  const listStart = performance.now();
  const listCpu = process.cpuUsage();
  const listed = await fetch(`${hub.url}/api/devices`, { headers: { cookie } });
  const listBytes = (await listed.arrayBuffer()).byteLength;
  const { user, system } = process.cpuUsage(listCpu);
  const listMs = performance.now() - listStart;
  const cpuBefore = await rendererCpuSeconds(browser);
  await fresh.reload();
  await fresh.waitForFunction(
    () => (window as unknown as { __rowsAt?: number }).__rowsAt !== undefined,
    null,
    {
      timeout: 120_000,
    },
  );
  const renderCpuMs = ((await rendererCpuSeconds(browser)) - cpuBefore) * 1000;
  const render = await fresh.evaluate(() => {
    const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
    const rowsAt = (window as unknown as { __rowsAt: number }).__rowsAt;
    return { sinceNavigation: rowsAt, domContentLoaded: nav.domContentLoadedEventEnd };
  });
  console.log('\nfleet overview, 1,000 devices, signed in, fresh load');
  console.log(
    `  1,000 devices listed, first screen of rows drawn ${render.sinceNavigation.toFixed(0)} ms after navigation start`,
  );
  console.log(`  (DOMContentLoaded at        ${render.domContentLoaded.toFixed(0)} ms)`);
  console.log(
    `  renderer CPU, load to rows  ${renderCpuMs.toFixed(0)} ms (includes this bench's polling for the rows)`,
  );
  console.log(
    `  of which GET /api/devices   ${listMs.toFixed(0)} ms on its own (${(listBytes / 1024).toFixed(0)} KiB), ${((user + system) / 1000).toFixed(0)} ms CPU of this process (the hub with its database thread, and the request's client side)`,
  );
} finally {
  clearInterval(generator);
  await browser.close();
  for (const socket of sockets) socket.close();
  await hub.close();
}

const bundle = initialRouteBytes();
console.log('\ninitial route (index.html and what it loads before any lazy chunk)');
console.log(`  ${bundle.files.join(', ')}`);
console.log(`  ${(bundle.raw / 1024).toFixed(1)} KiB raw, ${(bundle.gzip / 1024).toFixed(1)} KiB gzipped`);
