/**
 * Finding where a bench window's time went: a CPU profile of the page (CDP Profiler) or a Chromium
 * trace, saved for DevTools and summarised on the console. Both slow the page down.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Page } from 'playwright-core';

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  samples: number[];
  timeDeltas: number[];
}

/** The functions with the most self time in `profile`, as printable lines. */
function hottest(profile: CpuProfile, top = 12): string[] {
  const byNode = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byNode.get(id)!;
    const file = frame.url.split('/').pop() || '';
    const key = `${frame.functionName || '(anonymous)'} ${file}${file ? `:${frame.lineNumber + 1}` : ''}`;
    const us = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + us);
    total += us;
  });
  return [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([key, us]) => `${((us / total) * 100).toFixed(1).padStart(5)}%  ${key}`);
}

type Stop = () => Promise<void>;

/** Starts a CPU profile of `page`; the returned function stops, saves and summarises it. */
async function startProfile(page: Page, dir: string, name: string): Promise<Stop> {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Profiler.enable');
  await cdp.send('Profiler.setSamplingInterval', { interval: 500 });
  await cdp.send('Profiler.start');
  return async () => {
    const { profile } = (await cdp.send('Profiler.stop')) as unknown as { profile: CpuProfile };
    await cdp.detach();
    mkdirSync(dir, { recursive: true });
    const file = `${dir}/${name}.cpuprofile`;
    writeFileSync(file, JSON.stringify(profile));
    console.log(`  CPU profile ${file}; most self time:`);
    for (const line of hottest(profile)) console.log(`    ${line}`);
  };
}

interface TraceEvent {
  name: string;
  ph: string;
  ts: number;
  dur?: number;
  /** CPU time of the thread during the event: far below `dur` when the thread waited for a core. */
  tdur?: number;
  pid: number;
  tid: number;
  args?: { name?: string; data?: { functionName?: string; url?: string; lineNumber?: number } };
}

/** The renderer main thread's tasks over 50 ms in a trace, each with the longest steps inside it. */
function longTasks(trace: { traceEvents: TraceEvent[] }, top = 8): string[] {
  const main = new Set(
    trace.traceEvents
      .filter((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const events = trace.traceEvents.filter((e) => e.ph === 'X' && main.has(`${e.pid}:${e.tid}`));
  const tasks = events
    .filter((e) => e.name === 'ThreadControllerImpl::RunTask' && (e.dur ?? 0) > 50_000)
    .sort((a, b) => b.dur! - a.dur!)
    .slice(0, top);
  return tasks.map((task) => {
    const steps = events
      .filter((e) => e !== task && e.ts >= task.ts && e.ts + (e.dur ?? 0) <= task.ts + task.dur!)
      .filter((e) =>
        [
          'FunctionCall',
          'Layout',
          'UpdateLayoutTree',
          'Paint',
          'PrePaint',
          'MajorGC',
          'MinorGC',
          'V8.GC_MARK_COMPACTOR',
          'ParseHTML',
          'EventDispatch',
        ].includes(e.name),
      )
      .sort((a, b) => b.dur! - a.dur!)
      .slice(0, 4)
      .map((e) => {
        const data = e.args?.data;
        const where =
          data?.functionName !== undefined
            ? ` ${data.functionName || '(anonymous)'} ${data.url?.split('/').pop()}:${data.lineNumber}`
            : '';
        return `${e.name}${where} ${(e.dur! / 1000).toFixed(0)} ms`;
      });
    const cpu = task.tdur === undefined ? '' : ` (${(task.tdur / 1000).toFixed(0)} ms of it on the CPU)`;
    return `${(task.dur! / 1000).toFixed(0)} ms${cpu}: ${steps.join(', ') || 'no step recorded'}`;
  });
}

/** Starts a Chromium trace of `page`; the returned function stops, saves and summarises it. */
async function startTrace(page: Page, dir: string, name: string): Promise<Stop> {
  const browser = page.context().browser()!;
  await browser.startTracing(page, {
    categories: ['toplevel', 'devtools.timeline', 'disabled-by-default-devtools.timeline', 'v8', 'blink'],
  });
  return async () => {
    const trace = await browser.stopTracing();
    mkdirSync(dir, { recursive: true });
    const file = `${dir}/${name}.trace.json`;
    writeFileSync(file, trace);
    const tasks = longTasks(JSON.parse(trace.toString()));
    console.log(`  trace ${file}; ${tasks.length === 0 ? 'no task over 50 ms' : 'longest tasks:'}`);
    for (const line of tasks) console.log(`    ${line}`);
  };
}

/**
 * Starts what was asked for (`profile`, `trace`: the folders to save into) for the window `name`; the
 * returned function stops it all.
 */
export async function startDiagnostics(
  page: Page,
  dirs: { profile?: string | undefined; trace?: string | undefined },
  name: string,
): Promise<Stop> {
  const stops: Stop[] = [];
  if (dirs.profile !== undefined) stops.push(await startProfile(page, dirs.profile, name));
  if (dirs.trace !== undefined) stops.push(await startTrace(page, dirs.trace, name));
  return async () => {
    for (const stop of stops) await stop();
  };
}
