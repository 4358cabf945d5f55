/**
 * The embedded database on a thread of its own (pglite-worker.js), seen from the hub's thread as the part
 * of PGlite's client that drizzle and `Database` use: `query`, `exec`, `transaction`. Statements travel
 * as messages; the hub's event loop only posts them and reads the answers, so a large batch insert or a
 * slow history query no longer stalls live delivery.
 *
 * A thread that fails or dies fails every statement waiting on it, and every later one, with an error
 * that says so: nothing waits on a thread that is gone.
 */
import { Worker } from 'node:worker_threads';
import type { Results, RowMode } from '@electric-sql/pglite';

/** What the worker is started with. */
export interface PgliteWorkerData {
  /** Directory of the database; `undefined` keeps it in memory. */
  dataDir: string | undefined;
  /** PostgreSQL settings (`name=value`) added to PGlite's start parameters. */
  settings: string[];
}

export type PgliteRequest =
  | {
      id: number;
      op: 'query';
      text: string;
      params: unknown[] | undefined;
      rowMode: RowMode | undefined;
      /** Type OIDs whose values come back as PostgreSQL's text, for the caller's own parsers. */
      rawTypes: number[];
      tx: number | undefined;
    }
  | { id: number; op: 'exec'; text: string; tx: number | undefined }
  | { id: number; op: 'begin' }
  | { id: number; op: 'end'; tx: number; commit: boolean }
  | { id: number; op: 'listen'; channel: string }
  | { id: number; op: 'unlisten'; listener: number }
  | { id: number; op: 'close' };

/** A failure as data (an Error loses its fields crossing threads). */
export interface PgliteFailure {
  message: string;
  code?: string;
  detail?: string;
  hint?: string;
  severity?: string;
  constraint?: string;
  table?: string;
}

/** `id` 0 is the start-up report; `notify` carries a NOTIFY to the listener the `listen` request made. */
export type PgliteReply =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: PgliteFailure }
  | { notify: number; payload: string };

/** PostgreSQL's error from the embedded database, with its SQLSTATE in `code` like postgres.js errors. */
export class EmbeddedDatabaseError extends Error {
  readonly code: string | undefined;
  readonly detail: string | undefined;

  constructor(failure: PgliteFailure) {
    super(failure.message);
    this.name = 'EmbeddedDatabaseError';
    this.code = failure.code;
    this.detail = failure.detail;
  }
}

interface QueryOptions {
  rowMode?: RowMode;
  parsers?: Record<number, (value: string, typeId: number) => unknown>;
}

/** The statements of one side of the thread: the database itself, or one open transaction. */
export interface PgliteSession {
  query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>>;
  exec(text: string): Promise<void>;
}

export interface PgliteTransaction extends PgliteSession {
  /** Ends the transaction by rolling back: the callback's promise rejects. */
  rollback(): Promise<void>;
  readonly closed: boolean;
}

export interface PgliteThreadOptions {
  dataDir: string | undefined;
  /** PostgreSQL settings (`name=value`); see `EMBEDDED_SETTINGS` in database.ts. */
  settings: readonly string[];
  /** Told the text of every statement sent to the thread (tests count them). */
  onStatement?: ((text: string) => void) | undefined;
}

class RolledBack extends Error {
  constructor() {
    super('transaction rolled back');
  }
}

export class PgliteThread implements PgliteSession {
  readonly #worker: Worker;
  readonly #waiting = new Map<
    number,
    { resolve: (value: unknown) => void; reject: (error: Error) => void }
  >();
  #nextId = 1;
  /** LISTEN callbacks by the id of the request that made them. */
  readonly #listeners = new Map<number, (payload: string) => void>();
  /** Set once the thread can no longer answer: every request fails with it. */
  #broken: Error | undefined;
  /** Once closing, the thread keeps the process alive until it has ended. */
  #closing = false;
  readonly #exited: Promise<void>;

  private constructor(
    worker: Worker,
    private readonly onStatement: ((text: string) => void) | undefined,
  ) {
    this.#worker = worker;
    this.#exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (reply: PgliteReply) => {
      if ('notify' in reply) {
        this.#listeners.get(reply.notify)?.(reply.payload);
        return;
      }
      const waiting = this.#waiting.get(reply.id);
      if (!waiting) return;
      this.#waiting.delete(reply.id);
      this.#updateRef();
      if (reply.ok) waiting.resolve(reply.result);
      else waiting.reject(new EmbeddedDatabaseError(reply.error));
    });
    worker.on('error', (error) => this.#fail(`the embedded database thread failed: ${error.message}`));
    worker.on('exit', (code) => this.#fail(`the embedded database thread ended (exit code ${code})`));
  }

  /** Starts the thread and resolves once PostgreSQL in it answers; rejects with why it could not. */
  static async start(options: PgliteThreadOptions): Promise<PgliteThread> {
    const data: PgliteWorkerData = { dataDir: options.dataDir, settings: [...options.settings] };
    const worker = new Worker(new URL('./pglite-worker.js', import.meta.url), { workerData: data });
    const thread = new PgliteThread(worker, options.onStatement);
    const where = options.dataDir ? `in ${options.dataDir}` : 'in memory';
    // No deadline: a first start creates the database, which takes minutes on a busy small machine. A
    // start that fails answers with PostgreSQL's reason, and a thread that dies fails it through `exit`.
    const started = new Promise<unknown>((resolve, reject) => {
      thread.#waiting.set(0, { resolve, reject });
      thread.#updateRef();
    });
    try {
      await started;
      return thread;
    } catch (error) {
      await worker.terminate();
      throw new Error(`the embedded database ${where} could not start: ${(error as Error).message}`, {
        cause: error,
      });
    }
  }

  query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<Results<T>> {
    return this.#query<T>(text, params, options, undefined);
  }

  async exec(text: string): Promise<void> {
    await this.#request({ op: 'exec', text, tx: undefined });
  }

  /**
   * Runs `callback` in one transaction on the thread: committed when it resolves, rolled back when it
   * throws. Statements from outside it wait for it to end, as on PGlite's single session.
   */
  async transaction<T>(callback: (tx: PgliteTransaction) => Promise<T>): Promise<T> {
    const txId = (await this.#request({ op: 'begin' })) as number;
    let closed = false;
    const inside = (): void => {
      if (closed) throw new Error('the transaction has already ended');
    };
    const tx: PgliteTransaction = {
      query: <R>(text: string, params?: unknown[], options?: QueryOptions) => {
        inside();
        return this.#query<R>(text, params, options, txId);
      },
      exec: async (text) => {
        inside();
        await this.#request({ op: 'exec', text, tx: txId });
      },
      rollback: async () => {
        throw new RolledBack();
      },
      get closed() {
        return closed;
      },
    };
    let result: T;
    try {
      result = await callback(tx);
    } catch (error) {
      closed = true;
      await this.#request({ op: 'end', tx: txId, commit: false });
      throw error;
    }
    closed = true;
    await this.#request({ op: 'end', tx: txId, commit: true });
    return result;
  }

  /** LISTENs on `channel` in the thread; resolves to a function that stops listening. */
  async listen(channel: string, onNotify: (payload: string) => void): Promise<() => Promise<void>> {
    const listener = (await this.#request({ op: 'listen', channel })) as number;
    this.#listeners.set(listener, onNotify);
    return async () => {
      if (!this.#listeners.delete(listener) || this.#broken) return;
      await this.#request({ op: 'unlisten', listener });
    };
  }

  /** Closes the database (PGlite writes what it holds) and waits for the thread to end. */
  async close(): Promise<void> {
    this.#closing = true;
    this.#worker.ref();
    if (!this.#broken) await this.#request({ op: 'close' });
    await this.#exited;
  }

  async #query<T>(
    text: string,
    params: unknown[] | undefined,
    options: QueryOptions | undefined,
    tx: number | undefined,
  ): Promise<Results<T>> {
    const parsers = options?.parsers ?? {};
    const rawTypes = Object.keys(parsers).map(Number);
    const result = (await this.#request({
      op: 'query',
      text,
      params,
      rowMode: options?.rowMode,
      rawTypes,
      tx,
    })) as Results<T>;
    if (rawTypes.length > 0) applyParsers(result, parsers, options?.rowMode ?? 'object');
    return result;
  }

  #request(request: DistributiveOmit<PgliteRequest, 'id'>): Promise<unknown> {
    if (this.#broken) return Promise.reject(this.#broken);
    if (request.op === 'query' || request.op === 'exec') this.onStatement?.(request.text);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#waiting.set(id, { resolve, reject });
      this.#updateRef();
      this.#worker.postMessage({ ...request, id } as PgliteRequest);
    });
  }

  /** The thread keeps the process alive only while a statement is waiting on it, like a socket would. */
  #updateRef(): void {
    if (this.#waiting.size > 0 || this.#closing) this.#worker.ref();
    else this.#worker.unref();
  }

  #fail(message: string): void {
    this.#broken ??= new Error(message);
    for (const waiting of this.#waiting.values()) waiting.reject(this.#broken);
    this.#waiting.clear();
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Applies the caller's parsers to the columns of their types, which arrived as text. */
function applyParsers(
  result: Results<unknown>,
  parsers: NonNullable<QueryOptions['parsers']>,
  rowMode: RowMode,
): void {
  result.fields.forEach((field, column) => {
    const parse = parsers[field.dataTypeID];
    if (!parse) return;
    for (const row of result.rows as Array<Record<string | number, unknown>>) {
      const key = rowMode === 'array' ? column : field.name;
      const value = row[key];
      if (typeof value === 'string') row[key] = parse(value, field.dataTypeID);
    }
  });
}
