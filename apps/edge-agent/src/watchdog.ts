/**
 * systemd's notify protocol (Type=notify, WatchdogSec). Node cannot send on a unix datagram socket, so
 * the `systemd-notify` tool does it (the unit sets NotifyAccess=all, since the tool is a child
 * process). The watchdog ping runs on the event loop, so a wedged loop stops the pings and systemd
 * restarts the agent.
 */
import { execFile } from 'node:child_process';
import type { Logger } from './logger.js';

export interface SystemdNotifier {
  ready(status: string): void;
  status(status: string): void;
  stop(): void;
}

export function systemdNotifier(logger: Logger, env: NodeJS.ProcessEnv = process.env): SystemdNotifier {
  if (!env.NOTIFY_SOCKET) return { ready: () => undefined, status: () => undefined, stop: () => undefined };
  const notify = (...args: string[]) =>
    execFile('systemd-notify', args, { env }, (error) => {
      if (error) logger.warn({ problem: error.message }, 'systemd-notify failed');
    });
  const watchdogUsec = Number(env.WATCHDOG_USEC);
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(watchdogUsec) && watchdogUsec > 0) {
    // Half the watchdog interval, as sd_watchdog_enabled(3) recommends.
    timer = setInterval(() => notify('WATCHDOG=1'), watchdogUsec / 2000);
    timer.unref();
  }
  return {
    ready: (status) => notify('--ready', `--status=${status}`),
    status: (status) => notify(`--status=${status}`),
    stop: () => {
      clearInterval(timer);
      notify('STOPPING=1');
    },
  };
}
