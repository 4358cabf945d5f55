/**
 * The newest `capacity` (time, value) pairs in two typed arrays, oldest first when read: pushing a
 * reading allocates nothing, so however long a view streams, its memory stays what it was given.
 */
export class Ring {
  #t: Float64Array;
  #v: Float64Array;
  #start = 0;
  #size = 0;

  constructor(capacity: number) {
    this.#t = new Float64Array(capacity);
    this.#v = new Float64Array(capacity);
  }

  get capacity(): number {
    return this.#t.length;
  }

  get size(): number {
    return this.#size;
  }

  get full(): boolean {
    return this.#size === this.#t.length;
  }

  push(t: number, v: number): void {
    const capacity = this.#t.length;
    const at = (this.#start + this.#size) % capacity;
    this.#t[at] = t;
    this.#v[at] = v;
    if (this.#size < capacity) this.#size++;
    else this.#start = (this.#start + 1) % capacity;
  }

  /** The time of the `i`-th oldest pair (0 ≤ i < size). */
  timeAt(i: number): number {
    return this.#t[(this.#start + i) % this.#t.length]!;
  }

  valueAt(i: number): number {
    return this.#v[(this.#start + i) % this.#t.length]!;
  }

  /** The index of the oldest pair at or after `t` (size when none), for times pushed in rising order. */
  lowerBound(t: number): number {
    let low = 0;
    let high = this.#size;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.timeAt(mid) < t) low = mid + 1;
      else high = mid;
    }
    return low;
  }

  /** Makes room for `capacity` pairs, keeping those held (a rare step: a window holding more than planned). */
  grow(capacity: number): void {
    if (capacity <= this.#t.length) return;
    const t = new Float64Array(capacity);
    const v = new Float64Array(capacity);
    for (let i = 0; i < this.#size; i++) {
      t[i] = this.timeAt(i);
      v[i] = this.valueAt(i);
    }
    this.#t = t;
    this.#v = v;
    this.#start = 0;
  }

  /** Calls `visit` oldest first. */
  forEach(visit: (t: number, v: number, index: number) => void): void {
    for (let i = 0; i < this.#size; i++) visit(this.timeAt(i), this.valueAt(i), i);
  }
}
