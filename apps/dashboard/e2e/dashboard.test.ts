/**
 * The dashboard end to end: a real hub serving the built app, a real simulated agent, Debian's
 * chromium. One story, in order, the way an operator lives it; screenshots of every page in light and
 * dark land in e2e-artifacts/ (git-ignored).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { parseConfig, type RunningAgent, startAgent } from '@edgewire/edge-agent';
import type { RunningHub } from '@edgewire/hub';
import pino from 'pino';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { launchChromium } from './browser';
import { startDashboardHub } from './dashboard-hub';

const ARTIFACTS = fileURLToPath(new URL('../e2e-artifacts/', import.meta.url));
const SHOTS = `${ARTIFACTS}screenshots/`;
const ADMIN = { name: 'admin', password: 'correct horse battery staple' };
const VIEWER = { name: 'vera', password: 'viewer password 1234' };
const DEVICE = 'e2e-pi';
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

let hub: RunningHub;
let browser: Browser;
let agent: RunningAgent | undefined;
const agentLog: string[] = [];
const cspViolations: string[] = [];

async function newSignedInPage(
  user: { name: string; password: string },
  width = 1280,
): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport: { width, height: 900 }, acceptDownloads: true });
  const page = await context.newPage();
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
  });
  await page.goto(hub.url);
  await page.getByLabel('Name').fill(user.name);
  await page.getByLabel('Password').fill(user.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('.conn[data-state="open"]').waitFor({ timeout: 10_000 });
  return { context, page };
}

/** Scans the page with axe-core (evaluated through the DevTools protocol, so the CSP stays strict). */
async function expectAccessible(page: Page, name: string): Promise<void> {
  await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (
      window as unknown as {
        axe: {
          run(): Promise<{
            violations: Array<{ id: string; impact: string; help: string; nodes: unknown[] }>;
          }>;
        };
      }
    ).axe.run();
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.length,
    }));
  });
  const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  expect(serious, `${name}: ${JSON.stringify(serious)}`).toEqual([]);
}

async function screenshots(page: Page, name: string): Promise<void> {
  for (const theme of ['light', 'dark'] as const) {
    await page.evaluate((t) => {
      document.documentElement.dataset.theme = t;
      localStorage.setItem('edgewire.theme', t);
      window.dispatchEvent(new Event('edgewire-theme'));
    }, theme);
    await page.waitForTimeout(150);
    await page.screenshot({ path: `${SHOTS}${name}-${theme}.png`, fullPage: true });
    await expectAccessible(page, `${name} (${theme})`);
  }
}

beforeAll(async () => {
  mkdirSync(SHOTS, { recursive: true });
  hub = await startDashboardHub();
  await hub.admin.addUser(ADMIN.name, 'admin', ADMIN.password);
  await hub.admin.addUser(VIEWER.name, 'viewer', VIEWER.password);
  browser = await launchChromium();
});

afterAll(async () => {
  await agent?.close();
  await browser?.close();
  await hub?.close();
});

describe('dashboard', () => {
  let admin: Page;
  let watcher: Page;
  let token = '';

  it('signs in, and refuses a wrong password in words', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(hub.url);
    await screenshots(page, 'sign-in');
    await page.getByLabel('Name').fill(ADMIN.name);
    await page.getByLabel('Password').fill('wrong password entirely');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('Wrong name or password');
    await context.close();

    ({ page: admin } = await newSignedInPage(ADMIN));
    ({ page: watcher } = await newSignedInPage(ADMIN));
    await admin.getByRole('heading', { name: 'Fleet' }).waitFor();
  });

  it('adds a device: the token is shown once with an install snippet, and a second window sees the device live', async () => {
    await admin.getByRole('link', { name: 'Admin' }).click();
    await admin.getByLabel('Device id').fill(DEVICE);
    await admin.getByLabel('Labels').fill('site=lab, floor=2');
    await admin.getByRole('button', { name: 'Add device' }).click();
    token = (await admin.getByTestId('secret').textContent()) ?? '';
    expect(token.length).toBeGreaterThanOrEqual(43);
    await expect(admin.locator('.snippet').textContent()).resolves.toContain(`--device-id ${DEVICE}`);
    await screenshots(admin, 'admin-device-added');
    await admin.getByRole('button', { name: 'Done' }).click();
    // The other window was on the fleet page all along and never reloaded.
    await watcher.locator(`tr[data-device="${DEVICE}"]`).waitFor({ timeout: 5000 });
    await expect(watcher.locator(`tr[data-device="${DEVICE}"] .status`).textContent()).resolves.toBe(
      'offline',
    );
  });

  it('shows a started agent online with its value within 1 s, and its chart moves', async () => {
    const lines = new Writable({
      write(chunk, _encoding, done) {
        agentLog.push(chunk.toString());
        done();
      },
    });
    agent = await startAgent(
      parseConfig({
        deviceId: DEVICE,
        hub: { url: hub.url },
        buffer: { path: ':memory:', maxBytes: '1MB' },
        sensors: [
          {
            type: 'simulated',
            rateHz: 5,
            signals: [{ metric: 'temperature', unit: '°C', wave: 'sine', periodSec: 20, min: 18, max: 26 }],
          },
        ],
      }),
      { token, logger: pino({ level: 'info' }, lines) },
    );
    const row = admin.locator(`tr[data-device="${DEVICE}"]`);
    await admin.getByRole('link', { name: 'Fleet' }).click();
    await row.locator('.status.online').waitFor({ timeout: 10_000 });
    const onlineAt = Date.now();
    await admin.waitForFunction(
      (id) => document.querySelector(`tr[data-device="${id}"] .values`)?.textContent?.includes('temperature'),
      DEVICE,
      { timeout: 1000 },
    );
    expect(Date.now() - onlineAt).toBeLessThan(1000);
    await expect(watcher.locator(`tr[data-device="${DEVICE}"] .status`).textContent()).resolves.toBe(
      'online',
    );
    await screenshots(admin, 'fleet');

    await row.getByRole('link', { name: DEVICE }).click();
    // The window listed the device before it ever connected; the page still names where it connected
    // from and which agent it runs, as the agent told the hub (User-Agent: edgewire-agent/<version>).
    const detail = (term: string) => admin.locator(`#conn-title + .details dt:text-is("${term}") + dd`);
    await detail('Address')
      .filter({ hasText: /^127\.0\.0\.1$/ })
      .waitFor({ timeout: 5000 });
    await detail('Agent')
      .filter({ hasText: /^\d+\.\d+\.\d+/ })
      .waitFor({ timeout: 5000 });
    const chart = admin.locator('figure[data-metric="temperature"] canvas').first();
    await chart.waitFor();
    const before = await chart.screenshot();
    await admin.waitForTimeout(1500);
    const after = await chart.screenshot();
    expect(Buffer.compare(before, after)).not.toBe(0);
  });

  it('switches the range and shows stored points, and downloads them as CSV', async () => {
    await admin.waitForTimeout(1500);
    const switchedAt = Date.now();
    await admin.getByText('1 h', { exact: true }).click();
    await admin.getByText(/history in \w+ buckets/).waitFor();
    // The oldest point shown predates the switch: it came from storage, not from the stream.
    await admin.waitForFunction(
      (before) => {
        const shown = document.querySelector<HTMLElement>('figure[data-metric="temperature"] .chart-host');
        return Number(shown?.dataset.points ?? 0) > 1 && Number(shown?.dataset.first) * 1000 < before;
      },
      switchedAt - 1000,
      { timeout: 5000 },
    );
    await screenshots(admin, 'device');

    const [download] = await Promise.all([
      admin.waitForEvent('download'),
      admin.getByRole('button', { name: 'Download CSV' }).click(),
    ]);
    const csv = readFileSync((await download.path())!, 'utf8');
    const lines = csv.trim().split('\n');
    expect(lines.length).toBeGreaterThan(1);
    expect(csv).toContain('temperature');
  });

  it("shows the other operator's change instead of overwriting it (stale edit, 412)", async () => {
    await admin.goto(`${hub.url}/admin/devices`);
    await watcher.goto(`${hub.url}/admin/devices`);
    const edit = async (page: Page, name: string) => {
      await page.locator(`tr[data-device="${DEVICE}"]`).getByRole('button', { name: 'Edit' }).click();
      await page.locator('input[name="edit-name"]').fill(name);
    };
    await edit(admin, 'Lab Pi (admin)');
    await edit(watcher, 'Lab Pi (watcher)');
    await watcher.getByRole('button', { name: 'Save' }).click();
    await admin.locator(`tr[data-device="${DEVICE}"]`).getByText('Lab Pi (watcher)').waitFor();
    await admin.getByRole('button', { name: 'Save' }).click();
    await expect(admin.getByTestId('conflict').textContent()).resolves.toContain('Lab Pi (watcher)');
    await admin.getByRole('button', { name: 'Cancel' }).click();
  });

  it('rotating the token closes the agent with 4003 and every window shows the device offline', async () => {
    await watcher.goto(hub.url);
    await admin.locator(`tr[data-device="${DEVICE}"]`).getByRole('button', { name: 'Rotate token' }).click();
    await admin.getByTestId('secret').waitFor();
    await watcher.locator(`tr[data-device="${DEVICE}"] .status.offline`).waitFor({ timeout: 5000 });
    await expect.poll(() => agentLog.join(''), { timeout: 5000 }).toContain('(4003)');
    await admin.getByRole('button', { name: 'Done' }).click();
  });

  it('shows every administration page accessibly, in light and dark', async () => {
    for (const tab of ['tokens', 'connections', 'operators', 'audit']) {
      await admin.goto(`${hub.url}/admin/${tab}`);
      await admin.locator('.admin-table').waitFor();
      await screenshots(admin, `admin-${tab}`);
    }
  });

  it('topic explorer subscribes, pauses and shows a message as JSON', async () => {
    await admin.goto(`${hub.url}/explorer`);
    await admin.getByLabel('Filter').fill('devices/+/#');
    await admin.getByRole('button', { name: 'Subscribe' }).click();
    await admin.locator('.log-row').first().click();
    await expect(admin.locator('.json').textContent()).resolves.toContain('"topic"');
    await admin.getByLabel('Filter').fill('a/#/b');
    await expect(admin.locator('#filter-help').textContent()).resolves.toContain('# may only stand');
    await admin.getByLabel('Filter').fill('devices/+/#');
    await screenshots(admin, 'explorer');
  });

  it('a viewer sees no admin actions, and the API refuses them anyway', async () => {
    const { context, page } = await newSignedInPage(VIEWER, 390);
    await page.getByRole('heading', { name: 'Fleet' }).waitFor();
    await screenshots(page, 'fleet-phone-viewer');
    expect(await page.getByRole('link', { name: 'Admin' }).count()).toBe(0);
    await page.goto(`${hub.url}/admin/devices`);
    await expect(page.getByRole('alert').textContent()).resolves.toContain('for admins');
    await page.goto(`${hub.url}/devices/${DEVICE}`);
    await page.getByRole('heading', { name: 'Connection' }).waitFor();
    expect(await page.getByRole('heading', { name: 'Commands' }).count()).toBe(0);
    const status = await page.evaluate(async () => {
      const response = await fetch('/api/devices', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'sneaky' }),
      });
      return response.status;
    });
    expect(status).toBe(403);
    await context.close();
  });

  it('a device page shows which other operators are looking at it, and when they leave', async () => {
    await admin.goto(`${hub.url}/devices/${DEVICE}`);
    const viewers = admin.getByTestId('page-viewers');
    await viewers.getByText('No other operator is looking at this device.').waitFor();
    const { context, page: other } = await newSignedInPage(VIEWER);
    await other.goto(`${hub.url}/devices/${DEVICE}`);
    await viewers.getByText(`Also looking: ${VIEWER.name}`).waitFor({ timeout: 10_000 });
    // Both windows are on the page: each sees the other, never itself.
    await other.getByTestId('page-viewers').getByText(`Also looking: ${ADMIN.name}`).waitFor();
    await other.getByRole('link', { name: 'Fleet' }).first().click();
    await viewers.getByText('No other operator is looking at this device.').waitFor({ timeout: 10_000 });
    // A closed window counts as leaving too, with no goodbye of its own.
    await other.goBack();
    await viewers.getByText(`Also looking: ${VIEWER.name}`).waitFor({ timeout: 10_000 });
    await context.close();
    await viewers.getByText('No other operator is looking at this device.').waitFor({ timeout: 10_000 });
  });

  it('refuses a WebSocket opened with the session cookie from a foreign Origin', async () => {
    const cookies = await admin.context().cookies(hub.url);
    const cookie = cookies.map((c) => `${c.name}=${c.value}`).join('; ');
    const statusOf = (origin: string) =>
      new Promise<number>((resolve) => {
        const socket = new WebSocket(`${hub.url.replace('http', 'ws')}/ws`, { headers: { cookie, origin } });
        socket.on('open', () => {
          socket.close();
          resolve(101);
        });
        socket.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
        socket.on('error', () => {});
      });
    expect(await statusOf('http://evil.example')).toBe(403);
    expect(await statusOf(hub.url)).toBe(101);
  });

  it('breaks no Content-Security-Policy rule on any page', () => {
    expect(cspViolations).toEqual([]);
  });
});
