// @ts-check
/**
 * The embedded database's own thread. PGlite runs PostgreSQL as WebAssembly, synchronously: a statement
 * on the hub's thread would stall every socket for as long as it runs. Here it stalls only this thread.
 *
 * Plain JavaScript on purpose: a worker entry must load without a TypeScript loader (under vitest, tsx
 * and a compiled build alike). The messages it speaks are typed in pglite-thread.ts, its only user.
 *
 * @typedef {import('./pglite-thread.js').PgliteWorkerData} PgliteWorkerData
 * @typedef {import('./pglite-thread.js').PgliteRequest} PgliteRequest
 * @typedef {import('./pglite-thread.js').PgliteReply} PgliteReply
 * @typedef {import('./pglite-thread.js').PgliteFailure} PgliteFailure
 * @typedef {import('@electric-sql/pglite').Transaction} Transaction
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startPglite } from './pglite-start.js';

const port = /** @type {import('node:worker_threads').MessagePort} */ (parentPort);
const options = /** @type {PgliteWorkerData} */ (workerData);

/**
 * A statement's failure as plain data: structured cloning keeps only an Error's message, and callers
 * need the SQLSTATE (`code`) and PostgreSQL's detail to tell a unique violation from an outage.
 * @param {unknown} error
 * @returns {PgliteFailure}
 */
function describe(error) {
  const e = /** @type {Record<string, unknown>} */ (
    error instanceof Object ? error : { message: String(error) }
  );
  /** @type {PgliteFailure} */
  const failure = { message: typeof e.message === 'string' ? e.message : String(error) };
  for (const key of /** @type {const} */ (['code', 'detail', 'hint', 'severity', 'constraint', 'table'])) {
    if (typeof e[key] === 'string') failure[key] = e[key];
  }
  return failure;
}

/** @type {import('@electric-sql/pglite').PGlite} */
let pg;

/** @param {PgliteReply} reply */
const send = (reply) => port.postMessage(reply);

/**
 * An open transaction: PGlite's `tx` for the statements inside it, `end` to commit or roll it back, and
 * `done`, settled once COMMIT or ROLLBACK ran.
 * @typedef {{ tx: Transaction; end: (commit: boolean) => void; done: Promise<unknown> }} OpenTransaction
 */
/** Open transactions by the id of the request that began them. @type {Map<number, OpenTransaction>} */
const transactions = new Map();

/** Stop functions of the LISTENs the hub asked for, by the id of the request that made each. */
/** @type {Map<number, () => Promise<void>>} */
const listeners = new Map();

/** @param {number} id */
async function begin(id) {
  /** @type {() => void} */
  let began = () => {};
  const inside = new Promise((resolve) => {
    began = () => resolve(undefined);
  });
  const done = pg.transaction(
    (tx) =>
      new Promise((commit, rollback) => {
        transactions.set(id, {
          tx,
          end: (ok) => (ok ? commit(undefined) : rollback(new Error('rolled back by the hub'))),
          done,
        });
        began();
      }),
  );
  done.catch(() => {}).finally(() => transactions.delete(id));
  // BEGIN itself may fail, and then the transaction never comes inside.
  await Promise.race([inside, done]);
}

/**
 * @param {number} txId
 * @param {boolean} commit
 */
async function end(txId, commit) {
  const open = transactions.get(txId);
  if (!open) throw new Error('the transaction has already ended');
  open.end(commit);
  // Replied once COMMIT or ROLLBACK ran, so that the next statement sees the outcome.
  try {
    await open.done;
  } catch (error) {
    if (commit) throw error;
  }
}

/**
 * Where a statement runs: inside its transaction, or on the database (which waits for any open
 * transaction to finish first, as PGlite's one session must).
 * @param {number | undefined} txId
 */
function target(txId) {
  if (txId === undefined) return pg;
  const open = transactions.get(txId);
  if (!open) throw new Error('the transaction has already ended');
  return open.tx;
}

/**
 * @param {PgliteRequest} request
 * @returns {Promise<unknown>}
 */
async function handle(request) {
  switch (request.op) {
    case 'query': {
      // Types the caller parses itself arrive as PostgreSQL's text, untouched.
      /** @type {Record<number, (value: string) => string>} */
      const parsers = {};
      for (const oid of request.rawTypes) parsers[oid] = (value) => value;
      const result = await target(request.tx).query(request.text, request.params, {
        rowMode: request.rowMode,
        parsers,
      });
      return { rows: result.rows, fields: result.fields, affectedRows: result.affectedRows };
    }
    case 'exec':
      await target(request.tx).exec(request.text);
      return undefined;
    case 'begin':
      await begin(request.id);
      return request.id;
    case 'end':
      return end(request.tx, request.commit);
    case 'listen': {
      const listener = request.id;
      const stop = await pg.listen(request.channel, (payload) => send({ notify: listener, payload }));
      listeners.set(listener, stop);
      return listener;
    }
    case 'unlisten': {
      const stop = listeners.get(request.listener);
      listeners.delete(request.listener);
      await stop?.();
      return undefined;
    }
    case 'close':
      await pg.close();
      return undefined;
  }
}

/** @param {PgliteRequest} request */
function onRequest(request) {
  handle(request).then(
    (result) => {
      send({ id: request.id, ok: true, result });
      // Nothing keeps this thread alive once the database is closed: it ends, and the hub sees it exit.
      if (request.op === 'close') port.close();
    },
    (error) => send({ id: request.id, ok: false, error: describe(error) }),
  );
}

try {
  pg = await startPglite(options.dataDir, options.settings);
  port.on('message', onRequest);
  send({ id: 0, ok: true, result: undefined });
} catch (error) {
  // Reported as the start-up answer; with the port closed, nothing keeps this thread alive.
  send({ id: 0, ok: false, error: describe(error) });
  port.close();
}
