/**
 * The cluster Bus: messages and control events go to every hub instance through Redis pub/sub, so a
 * subscriber on one instance hears a device connected to another, and a revocation or a takeover
 * closes connections wherever they are. Delivery across instances is at most once, like Redis
 * pub/sub itself: during a Redis outage, instances still serve their own connections.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { createRedis } from '../cluster/redis-client.js';
import type { Bus, BusMessage, ControlEvent, LocalDelivery } from './bus.js';

interface Envelope<T> {
  /** The instance that sent it; an instance has already applied its own messages. */
  from: string;
  body: T;
}

export class RedisBus implements Bus {
  readonly distributed = true;
  readonly #instance = randomBytes(8).toString('hex');
  readonly #publisher: Redis;
  readonly #subscriber: Redis;
  readonly #messages: string;
  readonly #controls: string;
  #local: LocalDelivery | undefined;
  #onControl: ((event: ControlEvent) => void) | undefined;
  /** Messages published during this event-loop turn, sent to Redis together as one PUBLISH. */
  #outbox: BusMessage[] = [];

  private constructor(
    url: string,
    prefix: string,
    private readonly logger: Logger,
  ) {
    this.#publisher = createRedis(url, logger, 'bus', 'commands');
    this.#subscriber = createRedis(url, logger, 'bus', 'subscriber');
    this.#messages = `${prefix}:messages`;
    this.#controls = `${prefix}:control`;
  }

  /** Connects both Redis connections and subscribes to the cluster's channels. */
  static async connect(url: string, prefix: string, logger: Logger): Promise<RedisBus> {
    const bus = new RedisBus(url, prefix, logger);
    await Promise.all([bus.#publisher.connect(), bus.#subscriber.connect()]);
    bus.#subscriber.on('message', (channel: string, text: string) => bus.#receive(channel, text));
    await bus.#subscriber.subscribe(bus.#messages, bus.#controls);
    return bus;
  }

  get healthy(): boolean {
    return this.#publisher.status === 'ready' && this.#subscriber.status === 'ready';
  }

  attach(local: LocalDelivery, onControl: (event: ControlEvent) => void): void {
    this.#local = local;
    this.#onControl = onControl;
  }

  /** Other instances' subscriptions are not known here, so anything may be wanted somewhere. */
  hasSubscribers(): boolean {
    return true;
  }

  publish(message: BusMessage): void {
    this.#local?.deliver(message);
    // A telemetry frame of k readings is k messages: batching them spares Redis k-1 round trips.
    if (this.#outbox.length === 0) setImmediate(this.#flush);
    this.#outbox.push(message);
  }

  control(event: ControlEvent): void {
    this.#onControl?.(event);
    this.#send(this.#controls, event);
  }

  async close(): Promise<void> {
    this.#flush();
    this.#local = undefined;
    this.#onControl = undefined;
    await Promise.allSettled([this.#subscriber.quit(), this.#publisher.quit()]);
  }

  readonly #flush = (): void => {
    if (this.#outbox.length === 0) return;
    const batch = this.#outbox;
    this.#outbox = [];
    this.#send(this.#messages, batch);
  };

  #send(channel: string, body: BusMessage[] | ControlEvent): void {
    const envelope: Envelope<typeof body> = { from: this.#instance, body };
    this.#publisher.publish(channel, JSON.stringify(envelope)).catch((error: Error) => {
      this.logger.warn({ err: error.message, channel }, 'redis bus publish failed');
    });
  }

  #receive(channel: string, text: string): void {
    let envelope: Envelope<unknown>;
    try {
      envelope = JSON.parse(text) as Envelope<unknown>;
    } catch {
      this.logger.warn({ channel }, 'redis bus: unreadable message ignored');
      return;
    }
    if (envelope.from === this.#instance) return;
    if (channel === this.#messages) {
      for (const message of envelope.body as BusMessage[]) this.#local?.deliver(message);
    } else if (channel === this.#controls) this.#onControl?.(envelope.body as ControlEvent);
  }
}
