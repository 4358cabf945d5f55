import type { Socket } from 'node:net';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import type { WebSocket } from 'ws';
import { HubStats } from '../stats.js';
import { Connection } from './connection.js';
import { ConnectionRegistry } from './registry.js';
import { WriteCoalescer } from './write-coalescer.js';

const limits = {
  maxQueuedBytes: 1 << 20,
  slowConsumerGraceMs: 1000,
  publishRate: 10,
  publishBurst: 10,
  subscribeRate: 10,
};

/** A device connection as far as the registry looks at it; nothing here is ever sent. */
function deviceConnection(id: string, generation: number): Connection {
  const identity = {
    tokenId: 'token-1',
    kind: 'device' as const,
    deviceId: 'pi-1',
    permissions: [],
    expiresAt: null,
    address: '127.0.0.1',
    generation,
  };
  const socket = { extensions: '' } as unknown as WebSocket;
  const logger = pino({ level: 'silent' });
  return new Connection(
    id,
    identity,
    socket,
    {} as Socket,
    new WriteCoalescer(),
    logger,
    limits,
    new HubStats(),
  );
}

it("keeps the newest of a device's connections, whichever handshake finishes last", () => {
  const registry = new ConnectionRegistry();
  const older = deviceConnection('c1', 5);
  const newer = deviceConnection('c2', 6);
  expect(registry.add(older)).toBeUndefined();
  expect(registry.add(newer)).toBe(older);
  expect(registry.device('pi-1')).toBe(newer);

  const late = deviceConnection('c0', 4);
  expect(registry.add(late)).toBe(late);
  expect(registry.device('pi-1')).toBe(newer);
  expect(registry.remove(late)).toBe(false);
  expect(registry.device('pi-1')).toBe(newer);
});
