/**
 * A started HubConnection with a test's timings (retries in tens of ms, not seconds), its log lines and
 * the states it went through, for the suites that drive the connection on its own.
 */
import { HubConnection, type HubConnectionOptions } from '../../src/connection/hub-connection.js';
import { captureLogs } from './log-capture.js';

type Target = Pick<HubConnectionOptions, 'hubUrl' | 'deviceId' | 'token'>;

export function startTestConnection(options: Target & Partial<HubConnectionOptions>) {
  const logs = captureLogs();
  const states: string[] = [];
  const connection = new HubConnection({
    logger: logs.logger,
    initialBackoffMs: 50,
    maxBackoffMs: 400,
    stableAfterMs: 60_000,
    refusedRetryMs: 800,
    heartbeatSec: 20,
    onFrame: () => undefined,
    onStateChange: (state) => states.push(state),
    ...options,
  });
  connection.start();
  return { connection, logs, states };
}
