/**
 * A real hub serving the built dashboard, for the end-to-end tests and the bench: in-process, embedded
 * in-memory PGlite, a random port, quiet logs. Builds the dashboard first when dist/ is missing.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type HubOptions, type RunningHub, startHub } from '@edgewire/hub';

export const DIST = fileURLToPath(new URL('../dist', import.meta.url));
const ROOT = fileURLToPath(new URL('..', import.meta.url));

export async function ensureBuilt(): Promise<void> {
  if (existsSync(`${DIST}/index.html`)) return;
  const { build } = await import('vite');
  await build({ root: ROOT, logLevel: 'warn' });
}

export async function startDashboardHub(
  options: Pick<HubOptions, 'env' | 'telemetrySink'> = {},
): Promise<RunningHub> {
  await ensureBuilt();
  return startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir: undefined,
    logLevel: 'warn',
    dashboardDir: DIST,
    handshakeRatePerAddress: 100_000,
    deviceConnectsPerMinute: 1000,
    // The slowest password hash the hub allows is for production; tests sign in many times.
    passwordScryptLog2N: 14,
    publishRate: 100_000,
    publishBurst: 200_000,
    telemetrySink: options.telemetrySink,
    env: options.env ?? {},
  });
}
