/**
 * The cluster Bus, routed by interest. Each instance announces on the control channel which filters its
 * connections watch and which streams it keeps history of; every instance keeps that map
 * (`RemoteInterest`) and sends a message only to the inboxes of the instances that watch it. A message
 * nobody watches, anywhere, never reaches Redis. Messages of recorded streams are first appended to
 * their Redis Stream (`RedisHistory`), which gives them their position. With a Redis Cluster, the control
 * channel and the inboxes use sharded pub/sub (SPUBLISH/SSUBSCRIBE): each message crosses only the shard
 * owning its channel, and what one instance sends on a channel arrives in the order it was sent. (A
 * plain PUBLISH has no key, so the Cluster client sends each one to a random node: an interest change
 * and its undoing, or an instance's last snapshot and its goodbye, could then arrive swapped.)
 *
 * Delivery across instances is at most once, like Redis pub/sub itself: during a Redis outage each
 * instance still serves its own connections, and a stream whose messages could not be recorded starts a
 * new epoch once Redis is back, so no client takes a gap for a recovery.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import {
  connectRedis,
  createRedis,
  isCluster,
  type RedisClient,
  type RedisTarget,
} from '../cluster/redis-client.js';
import type {
  Bus,
  BusMessage,
  ControlEvent,
  HistoryLimits,
  LocalDelivery,
  Recovery,
  StreamPosition,
} from './bus.js';
import { LocalInterest } from './local-interest.js';
import { RedisHistory } from './redis-history.js';
import { type InterestChange, RemoteInterest } from './remote-interest.js';
import { streamOf, streamOfFilter } from './streams.js';

/** Every instance re-announces its whole interest this often; one silent for 3 periods is forgotten. */
const ANNOUNCE_MS = 10_000;
const FORGET_AFTER_MS = 3 * ANNOUNCE_MS;
/**
 * How long a subscription waits for the others to confirm its interest. Generous, as an overloaded
 * instance answers late but does answer; one that just crashed makes at most one subscription wait
 * this long, as it is not asked again until it is heard from.
 */
const CONFIRM_TIMEOUT_MS = 10_000;
/** How long a starting instance waits to hear its own channels, and how often it tries. */
const PROBE_TIMEOUT_MS = 10_000;
const PROBE_EVERY_MS = 50;

/** What travels on the control channel, which every instance subscribes to. */
interface ControlEnvelope {
  from: string;
  event?: ControlEvent;
  /** Retained messages reach every instance, so each can answer a later `sub` from its own copy. */
  retained?: BusMessage[];
  interest?: InterestChange;
  /** The sender waits for this interest change to be applied: answer with `confirmed` in its inbox. */
  ask?: number;
  snapshot?: { filters: string[]; streams: string[] };
  /** A new or reconnected instance asks the others for their snapshots. */
  hello?: true;
  /** Sent by an instance to itself, on each of its channels, until it hears it (`hearItself`). */
  probe?: true;
  bye?: true;
}

/** What travels to one instance's inbox. */
interface InboxEnvelope {
  from: string;
  messages?: BusMessage[];
  events?: ControlEvent[];
  /** The `ask` numbers of interest changes applied. */
  confirmed?: number[];
}

/** An interest change waiting for the instances that had not yet applied it. */
interface Confirmation {
  readonly waiting: Set<string>;
  readonly done: Promise<void>;
  resolve(): void;
  timer?: NodeJS.Timeout;
}

function confirmation(): Confirmation {
  let resolve!: () => void;
  const done = new Promise<void>((r) => {
    resolve = r;
  });
  return { waiting: new Set(), done, resolve };
}

export interface RedisBusOptions {
  readonly target: RedisTarget;
  readonly prefix: string;
  readonly logger: Logger;
  readonly history?: HistoryLimits;
}

export class RedisBus implements Bus {
  readonly distributed = true;
  readonly #instance = randomBytes(8).toString('hex');
  readonly #publisher: RedisClient;
  readonly #subscriber: RedisClient;
  readonly #sharded: boolean;
  readonly #control: string;
  readonly #prefix: string;
  readonly #logger: Logger;
  readonly #history: RedisHistory;
  readonly #interest: LocalInterest;
  readonly #remote: RemoteInterest;
  readonly #timer: NodeJS.Timeout;
  #local: LocalDelivery | undefined;
  #onControl: ((event: ControlEvent) => void) | undefined;
  /** Work gathered during this event-loop turn and sent to Redis together. */
  #flushScheduled = false;
  readonly #toRecord = new Map<string, BusMessage[]>();
  readonly #inboxes = new Map<string, InboxEnvelope>();
  #retained: BusMessage[] = [];
  readonly #interestChanges = { filters: new Map<string, boolean>(), streams: new Map<string, boolean>() };
  /** Streams with messages that could not be recorded: their history restarts once Redis is back. */
  readonly #unrecorded = new Set<string>();
  #lastWarning = 0;
  #asked = 0;
  readonly #confirmations = new Map<number, Confirmation>();
  /** Instances that let a confirmation time out: not waited for until heard from again. */
  readonly #silent = new Set<string>();
  /** Waiters for the interest changes not broadcast yet. */
  #upcoming: Confirmation | undefined;
  /** This instance's channels on which it has not heard its own probe yet, while it starts. */
  readonly #unheard = new Set<string>();
  /** Wakes `hearItself` once every channel was heard. */
  #heardAll: (() => void) | undefined;

  private constructor(options: RedisBusOptions) {
    const { target, prefix, logger } = options;
    const history = options.history ?? { size: 0, ttlMs: 0 };
    this.#publisher = createRedis(target, logger, 'bus', 'commands');
    this.#subscriber = createRedis(target, logger, 'bus', 'subscriber');
    this.#sharded = isCluster(this.#subscriber);
    this.#prefix = prefix;
    this.#logger = logger;
    this.#control = `${prefix}:control`;
    this.#history = new RedisHistory(this.#publisher, prefix, history);
    this.#remote = new RemoteInterest(FORGET_AFTER_MS, Math.max(FORGET_AFTER_MS, history.ttlMs));
    this.#interest = new LocalInterest(history.size > 0 ? history.ttlMs : 0, {
      filterChanged: (filter, watched) => this.#interestChanged('filters', filter, watched),
      streamChanged: (stream, recorded) => {
        this.#interestChanged('streams', stream, recorded);
        if (!recorded && !this.#remote.records(stream)) this.#history.forget(stream);
      },
    });
    this.#timer = setInterval(() => this.#announce(), ANNOUNCE_MS);
    this.#timer.unref();
  }

  /** Connects both Redis connections, listens on the control channel and this instance's inbox. */
  static async connect(options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options);
    const connected = await Promise.allSettled([
      connectRedis(bus.#publisher, 'bus'),
      connectRedis(bus.#subscriber, 'bus'),
    ]);
    const failed = connected.find((result) => result.status === 'rejected');
    if (failed) {
      bus.#publisher.disconnect();
      bus.#subscriber.disconnect();
      throw failed.reason;
    }
    const subscriber = bus.#subscriber;
    subscriber.on('message', (channel: string, text: string) => bus.#receive(channel, text));
    subscriber.on('smessage', (channel: string, text: string) => bus.#receive(channel, text));
    // One call per channel: on a Cluster the two live in different slots, so on different shards.
    for (const channel of [bus.#control, bus.#inbox(bus.#instance)]) {
      if (bus.#sharded) await subscriber.ssubscribe(channel);
      else await subscriber.subscribe(channel);
    }
    await bus.#hearItself();
    bus.#hello();
    // ioredis resubscribes by itself after a reconnection; the others may have forgotten us meanwhile.
    // Whichever of the two connections comes back last makes the announcement go through.
    subscriber.on('ready', () => bus.#hello());
    bus.#publisher.on('ready', () => {
      bus.#restartUnrecorded();
      bus.#hello();
    });
    return bus;
  }

  get healthy(): boolean {
    return this.#publisher.status === 'ready' && this.#subscriber.status === 'ready';
  }

  attach(local: LocalDelivery, onControl: (event: ControlEvent) => void): void {
    this.#local = local;
    this.#onControl = onControl;
  }

  watch(filter: string): void {
    this.#interest.watch(filter);
  }

  unwatch(filter: string): void {
    this.#interest.unwatch(filter);
  }

  hasSubscribers(topic: string): boolean {
    return (
      (this.#local?.hasSubscribers(topic) ?? false) || this.#remote.hasMatch(topic) || this.#records(topic)
    );
  }

  publish(message: BusMessage): void {
    if (!this.#records(message.topic)) {
      this.#dispatch(message);
      return;
    }
    const stream = streamOf(message.topic);
    let batch = this.#toRecord.get(stream);
    if (!batch) {
      batch = [];
      this.#toRecord.set(stream, batch);
    }
    batch.push(message);
    this.#scheduleFlush();
  }

  control(event: ControlEvent): void {
    this.#onControl?.(event);
    // Interest changed before the event is announced before it: the instance that takes over a device
    // is known to watch its topics by the time the others hear of the takeover.
    this.#flushInterest();
    if (event.type === 'telemetry-committed') {
      // An ack matters only where the device is connected: the instance watching its command topics.
      for (const instance of this.#remote.instancesFor(`devices/${event.deviceId}/cmd`)) {
        this.#inboxOf(instance).events?.push(event);
      }
      this.#scheduleFlush();
      return;
    }
    this.#broadcast({ from: this.#instance, event });
  }

  position(filter: string): Promise<StreamPosition> | undefined {
    const stream = streamOfFilter(filter);
    if (stream === undefined || !this.#interest.records(stream)) return undefined;
    if (this.#publisher.status !== 'ready') return undefined;
    return this.#history.position(stream);
  }

  settled(): Promise<void> {
    const waits = [...this.#confirmations.values()].map((pending) => pending.done);
    const { filters, streams } = this.#interestChanges;
    if (filters.size > 0 || streams.size > 0) {
      this.#upcoming ??= confirmation();
      waits.push(this.#upcoming.done);
    }
    return Promise.all(waits).then(() => {});
  }

  recover(filter: string, since: StreamPosition): Promise<Recovery> {
    return this.#history.recover(filter, since);
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#interest.close();
    this.#flush();
    this.#broadcast({ from: this.#instance, bye: true });
    for (const ask of [...this.#confirmations.keys()]) this.#settle(ask);
    this.#local = undefined;
    this.#onControl = undefined;
    await Promise.allSettled([this.#subscriber.quit(), this.#publisher.quit()]);
  }

  #records(topic: string): boolean {
    const stream = streamOf(topic);
    return this.#interest.records(stream) || this.#remote.records(stream);
  }

  #dispatch(message: BusMessage): void {
    this.#local?.deliver(message);
    if (message.retain) this.#retained.push(message);
    else
      for (const instance of this.#remote.instancesFor(message.topic))
        this.#inboxOf(instance).messages?.push(message);
    this.#scheduleFlush();
  }

  #inboxOf(instance: string): InboxEnvelope {
    let inbox = this.#inboxes.get(instance);
    if (!inbox) {
      inbox = { from: this.#instance, messages: [], events: [], confirmed: [] };
      this.#inboxes.set(instance, inbox);
    }
    return inbox;
  }

  #inbox(instance: string): string {
    return `${this.#prefix}:inbox:${instance}`;
  }

  #scheduleFlush(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => this.#flush());
  }

  /** Sends what this turn gathered: history appends first (they give positions), then inboxes and broadcasts. */
  #flush(): void {
    this.#flushScheduled = false;
    if (this.#toRecord.size > 0) this.#record(this.#toRecord);
    this.#toRecord.clear();
    for (const [instance, inbox] of this.#inboxes) {
      if (inbox.messages?.length === 0) delete inbox.messages;
      if (inbox.events?.length === 0) delete inbox.events;
      if (inbox.confirmed?.length === 0) delete inbox.confirmed;
      if (inbox.messages || inbox.events || inbox.confirmed) this.#send(this.#inbox(instance), inbox);
    }
    this.#inboxes.clear();
    if (this.#retained.length > 0) this.#broadcast({ from: this.#instance, retained: this.#retained });
    this.#retained = [];
    this.#flushInterest();
  }

  #record(batches: ReadonlyMap<string, readonly BusMessage[]>): void {
    if (this.#publisher.status !== 'ready') {
      for (const [stream, batch] of batches) this.#unrecordable([stream], batch);
      return;
    }
    for (const { streams, messages, positioned } of this.#history.append(batches)) {
      positioned.then(
        (recorded) => {
          for (const message of recorded) this.#dispatch(message);
        },
        (error: Error) => {
          this.#warn(error, 'recording history failed; delivering without positions');
          this.#unrecordable(streams, messages);
        },
      );
    }
  }

  /** Delivers messages that could not be recorded; their streams restart once Redis is back. */
  #unrecordable(streams: readonly string[], messages: readonly BusMessage[]): void {
    for (const stream of streams) this.#unrecorded.add(stream);
    for (const message of messages) this.#dispatch(message);
  }

  #restartUnrecorded(): void {
    for (const stream of this.#unrecorded) this.#history.forget(stream);
    this.#unrecorded.clear();
  }

  #interestChanged(kind: 'filters' | 'streams', name: string, on: boolean): void {
    this.#interestChanges[kind].set(name, on);
    this.#scheduleFlush();
  }

  #flushInterest(): void {
    const { filters, streams } = this.#interestChanges;
    if (filters.size === 0 && streams.size === 0) return;
    const pick = (changes: Map<string, boolean>, on: boolean) =>
      [...changes].filter(([, value]) => value === on).map(([name]) => name);
    const interest: InterestChange = {
      watch: pick(filters, true),
      unwatch: pick(filters, false),
      record: pick(streams, true),
      unrecord: pick(streams, false),
    };
    filters.clear();
    streams.clear();
    this.#broadcast({ from: this.#instance, interest, ...this.#ask() });
  }

  /** Asks the live instances to confirm the change being broadcast, when a subscription waits for it. */
  #ask(): { ask?: number } {
    const upcoming = this.#upcoming;
    this.#upcoming = undefined;
    if (!upcoming) return {};
    const live =
      this.#publisher.status === 'ready'
        ? this.#remote.live().filter((instance) => !this.#silent.has(instance))
        : [];
    if (live.length === 0) {
      upcoming.resolve();
      return {};
    }
    const ask = ++this.#asked;
    for (const instance of live) upcoming.waiting.add(instance);
    this.#confirmations.set(ask, upcoming);
    upcoming.timer = setTimeout(() => {
      for (const instance of upcoming.waiting) this.#silent.add(instance);
      this.#settle(ask);
    }, CONFIRM_TIMEOUT_MS);
    upcoming.timer.unref();
    return { ask };
  }

  #confirmed(instance: string, ask: number): void {
    const pending = this.#confirmations.get(ask);
    if (!pending) return;
    pending.waiting.delete(instance);
    if (pending.waiting.size === 0) this.#settle(ask);
  }

  #settle(ask: number): void {
    const pending = this.#confirmations.get(ask);
    if (!pending) return;
    this.#confirmations.delete(ask);
    clearTimeout(pending.timer);
    pending.resolve();
  }

  /** Announces the whole interest again and forgets instances gone silent. */
  #announce(): void {
    this.#broadcast({
      from: this.#instance,
      snapshot: { filters: this.#interest.filters(), streams: this.#interest.streams() },
    });
    for (const stream of this.#remote.expire()) {
      if (!this.#interest.records(stream)) this.#history.forget(stream);
    }
  }

  /**
   * Waits until this instance hears what it sends on its control channel and its inbox. A Redis Cluster
   * client may still be settling its shard subscribers after SSUBSCRIBE has answered, and what arrives
   * meanwhile is lost: the snapshots the others send in answer to this instance's hello must not be.
   */
  async #hearItself(): Promise<void> {
    this.#unheard.add(this.#control).add(this.#inbox(this.#instance));
    const deadline = Date.now() + PROBE_TIMEOUT_MS;
    const heardAll = new Promise<void>((resolve) => {
      this.#heardAll = resolve;
    });
    while (this.#unheard.size > 0 && Date.now() < deadline) {
      for (const channel of this.#unheard) this.#send(channel, { from: this.#instance, probe: true });
      await Promise.race([heardAll, sleep(PROBE_EVERY_MS)]);
    }
    if (this.#unheard.size > 0) this.#logger.warn('redis bus: not hearing its own channels yet; going on');
    this.#unheard.clear();
    this.#heardAll = undefined;
  }

  #hello(): void {
    this.#broadcast({ from: this.#instance, hello: true });
    this.#announce();
  }

  #broadcast(envelope: ControlEnvelope): void {
    this.#send(this.#control, envelope);
  }

  #send(channel: string, body: ControlEnvelope | InboxEnvelope): void {
    if (this.#publisher.status !== 'ready') return;
    const text = JSON.stringify(body);
    const sent = this.#sharded
      ? this.#publisher.spublish(channel, text)
      : this.#publisher.publish(channel, text);
    sent.catch((error: Error) => this.#warn(error, 'redis bus publish failed'));
  }

  /** At most one line per few seconds: an outage at thousands of messages per second must not flood the log. */
  #warn(error: Error, message: string): void {
    const now = Date.now();
    if (now - this.#lastWarning < 5000) return;
    this.#lastWarning = now;
    this.#logger.warn({ err: error.message }, message);
  }

  #receive(channel: string, text: string): void {
    let envelope: ControlEnvelope & InboxEnvelope;
    try {
      envelope = JSON.parse(text) as ControlEnvelope & InboxEnvelope;
    } catch {
      this.#logger.warn({ channel }, 'redis bus: unreadable message ignored');
      return;
    }
    const from = envelope.from;
    if (from === this.#instance) {
      if (envelope.probe && this.#unheard.delete(channel) && this.#unheard.size === 0) this.#heardAll?.();
      return;
    }
    if (this.#silent.size > 0) this.#silent.delete(from);
    for (const message of envelope.messages ?? []) this.#local?.deliver(message);
    for (const event of envelope.events ?? []) this.#onControl?.(event);
    for (const ask of envelope.confirmed ?? []) this.#confirmed(from, ask);
    for (const message of envelope.retained ?? []) this.#local?.deliver(message);
    if (envelope.event) this.#onControl?.(envelope.event);
    if (envelope.interest) {
      this.#remote.apply(from, envelope.interest);
      // Applied before confirmed: whatever this instance publishes from now on reaches the asker.
      if (envelope.ask !== undefined) {
        this.#inboxOf(from).confirmed?.push(envelope.ask);
        this.#scheduleFlush();
      }
    }
    if (envelope.snapshot) this.#remote.replace(from, envelope.snapshot.filters, envelope.snapshot.streams);
    if (envelope.hello) this.#announce();
    if (envelope.bye) {
      this.#remote.left(from);
      for (const ask of [...this.#confirmations.keys()]) this.#confirmed(from, ask);
    }
  }
}
