/**
 * The hub side of the abuse benchmark, in its own process (pinned to its own core by the benchmark):
 * every limit at its default, in-memory PGlite with the real storage writer, and its log lines counted
 * (bytes) instead of printed. It registers a device, a client token that may read everything, and
 * answers `usage` (CPU, memory, log bytes so far) until told to `close`.
 */
import { Writable } from 'node:stream';
import { startHub } from '../src/hub.js';
import { type ProcessUsage, processUsage } from './hub-process.js';

export interface AbuseHubReady {
  type: 'ready';
  url: string;
  device: { id: string; token: string };
  readerToken: string;
}

export interface AbuseHubUsage extends ProcessUsage {
  type: 'usage';
  logBytes: number;
}

let logBytes = 0;
const hub = await startHub({
  host: '127.0.0.1',
  port: 0,
  dataDir: undefined,
  // EDGEWIRE_* settings given to this process apply (the benchmark sets some per attack).
  env: process.env,
  logLevel: 'info',
  logDestination: new Writable({
    write(chunk: Buffer, _encoding, done) {
      logBytes += chunk.length;
      done();
    },
  }),
});
const device = await hub.admin.addDevice('abuse-dev');
const reader = await hub.admin.addToken({ permissions: [{ filter: '#', access: 'read' }] });
const ready: AbuseHubReady = { type: 'ready', url: hub.url, device, readerToken: reader.token };
process.send!(ready);

process.on('message', async (message: { type: string; gc?: boolean }) => {
  if (message.type === 'usage') {
    const usage: AbuseHubUsage = { type: 'usage', logBytes, ...processUsage(message.gc ?? false) };
    process.send!(usage);
  }
  if (message.type === 'close') {
    await hub.close();
    process.exit(0);
  }
});
