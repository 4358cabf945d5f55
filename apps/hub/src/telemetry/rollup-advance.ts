/**
 * Keeps the hub-kept roll-ups (plain PostgreSQL, PGlite; see storage/rollups.ts) moving: every few
 * seconds the watermark advances over the minutes that have settled, at most `maxStepMs` per
 * statement so that a long backlog (a database migrated with years of readings, a hub that was down)
 * is rolled up in short transactions, each holding writers back only briefly.
 *
 * Several hubs on one database may all run it: the state row's lock serialises them, and a minute is
 * rolled up once whoever does it.
 */
import type { BaseLogger } from 'pino';
import type { Database } from '../storage/database.js';
import { storageError } from './readings-insert.js';

export interface RollupAdvanceOptions {
  database: Pick<Database, 'rows'>;
  logger?: Pick<BaseLogger, 'warn' | 'info'>;
  /** How often to advance. Default 10 s. */
  intervalMs?: number;
  /** Minutes younger than this stay raw: readings a little late still land above the watermark. Default 2 min. */
  settleMs?: number;
  /** Most time rolled up by one statement. Default 1 h. */
  maxStepMs?: number;
}

const interval = (ms: number) => `interval '${Math.round(ms)} milliseconds'`;

export class RollupAdvance {
  readonly #database: Pick<Database, 'rows'>;
  readonly #logger: RollupAdvanceOptions['logger'];
  readonly #intervalMs: number;
  readonly #settleMs: number;
  readonly #maxStepMs: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;
  #failing = false;

  constructor(options: RollupAdvanceOptions) {
    this.#database = options.database;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#settleMs = options.settleMs ?? 120_000;
    this.#maxStepMs = options.maxStepMs ?? 3_600_000;
  }

  start(): void {
    this.#schedule(0);
  }

  /** One statement: rolls up to `maxStepMs` more; returns the watermark after it (epoch ms). */
  async step(): Promise<number> {
    const [row] = await this.#database.rows<{ watermark: number }>(
      `select (extract(epoch from readings_rollup_advance(${interval(this.#settleMs)}, ${interval(this.#maxStepMs)})) * 1000)::float8 as watermark`,
    );
    return Number(row?.watermark);
  }

  /** Advances until the watermark stops moving (everything settled is rolled up). */
  async catchUp(): Promise<number> {
    let before = Number.NaN;
    let after = await this.step();
    while (after !== before && !this.#closed) {
      before = after;
      after = await this.step();
    }
    return after;
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#timer) clearTimeout(this.#timer);
    await this.#running;
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    this.#timer = setTimeout(() => {
      this.#running = this.#tick().finally(() => {
        this.#running = undefined;
        this.#schedule(this.#intervalMs);
      });
    }, delay);
    this.#timer.unref();
  }

  async #tick(): Promise<void> {
    try {
      await this.catchUp();
      if (this.#failing) this.#logger?.info('history roll-ups advance again');
      this.#failing = false;
    } catch (error) {
      // History stays exact meanwhile (it reads raw rows above the watermark); only slower.
      if (!this.#failing)
        this.#logger?.warn({ err: storageError(error) }, 'history roll-ups could not advance');
      this.#failing = true;
    }
  }
}
