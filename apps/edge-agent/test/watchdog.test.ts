/**
 * The systemd notify protocol, received by a real unix datagram socket (socat) standing in for
 * systemd's: READY and STATUS at start, WATCHDOG pings at half the WatchdogSec interval.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, waitFor } from '@edgewire/hub/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { systemdNotifier } from '../src/watchdog.js';
import { captureLogs } from './support/log-capture.js';

let socat: ChildProcess | undefined;
afterEach(() => {
  socat?.kill('SIGKILL');
});

describe('systemd notify', () => {
  it('does nothing outside systemd', async () => {
    const notifier = systemdNotifier(captureLogs().logger, {});
    notifier.ready('x');
    notifier.stop();
  });

  it('sends READY and STATUS, then WATCHDOG=1 every half watchdog interval', async () => {
    const socket = join(mkdtempSync(join(tmpdir(), 'agent-notify-')), 'notify');
    socat = spawn('socat', ['-u', `UNIX-RECV:${socket}`, 'STDOUT'], { stdio: ['ignore', 'pipe', 'inherit'] });
    let received = '';
    socat.stdout!.on('data', (chunk: Buffer) => {
      received += chunk.toString();
    });
    await waitFor('the notify socket', () => existsSync(socket));

    const notifier = systemdNotifier(captureLogs().logger, {
      NOTIFY_SOCKET: socket,
      WATCHDOG_USEC: '400000',
    });
    notifier.ready('hub RETRYING');
    await sleep(1100);
    notifier.stop();
    await waitFor('STOPPING', () => received.includes('STOPPING=1'));
    expect(received).toContain('READY=1');
    expect(received).toContain('STATUS=hub RETRYING');
    // 1.1 s at one ping per 200 ms (timers may run late on a busy machine, never early).
    const pings = received.split('WATCHDOG=1').length - 1;
    expect(pings).toBeGreaterThanOrEqual(3);
    expect(pings).toBeLessThanOrEqual(6);
  });
});
