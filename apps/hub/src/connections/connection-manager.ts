/**
 * The life of an accepted WebSocket: registration (a newer device connection replaces the older, 4009),
 * `welcome`, presence, frames, expiry, and the control events that end connections early (4003).
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Logger } from 'pino';
import type { WebSocket } from 'ws';
import type { AcceptedHandshake } from '../auth/handshake.js';
import type { Bus, ControlEvent } from '../bus/bus.js';
import { isNewer } from '../cluster/device-generations.js';
import type { DevicePresence } from '../presence.js';
import type { HubStats } from '../stats.js';
import { CloseCode } from './close-codes.js';
import { Connection, type ConnectionLimits } from './connection.js';
import { CredentialChanges, predates } from './credential-changes.js';
import type { FrameHandler } from './frame-handler.js';
import { type ConnectionRegistry, orderOf } from './registry.js';
import { WriteCoalescer } from './write-coalescer.js';

/** setTimeout cannot wait longer than this; a later expiry is re-armed in steps. */
const MAX_TIMER_MS = 2_147_483_647;

export interface ConnectionManagerOptions {
  readonly registry: ConnectionRegistry;
  readonly presence: DevicePresence;
  readonly bus: Bus;
  readonly frames: FrameHandler;
  readonly stats: HubStats;
  readonly logger: Logger;
  readonly limits: ConnectionLimits;
  readonly heartbeatSec: number;
  /** Told when devices come and go (last seen, address, agent version for operators); errors are logged. */
  readonly deviceActivity?: DeviceActivity;
}

export interface DeviceActivity {
  connected(deviceId: string, address: string, agentVersion: string | undefined): Promise<void>;
  disconnected(deviceId: string): Promise<void>;
}

export class ConnectionManager {
  #shuttingDown = false;
  readonly #changes = new CredentialChanges();
  readonly #coalescer = new WriteCoalescer();

  constructor(private readonly options: ConnectionManagerOptions) {}

  accept(socket: WebSocket, transport: Socket, handshake: AcceptedHandshake): Connection {
    const { registry, frames, stats, logger, limits } = this.options;
    const { identity } = handshake;
    const id = randomBytes(8).toString('hex');
    const log = logger.child(
      identity.deviceId === undefined ? { conn: id } : { conn: id, device: identity.deviceId },
    );
    const connection = new Connection(id, identity, socket, transport, this.#coalescer, log, limits, stats);
    const replaced = registry.add(connection);
    // A newer connection of the device finished its handshake here first: this one goes at once (below).
    const superseded = replaced === connection;
    if (!superseded) replaced?.close(CloseCode.replaced, 'replaced by a newer connection of this device');
    const activity = this.options.deviceActivity;
    const noted = (error: unknown) => log.warn({ err: error }, 'recording device activity failed');
    if (identity.deviceId !== undefined && !superseded) {
      this.#announce(identity.deviceId, connection);
      activity?.connected(identity.deviceId, identity.address, handshake.agentVersion).catch(noted);
    }
    log.info({ kind: identity.kind, tokenId: identity.tokenId }, 'connected');

    socket.on('message', (data, isBinary) => {
      connection.bytesIn += Array.isArray(data)
        ? data.reduce((sum, part) => sum + part.length, 0)
        : (data as Buffer | ArrayBuffer).byteLength;
      try {
        frames.handle(connection, data, isBinary);
      } catch (error) {
        // A bug must cost one frame an `internal` error, not the whole hub its process.
        log.error({ err: error }, 'frame handling failed');
        connection.sendError('internal', 'the hub failed to handle this frame');
      }
    });
    socket.on('pong', () => {
      connection.missedPongs = 0;
    });
    const expiry = this.#armExpiry(connection);
    socket.on('close', (code) => {
      clearTimeout(expiry.timer);
      const wasLive = registry.remove(connection);
      log.info({ code }, 'disconnected');
      if (wasLive && identity.deviceId !== undefined && !connection.replaced) {
        activity?.disconnected(identity.deviceId).catch(noted);
        if (!this.#shuttingDown) this.options.presence.set(identity.deviceId, false);
      }
    });

    if (superseded) {
      connection.close(CloseCode.replaced, 'replaced by a newer connection of this device');
      return connection;
    }
    if (this.#changes.missed(identity, handshake.checkedAt)) {
      // Changed after this handshake read the credentials, and heard between its check and the upgrade.
      connection.close(CloseCode.credentialsInvalidated, 'token revoked or changed');
      return connection;
    }
    connection.sendJson({
      type: 'welcome',
      conn: id,
      ...(identity.deviceId === undefined ? {} : { device: identity.deviceId }),
      heartbeatSec: this.options.heartbeatSec,
      permissions: identity.permissions,
    });
    frames.subscribeAtConnect(connection, handshake.topics);
    if (identity.deviceId !== undefined) {
      frames.deviceConnected(connection);
      this.options.presence.set(identity.deviceId, true);
    }
    return connection;
  }

  /** Applies a control event from the bus to this instance's connections. */
  onControl(event: ControlEvent): void {
    const { registry } = this.options;
    if (event.type === 'token-invalidated' || event.type === 'session-ended') this.#changes.heard(event);
    switch (event.type) {
      case 'token-invalidated':
        for (const connection of registry.ofToken(event.tokenId)) {
          if (predates(connection.identity, event.version))
            connection.close(CloseCode.credentialsInvalidated, 'token revoked or changed');
        }
        return;
      case 'session-ended':
        for (const connection of registry.ofToken(event.sessionId)) {
          connection.close(CloseCode.credentialsInvalidated, 'operator session ended');
        }
        return;
      case 'connections-query':
      case 'connections-report':
        return;
      case 'telemetry-committed': {
        const device = registry.device(event.deviceId);
        if (!device) return;
        // The refused frame's readings are stored after all (an earlier copy was still queued): stop
        // waiting for a resend the agent, its buffer now acked past it, will never send.
        if (device.refusedSeq !== undefined && event.seq >= device.refusedSeq) device.refusedSeq = undefined;
        device.sendJson({ type: 'ack', seq: event.seq });
        return;
      }
      case 'device-connected': {
        // Only a newer connection replaces this one: the announcement of an older one may arrive late,
        // after this instance took the device over (the older one's instance hears of that and closes it).
        const local = registry.device(event.deviceId);
        if (!local || local.id === event.connId) return;
        const { connId, generation } = event;
        if (generation === undefined || isNewer({ connId, generation }, orderOf(local))) {
          local.replaced = true;
          local.close(CloseCode.replaced, 'replaced by a newer connection of this device');
        } else {
          // The older one may still be open (its handshake finished after this one's announcement went out).
          this.#announce(event.deviceId, local);
        }
        return;
      }
    }
  }

  /** Tells every instance that `connection` is the device's live one: older ones close with 4009. */
  #announce(deviceId: string, connection: Connection): void {
    const { connId, generation } = orderOf(connection);
    this.options.bus.control({ type: 'device-connected', deviceId, connId, generation });
  }

  /** Closes every connection with 1001 for shutdown; presence is not rewritten on the way out. */
  closeAll(): void {
    this.#shuttingDown = true;
    for (const connection of this.options.registry.all()) {
      connection.close(CloseCode.goingAway, 'hub shutting down');
    }
  }

  #armExpiry(connection: Connection): { timer: NodeJS.Timeout | undefined } {
    const holder: { timer: NodeJS.Timeout | undefined } = { timer: undefined };
    const expiresAt = connection.identity.expiresAt;
    if (expiresAt === null) return holder;
    const arm = () => {
      const left = expiresAt.getTime() - Date.now();
      if (left <= 0) {
        connection.close(CloseCode.credentialsInvalidated, 'token expired');
        return;
      }
      holder.timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
      holder.timer.unref();
    };
    arm();
    return holder;
  }
}
