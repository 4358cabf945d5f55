/**
 * History shared by a cluster: one Redis Stream per stream (trimmed with MAXLEN, expiring with the
 * history's age) and a hash holding its epoch and last offset. Both keys carry one hash tag, so they live
 * in one Redis Cluster slot and a script may touch them together. Entry ids are `0-<offset>`, so a
 * position maps to an entry without a lookup.
 */
import { randomBytes } from 'node:crypto';
import { matches } from '@edgewire/protocol';
import type { RedisClient } from '../cluster/redis-client.js';
import {
  type BusMessage,
  type HistoryLimits,
  NOT_RECOVERED,
  type Recovery,
  type StreamPosition,
} from './bus.js';
import { streamOfFilter } from './streams.js';

/**
 * The stream's epoch and last offset (ARGV: size, ttl ms, a fresh epoch). A stream never started, or
 * whose entries or metadata were lost, starts over under the fresh epoch at offset 0.
 */
const CURRENT = `
local epoch = redis.call('HGET', KEYS[2], 'epoch')
local offset = tonumber(redis.call('HGET', KEYS[2], 'offset') or '0')
if (not epoch) or (offset > 0 and redis.call('EXISTS', KEYS[1]) == 0) then
  epoch = ARGV[3]
  offset = 0
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[2], 'epoch', epoch, 'offset', 0)
end
redis.call('PEXPIRE', KEYS[2], ARGV[2])`;

/** Returns {epoch, offset}: where a subscriber starts. */
const POSITION = `${CURRENT}
return {epoch, offset}`;

/** Appends ARGV[4..] to the stream, numbering them after the last offset. Returns {epoch, first offset}. */
const APPEND = `${CURRENT}
local count = #ARGV - 3
local first = redis.call('HINCRBY', KEYS[2], 'offset', count) - count + 1
for i = 4, #ARGV do
  redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '0-' .. (first + i - 4), 'm', ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return {epoch, first}`;

type StoredMessage = Omit<BusMessage, 'pos'>;

type Script = (...args: string[]) => Promise<[string, number]>;
/** The scripts, defined on the client: sent by EVALSHA, so neither this hub nor Redis handles their text per call. */
type ScriptedClient = RedisClient & { edgewireHistoryAppend: Script; edgewireHistoryPosition: Script };

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
    redis.defineCommand('edgewireHistoryAppend', { numberOfKeys: 2, lua: APPEND });
    redis.defineCommand('edgewireHistoryPosition', { numberOfKeys: 2, lua: POSITION });
    this.#scripts = redis as ScriptedClient;
  }

  /** Appends `messages` (all of `stream`) and returns them with their positions. */
  async append(stream: string, messages: readonly BusMessage[]): Promise<BusMessage[]> {
    const stored = messages.map(({ topic, payload, ts, retain }) =>
      JSON.stringify({ topic, payload, ts, retain } satisfies StoredMessage),
    );
    const [epoch, first] = await this.#run(this.#scripts.edgewireHistoryAppend, stream, stored);
    return messages.map((message, i) => ({ ...message, pos: { epoch, offset: first + i } }));
  }

  /** The position of the stream's last message (offset 0 before the first), starting its history if needed. */
  async position(stream: string): Promise<StreamPosition> {
    const [epoch, offset] = await this.#run(this.#scripts.edgewireHistoryPosition, stream, []);
    return { epoch, offset };
  }

  #run(script: Script, stream: string, stored: readonly string[]): Promise<[string, number]> {
    const { log, meta } = this.#keys(stream);
    const { size, ttlMs } = this.limits;
    return script.call(this.#scripts, log, meta, String(size), String(ttlMs), freshEpoch(), ...stored);
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
