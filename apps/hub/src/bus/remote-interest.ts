/**
 * What the other hub instances want, as they announce it on the control channel: which instances a
 * message on a topic must go to, and which streams some instance keeps a history of. An instance that
 * stops announcing (crashed) is forgotten: its filters after `filtersTtlMs`, its recorded streams after
 * `streamsTtlMs`, so that the clients it served can still recover on another instance meanwhile.
 */
import { SubscriptionIndex } from '@edgewire/protocol';

export interface InterestChange {
  readonly watch?: readonly string[];
  readonly unwatch?: readonly string[];
  readonly record?: readonly string[];
  readonly unrecord?: readonly string[];
}

interface Instance {
  readonly filters: Set<string>;
  readonly streams: Set<string>;
  seen: number;
  left: boolean;
}

export class RemoteInterest {
  readonly #index = new SubscriptionIndex<string>();
  readonly #instances = new Map<string, Instance>();
  /** Recorded streams and how many instances record each. */
  readonly #streams = new Map<string, number>();

  constructor(
    private readonly filtersTtlMs: number,
    private readonly streamsTtlMs: number,
  ) {}

  /** The instances with a filter matching `topic`. */
  instancesFor(topic: string): Set<string> {
    return this.#index.match(topic);
  }

  hasMatch(topic: string): boolean {
    return this.#index.hasMatch(topic);
  }

  records(stream: string): boolean {
    return this.#streams.has(stream);
  }

  /** The instances heard from lately that have not left: those that may publish. */
  live(now = Date.now()): string[] {
    return [...this.#instances]
      .filter(([, state]) => !state.left && now - state.seen <= this.filtersTtlMs)
      .map(([instance]) => instance);
  }

  apply(instance: string, change: InterestChange, now = Date.now()): void {
    const state = this.#instance(instance, now);
    for (const filter of change.watch ?? [])
      if (!state.filters.has(filter)) this.#addFilter(state, instance, filter);
    for (const filter of change.unwatch ?? [])
      if (state.filters.has(filter)) this.#removeFilter(state, instance, filter);
    for (const stream of change.record ?? []) this.#addStream(state, stream);
    for (const stream of change.unrecord ?? []) this.#removeStream(state, stream);
  }

  /** Replaces what is known of `instance` with its full state. */
  replace(instance: string, filters: readonly string[], streams: readonly string[], now = Date.now()): void {
    const state = this.#instance(instance, now);
    const wanted = new Set(filters);
    for (const filter of [...state.filters])
      if (!wanted.has(filter)) this.#removeFilter(state, instance, filter);
    for (const filter of wanted) if (!state.filters.has(filter)) this.#addFilter(state, instance, filter);
    const recorded = new Set(streams);
    for (const stream of [...state.streams]) if (!recorded.has(stream)) this.#removeStream(state, stream);
    for (const stream of recorded) this.#addStream(state, stream);
  }

  /** The instance left cleanly: messages stop going to it; its streams stay recorded for their linger. */
  left(instance: string): void {
    const state = this.#instances.get(instance);
    if (!state) return;
    state.left = true;
    for (const filter of [...state.filters]) this.#removeFilter(state, instance, filter);
  }

  /** Forgets instances not heard from; returns the streams nobody records any more. */
  expire(now = Date.now()): string[] {
    const dropped: string[] = [];
    for (const [instance, state] of this.#instances) {
      const silent = now - state.seen;
      if (silent > this.filtersTtlMs)
        for (const filter of [...state.filters]) this.#removeFilter(state, instance, filter);
      if (silent <= this.streamsTtlMs) continue;
      for (const stream of [...state.streams]) if (this.#removeStream(state, stream)) dropped.push(stream);
      this.#instances.delete(instance);
    }
    return dropped;
  }

  #instance(instance: string, now: number): Instance {
    let state = this.#instances.get(instance);
    if (!state) {
      state = { filters: new Set(), streams: new Set(), seen: now, left: false };
      this.#instances.set(instance, state);
    }
    state.seen = now;
    state.left = false;
    return state;
  }

  #addFilter(state: Instance, instance: string, filter: string): void {
    state.filters.add(filter);
    this.#index.add(filter, instance);
  }

  #removeFilter(state: Instance, instance: string, filter: string): void {
    state.filters.delete(filter);
    this.#index.remove(filter, instance);
  }

  #addStream(state: Instance, stream: string): void {
    if (state.streams.has(stream)) return;
    state.streams.add(stream);
    this.#streams.set(stream, (this.#streams.get(stream) ?? 0) + 1);
  }

  /** Returns true when no instance records `stream` any more. */
  #removeStream(state: Instance, stream: string): boolean {
    if (!state.streams.delete(stream)) return false;
    const left = (this.#streams.get(stream) ?? 1) - 1;
    if (left > 0) this.#streams.set(stream, left);
    else this.#streams.delete(stream);
    return left <= 0;
  }
}
