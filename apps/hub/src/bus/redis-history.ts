/**
 * History shared by a cluster: one Redis Stream per stream (trimmed with MAXLEN, expiring with the
 * history's age) and a hash holding its epoch and last offset. Both keys carry one hash tag, so they live
 * in one Redis Cluster slot and a script may touch them together. Entry ids are `0-<offset>`, so a
 * position maps to an entry without a lookup.
 */
import { randomBytes } from 'node:crypto';
import { matches } from '@edgewire/protocol';
import { isCluster, type RedisClient } from '../cluster/redis-client.js';
import {
  type BusMessage,
  type HistoryLimits,
  NOT_RECOVERED,
  type Recovery,
  type StreamPosition,
} from './bus.js';
import { streamOfFilter } from './streams.js';

/**
 * `current(log, meta, fresh, ttl)`: the stream's epoch and last offset. A stream never started, or whose
 * entries or metadata were lost, starts over under the fresh epoch at offset 0.
 */
const CURRENT = `
local function current(log, meta, fresh, ttl)
  local epoch = redis.call('HGET', meta, 'epoch')
  local offset = tonumber(redis.call('HGET', meta, 'offset') or '0')
  if (not epoch) or (offset > 0 and redis.call('EXISTS', log) == 0) then
    epoch = fresh
    offset = 0
    redis.call('DEL', log)
    redis.call('HSET', meta, 'epoch', epoch, 'offset', 0)
  end
  redis.call('PEXPIRE', meta, ttl)
  return epoch, offset
end`;

/** KEYS: log, meta; ARGV: ttl ms, a fresh epoch. Returns {epoch, offset}: where a subscriber starts. */
const POSITION = `${CURRENT}
return {current(KEYS[1], KEYS[2], ARGV[2], ARGV[1])}`;

/**
 * Appends to several streams at once, numbering each one's messages after its last offset. KEYS: log and
 * meta of each stream; ARGV: size, ttl ms, then a fresh epoch and a message count per stream, then the
 * messages of every stream in that order. Returns {epoch, first offset} per stream, flattened.
 */
const APPEND = `${CURRENT}
local streams = #KEYS / 2
local next = 3 + 2 * streams
local out = {}
for s = 1, streams do
  local log, meta = KEYS[2 * s - 1], KEYS[2 * s]
  local count = tonumber(ARGV[2 + 2 * s])
  local epoch = current(log, meta, ARGV[1 + 2 * s], ARGV[2])
  local first = redis.call('HINCRBY', meta, 'offset', count) - count + 1
  for i = 0, count - 1 do
    redis.call('XADD', log, 'MAXLEN', ARGV[1], '0-' .. (first + i), 'm', ARGV[next + i])
  end
  next = next + count
  redis.call('PEXPIRE', log, ARGV[2])
  out[2 * s - 1] = epoch
  out[2 * s] = first
end
return out`;

type StoredMessage = Omit<BusMessage, 'pos'>;

type Script = (...args: Array<string | number>) => Promise<Array<string | number>>;
/** The scripts, defined on the client: sent by EVALSHA, so neither this hub nor Redis handles their text per call. */
type ScriptedClient = RedisClient & { edgewireHistoryAppend: Script; edgewireHistoryPosition: Script };

/** Streams appended by one script call, and their messages with positions once it answered. */
export interface Appended {
  readonly streams: readonly string[];
  readonly messages: readonly BusMessage[];
  readonly positioned: Promise<BusMessage[]>;
}

/**
 * Each call offers the epoch a stream starts over with, should it need to: unique across instances by
 * its random part, and across calls by its counter, without drawing random bytes per append.
 */
const EPOCH_BASE = randomBytes(6).toString('base64url');
let epochs = 0;
const freshEpoch = () => `${EPOCH_BASE}${(++epochs).toString(36)}`;

export class RedisHistory {
  readonly #scripts: ScriptedClient;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly limits: HistoryLimits,
  ) {
    redis.defineCommand('edgewireHistoryAppend', { lua: APPEND });
    redis.defineCommand('edgewireHistoryPosition', { numberOfKeys: 2, lua: POSITION });
    this.#scripts = redis as ScriptedClient;
  }

  /**
   * Appends each stream's messages and gives them their positions: all streams in one script call on a
   * single Redis (one round trip per flush, however many devices it carries); one call per stream on a
   * Redis Cluster, whose scripts may only touch keys of one slot.
   */
  append(batches: ReadonlyMap<string, readonly BusMessage[]>): Appended[] {
    const all = [...batches];
    const groups = isCluster(this.redis) ? all.map((batch) => [batch]) : [all];
    return groups.map((group) => ({
      streams: group.map(([stream]) => stream),
      messages: group.flatMap(([, messages]) => messages),
      positioned: this.#append(group),
    }));
  }

  async #append(group: ReadonlyArray<readonly [string, readonly BusMessage[]]>): Promise<BusMessage[]> {
    const keys: string[] = [];
    const counts: Array<string | number> = [];
    const stored: string[] = [];
    for (const [stream, messages] of group) {
      const { log, meta } = this.#keys(stream);
      keys.push(log, meta);
      counts.push(freshEpoch(), messages.length);
      for (const { topic, payload, ts, retain } of messages)
        stored.push(JSON.stringify({ topic, payload, ts, retain } satisfies StoredMessage));
    }
    const { size, ttlMs } = this.limits;
    const answer = await this.#scripts.edgewireHistoryAppend(
      keys.length,
      ...keys,
      size,
      ttlMs,
      ...counts,
      ...stored,
    );
    return group.flatMap(([, messages], s) => {
      const epoch = String(answer[2 * s]);
      const first = Number(answer[2 * s + 1]);
      return messages.map((message, i) => ({ ...message, pos: { epoch, offset: first + i } }));
    });
  }

  /** The position of the stream's last message (offset 0 before the first), starting its history if needed. */
  async position(stream: string): Promise<StreamPosition> {
    const { log, meta } = this.#keys(stream);
    const [epoch, offset] = await this.#scripts.edgewireHistoryPosition(
      log,
      meta,
      this.limits.ttlMs,
      freshEpoch(),
    );
    return { epoch: String(epoch), offset: Number(offset) };
  }

  /** Drops the stream's history: recording it again starts a new epoch. */
  forget(stream: string): void {
    const { log, meta } = this.#keys(stream);
    this.redis.del(log, meta).catch(() => {});
  }

  async recover(filter: string, since: StreamPosition): Promise<Recovery> {
    const stream = streamOfFilter(filter);
    if (stream === undefined) return NOT_RECOVERED;
    const { log, meta } = this.#keys(stream);
    const results = await this.redis
      .multi()
      .hmget(meta, 'epoch', 'offset')
      .xrange(log, `(0-${since.offset}`, '+')
      .exec();
    if (!results || results.some(([error]) => error)) throw new Error('reading the history failed');
    const [epoch, last] = results[0]![1] as [string | null, string | null];
    const entries = results[1]![1] as Array<[string, string[]]>;
    if (epoch !== since.epoch || last === null || since.offset > Number(last)) return NOT_RECOVERED;
    if (since.offset === Number(last)) return { recovered: true, messages: [] };
    // The message right after `since` must still be held: entries are numbered without gaps.
    if (entries[0]?.[0] !== `0-${since.offset + 1}`) return NOT_RECOVERED;
    const stored = entries.map(([id, fields]) => ({
      offset: Number(id.slice(2)),
      message: JSON.parse(fields[1]!) as StoredMessage,
    }));
    // Past the history's age counts as not held, as if trimmed (MAXLEN trims by count only).
    if (stored[0]!.message.ts < Date.now() - this.limits.ttlMs) return NOT_RECOVERED;
    const messages = stored
      .filter(({ message }) => matches(filter, message.topic))
      .map(({ offset, message }) => ({ ...message, pos: { epoch, offset } }));
    return { recovered: true, messages };
  }

  #keys(stream: string): { log: string; meta: string } {
    const tag = `{${this.prefix}:h:${stream}}`;
    return { log: `${tag}:log`, meta: `${tag}:meta` };
  }
}
