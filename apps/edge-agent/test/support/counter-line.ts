/**
 * A serial sensor that prints a counter, `{"n": 0}`, `{"n": 1}` … at a steady rate: the numbers say
 * exactly which readings reached storage, which are missing and which came twice.
 */
import type { PtyPair } from './pty-pair.js';

export class CounterLine {
  next = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly pty: PtyPair) {}

  start(everyMs = 5): void {
    this.timer = setInterval(() => {
      this.pty.write(`{"n": ${this.next}}\n`);
      this.next++;
    }, everyMs);
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}

/** Numbers in `values` that are missing from `from`…`to`, and numbers present more than once. */
export function gapsAndDuplicates(values: number[], from: number, to: number) {
  const seen = new Map<number, number>();
  for (const v of values) seen.set(v, (seen.get(v) ?? 0) + 1);
  const missing: number[] = [];
  for (let v = from; v <= to; v++) if (!seen.has(v)) missing.push(v);
  const duplicated = [...seen].filter(([, count]) => count > 1).map(([v]) => v);
  return { missing, duplicated };
}
