/**
 * The agent in one process: sensors → durable buffer → hub, acks → out of the buffer, commands → outputs.
 * `startAgent` runs it in-process (the CLI's `run`, the one-command demo and the tests use it).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { type Reading, readingSchema, type ServerFrame } from '@edgewire/protocol';
import { type BufferStats, ReadingBuffer, type ReadingBufferOptions } from './buffer/reading-buffer.js';
import { CommandRouter } from './commands.js';
import type { AgentConfig } from './config.js';
import { type ConnectionState, HubConnection } from './connection/hub-connection.js';
import { TelemetrySender } from './delivery/telemetry-sender.js';
import type { Logger } from './logger.js';
import { createSensor, type SensorOptions } from './sensors/create-sensor.js';
import type { Sensor } from './sensors/sensor.js';
import { AgentAlreadyRunning, type AgentStatus, serveStatus, statusSocketPath } from './status-socket.js';

/** The hub closes with 1009 when a frame is over its size limit (SPEC "Close codes"). */
const CLOSE_TOO_LARGE = 1009;
const EVICTION_LOG_INTERVAL_MS = 60_000;

export interface StartAgentOptions extends SensorOptions {
  token: string;
  logger: Logger;
  /** Called on every connection state change (the CLI forwards it to systemd's status line). */
  onStateChange?: (state: ConnectionState) => void;
}

export interface AgentStats {
  state: ConnectionState;
  buffer: BufferStats;
  /** Highest seq the hub acknowledged in this run. */
  ackedSeq: number;
  sentReadings: number;
  /** Readings a sensor produced that no hub would accept (bad metric name, non-finite value). */
  droppedReadings: number;
}

export interface RunningAgent {
  readonly state: ConnectionState;
  stats(): AgentStats;
  /** Stops sensors, commits what is buffered, closes the connection. */
  close(): Promise<void>;
}

export async function startAgent(config: AgentConfig, options: StartAgentOptions): Promise<RunningAgent> {
  const logger = options.logger.child({ device: config.deviceId });
  // First, before the buffer is touched: a second agent on the same buffer would send everything twice.
  let status = (): AgentStatus => ({
    pid: process.pid,
    deviceId: config.deviceId,
    state: 'RETRYING',
    buffered: 0,
  });
  const statusServer = await openStatusSocket(config, () => status(), logger);
  let commitFailing = false;
  let evictedSinceLog = 0;
  let evictionLoggedAt = 0;
  const buffer = openBuffer({
    ...config.buffer,
    onCommitFailed: (error) => {
      if (!commitFailing) {
        logger.error(
          { problem: error.message, path: config.buffer.path },
          'cannot write the buffer: readings wait in memory and are written when the disk works again',
        );
      }
      commitFailing = true;
    },
    onEvicted: (count, total) => {
      // A long outage evicts at every commit; one line a minute says as much as two a second.
      evictedSinceLog += count;
      if (Date.now() - evictionLoggedAt < EVICTION_LOG_INTERVAL_MS) return;
      logger.warn(
        { evicted: evictedSinceLog, evictedTotal: total, maxBytes: config.buffer.maxBytes },
        'buffer full: dropped the oldest readings',
      );
      evictedSinceLog = 0;
      evictionLoggedAt = Date.now();
    },
  });
  function openBuffer(options: ReadingBufferOptions): ReadingBuffer {
    try {
      return new ReadingBuffer(options);
    } catch (error) {
      void statusServer?.close();
      throw error;
    }
  }
  buffer.onFlushed(() => {
    if (!commitFailing) return;
    commitFailing = false;
    logger.info({ path: config.buffer.path }, 'the buffer is written again');
  });
  const start = buffer.stats();
  logger.info({ buffered: start.readings, lastSeq: start.lastSeq, path: config.buffer.path }, 'buffer open');

  // The connection is created below; these only run once it exists.
  const send = (text: string) => connection.send(text);
  const sender = new TelemetrySender({ buffer, logger, send, ...config.delivery });
  const commands = new CommandRouter(config.deviceId, logger, send);

  const onFrame = (frame: ServerFrame) => {
    switch (frame.type) {
      case 'ack':
        if (frame.seq !== undefined) sender.acked(frame.seq);
        break;
      case 'error':
        if (typeof frame.ref === 'number') sender.refused(frame);
        else logger.warn({ code: frame.code, problem: frame.message }, 'the hub reported an error');
        break;
      case 'msg':
        if (!commands.handle(frame)) logger.debug({ topic: frame.topic }, 'message ignored');
        break;
      case 'welcome':
        logger.debug({ conn: frame.conn, heartbeatSec: frame.heartbeatSec }, 'welcomed by the hub');
        commands.advertise();
        break;
    }
  };
  const connection = new HubConnection({
    hubUrl: config.hub.url,
    ca: config.hub.ca === undefined ? undefined : readCa(config.hub.ca),
    deviceId: config.deviceId,
    token: options.token,
    logger,
    ...config.connection,
    onFrame,
    onClosed: (code) => {
      if (code === CLOSE_TOO_LARGE) sender.frameTooLarge();
    },
    onStateChange: (state) => {
      if (state === 'CONNECTED') sender.connected();
      else sender.disconnected();
      options.onStateChange?.(state);
    },
  });

  status = () => ({
    pid: process.pid,
    deviceId: config.deviceId,
    state: connection.state,
    ...(connection.problem === undefined ? {} : { problem: connection.problem }),
    buffered: buffer.stats().readings + buffer.stats().pending,
  });

  let dropped = 0;
  const warnedMetrics = new Set<string>();
  const lastTs = new Map<string, number>();
  const emit = (sensor: string) => (readings: Reading[]) => {
    const valid: Reading[] = [];
    for (const reading of readings) {
      const checked = readingSchema.safeParse(reading);
      if (checked.success) {
        valid.push(withDistinctTs(checked.data, lastTs));
        continue;
      }
      dropped++;
      const key = `${sensor}/${reading.metric}`;
      if (!warnedMetrics.has(key)) {
        warnedMetrics.add(key);
        logger.warn(
          { sensor, metric: reading.metric, problem: checked.error.issues[0]?.message },
          'dropped a reading the hub would refuse (further ones of this metric are dropped silently)',
        );
      }
    }
    if (valid.length > 0) buffer.append(valid);
  };

  const started: Sensor[] = [];
  for (const sensorConfig of config.sensors) {
    const name = sensorConfig.name;
    let sensor: Sensor | undefined;
    try {
      sensor = await createSensor(sensorConfig, options);
      await sensor.start({
        logger: logger.child({ sensor: name }),
        emit: emit(name),
        registerCommand: (command, handler) => commands.register(command, handler),
        counters: buffer.counters,
      });
      started.push(sensor);
      logger.info({ sensor: name }, 'sensor started');
    } catch (error) {
      // One broken sensor must not silence the others; `check` says what is wrong with it.
      logger.error({ sensor: name, problem: (error as Error).message }, 'sensor failed to start');
      await sensor?.stop().catch(() => undefined);
    }
  }
  connection.start();

  const report = emit('agent');
  const reportTimer =
    config.buffer.reportIntervalSec > 0
      ? setInterval(() => {
          const stats = buffer.stats();
          const ts = Date.now();
          report([
            { metric: 'agent_buffered_readings', value: stats.readings + stats.pending, ts },
            { metric: 'agent_evicted_readings_total', value: stats.evicted, ts },
          ]);
        }, config.buffer.reportIntervalSec * 1000)
      : undefined;

  return {
    get state() {
      return connection.state;
    },
    stats: () => ({
      state: connection.state,
      buffer: buffer.stats(),
      ackedSeq: sender.stats().ackedSeq,
      sentReadings: sender.stats().sentReadings,
      droppedReadings: dropped,
    }),
    close: async () => {
      clearInterval(reportTimer);
      await Promise.allSettled(started.map((sensor) => sensor.stop()));
      sender.close();
      await connection.close();
      buffer.close();
      await statusServer?.close();
      logger.info({ buffered: buffer.stats().readings }, 'agent stopped');
    },
  };
}

/** Answers `edgewire-agent check` (and refuses a second agent on this buffer); see status-socket.ts. */
async function openStatusSocket(config: AgentConfig, status: () => AgentStatus, logger: Logger) {
  const path = statusSocketPath(config.buffer.path);
  if (path === undefined) return undefined;
  try {
    mkdirSync(dirname(path), { recursive: true });
    return await serveStatus(path, status);
  } catch (error) {
    if (error instanceof AgentAlreadyRunning) throw error;
    // The agent runs without it; only `check` loses sight of it.
    logger.warn(
      { path, problem: (error as Error).message },
      'cannot open the status socket: `edgewire-agent check` will not notice this agent and may disturb it',
    );
    return undefined;
  }
}

/** How far a reading may be moved to keep its timestamp distinct; older ones are backfill, kept as they are. */
const MAX_NUDGE_MS = 1000;

/**
 * The hub stores a reading under (device, metric, ts), so two readings of one metric in the same
 * millisecond (a fast serial line, a simulated signal above 1 kHz) would silently become one. The later
 * one is moved 1 ms past the previous instead.
 */
function withDistinctTs(reading: Reading, lastTs: Map<string, number>): Reading {
  const last = lastTs.get(reading.metric);
  if (last !== undefined && reading.ts <= last && last - reading.ts < MAX_NUDGE_MS) {
    reading = { ...reading, ts: last + 1 };
  }
  if (last === undefined || reading.ts > last) lastTs.set(reading.metric, reading.ts);
  return reading;
}

/** The CA file of `hub.ca`, read at start so that a wrong path stops the agent with the key named. */
function readCa(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new Error(`hub.ca: cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
