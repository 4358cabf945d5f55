/** A tiny typed event emitter that runs the same in browsers and Node. */
export class Listeners<Events> {
  readonly #byEvent = new Map<keyof Events, Set<(value: never) => void>>();

  on<E extends keyof Events>(event: E, listener: (value: Events[E]) => void): () => void {
    let set = this.#byEvent.get(event);
    if (!set) {
      set = new Set();
      this.#byEvent.set(event, set);
    }
    set.add(listener as (value: never) => void);
    return () => set.delete(listener as (value: never) => void);
  }

  count(event: keyof Events): number {
    return this.#byEvent.get(event)?.size ?? 0;
  }

  emit<E extends keyof Events>(event: E, value: Events[E]): void {
    for (const listener of this.#byEvent.get(event) ?? []) (listener as (value: Events[E]) => void)(value);
  }
}
