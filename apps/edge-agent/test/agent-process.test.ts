/** The agent as systemd runs it, stopped the way systemd stops it. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { waitFor } from '@edgewire/hub/test-support';
import { afterEach, expect, it } from 'vitest';
import { ReadingBuffer } from '../src/buffer/reading-buffer.js';
import { askRunningAgent, statusSocketPath } from '../src/status-socket.js';
import { type AgentProcess, spawnAgentProcess } from './support/agent-process.js';
import { PtyPair } from './support/pty-pair.js';
import { tempDir } from './support/temp-dir.js';

const cleanups: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const committed = (path: string) => {
  const buffer = new ReadingBuffer({ path, maxBytes: 1e9, flushIntervalMs: 60_000 });
  try {
    return buffer.readAfter(0, 1000).map((r) => r.value);
  } finally {
    buffer.close();
  }
};

it('commits the readings it holds in memory on SIGTERM, and exits 0', async () => {
  const dir = tempDir('agent-sigterm-');
  const pty = new PtyPair(dir);
  await pty.plug();
  cleanups.push(() => pty.unplug());
  const bufferPath = join(dir, 'buffer.db');
  const configPath = join(dir, 'agent.yaml');
  writeFileSync(
    configPath,
    JSON.stringify({
      deviceId: 'pi-sigterm',
      // Nothing listens there: no reading leaves the buffer through an ack.
      hub: { url: 'ws://127.0.0.1:1' },
      // The next group commit is 10 s away: what the agent read is only in memory when it is stopped.
      buffer: { path: bufferPath, flushIntervalMs: 10_000, reportIntervalSec: 0 },
      sensors: [{ type: 'serial', path: pty.agentPath, parser: { format: 'json' } }],
    }),
  );
  const agent: AgentProcess = spawnAgentProcess(configPath, 'tok_sigterm');
  cleanups.push(() => agent.child.kill('SIGKILL'));
  // A child process loading TypeScript sources starts slowly on a busy machine.
  await waitFor('the port open', () => agent.output().includes('serial port open'), 60_000);

  for (let n = 0; n < 5; n++) pty.write(`{"n": ${n}}\n`);
  await waitFor(
    'five readings held by the running agent',
    async () => (await askRunningAgent(statusSocketPath(bufferPath)))?.buffered === 5,
  );
  expect(committed(bufferPath)).toEqual([]);

  agent.child.kill('SIGTERM');
  expect(await agent.exited).toBe(0);
  expect(committed(bufferPath)).toEqual([0, 1, 2, 3, 4]);
  expect(agent.output()).toContain('"msg":"agent stopped"');
}, 90_000);
