/** The newest `capacity` (time, value) pairs, oldest first when read; fixed memory however long it streams. */
export class Ring {
  readonly #t: Float64Array;
  readonly #v: Float64Array;
  #start = 0;
  #size = 0;

  constructor(readonly capacity: number) {
    this.#t = new Float64Array(capacity);
    this.#v = new Float64Array(capacity);
  }

  get size(): number {
    return this.#size;
  }

  push(t: number, v: number): void {
    const at = (this.#start + this.#size) % this.capacity;
    this.#t[at] = t;
    this.#v[at] = v;
    if (this.#size < this.capacity) this.#size++;
    else this.#start = (this.#start + 1) % this.capacity;
  }

  /** Calls `visit` oldest first. */
  forEach(visit: (t: number, v: number, index: number) => void): void {
    for (let i = 0; i < this.#size; i++) {
      const at = (this.#start + i) % this.capacity;
      visit(this.#t[at]!, this.#v[at]!, i);
    }
  }
}
