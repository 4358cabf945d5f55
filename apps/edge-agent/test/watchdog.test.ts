/**
 * The systemd notify protocol, received by a real unix datagram socket (socat) standing in for
 * systemd's: READY and STATUS at start, WATCHDOG pings at half the WatchdogSec interval.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sleep, waitFor } from '@edgewire/hub/test-support';
import { afterEach, describe, expect, it } from 'vitest';
import { systemdNotifier } from '../src/watchdog.js';
import { captureLogs } from './support/log-capture.js';
import { tempDir } from './support/temp-dir.js';

let socat: ChildProcess | undefined;
afterEach(() => {
  socat?.kill('SIGKILL');
});

describe('systemd notify', () => {
  it('does nothing outside systemd', async () => {
    // A systemd-notify first on PATH that writes down every call, marked with who made it.
    const calls = join(tempDir('agent-notify-calls-'), 'calls');
    const fakeNotify = (who: string) => {
      const bin = tempDir(`agent-notify-${who}-`);
      writeFileSync(join(bin, 'systemd-notify'), `#!/bin/sh\necho "${who} $@" >> ${calls}\n`, {
        mode: 0o755,
      });
      return { PATH: bin, WATCHDOG_USEC: '100000' };
    };
    const outside = systemdNotifier(captureLogs().logger, fakeNotify('outside'));
    outside.ready('starting');
    outside.status('hub CONNECTED');
    // Control: the same fake under systemd is called; once it has pinged the watchdog twice, an
    // armed watchdog timer outside systemd would have pinged too.
    const inside = systemdNotifier(captureLogs().logger, {
      ...fakeNotify('inside'),
      NOTIFY_SOCKET: join(tmpdir(), 'no-such-notify-socket'),
    });
    inside.ready('starting');
    const read = () => (existsSync(calls) ? readFileSync(calls, 'utf8').trim().split('\n') : []);
    await waitFor(
      'two watchdog pings under systemd',
      () => read().filter((l) => l === 'inside WATCHDOG=1').length >= 2,
    );
    outside.stop();
    inside.stop();
    await waitFor('STOPPING under systemd', () => read().includes('inside STOPPING=1'));
    expect(read().filter((l) => l.startsWith('outside'))).toEqual([]);
    expect(read()).toContain('inside --ready --status=starting');
  });

  it('sends READY and STATUS, then WATCHDOG=1 every half watchdog interval', async () => {
    const socket = join(tempDir('agent-notify-'), 'notify');
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
