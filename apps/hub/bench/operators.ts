/**
 * Operators' costs: what one password hash costs (scrypt with OWASP's parameters), what a whole sign-in
 * costs over HTTP, and how long a revocation typed into the database (`update tokens set revoked_at`)
 * takes to reach a live client as its 4003 close frame, through the trigger, NOTIFY and the hub's LISTEN.
 *
 *   node --conditions=source --import tsx bench/operators.ts [--rounds 20] [--database-url postgres://…]
 *
 * Without --database-url (or TEST_DATABASE_URL) the revocation runs on embedded PGlite only.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import postgres from 'postgres';
import WebSocket from 'ws';
import { startHub } from '../src/hub.js';
import { DEFAULT_SCRYPT_LOG2N, PasswordHasher } from '../src/operators/passwords.js';

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '20' },
    'database-url': { type: 'string', default: process.env.TEST_DATABASE_URL },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  console.log('usage: bench/operators.ts [--rounds 20] [--database-url postgres://user@host/db]');
  process.exit(0);
}
const rounds = Number(args.rounds);

const quantile = (values: number[], q: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
};
const summary = (values: number[]) =>
  `p50 ${quantile(values, 0.5).toFixed(1)} ms, p99 ${quantile(values, 0.99).toFixed(1)} ms, max ${Math.max(...values).toFixed(1)} ms (n=${values.length})`;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await work();
  return performance.now() - start;
}

// ---- password hashing -----------------------------------------------------------------------------
const hasher = new PasswordHasher(DEFAULT_SCRYPT_LOG2N);
const stored = await hasher.hash('correct horse battery');
const hashes: number[] = [];
const verifies: number[] = [];
for (let i = 0; i < Math.min(rounds, 10); i++) {
  hashes.push(await timed(() => hasher.hash('correct horse battery')));
  verifies.push(await timed(() => hasher.verify('correct horse battery', stored)));
}
console.log(`scrypt N=2^${DEFAULT_SCRYPT_LOG2N}, r=8, p=1 (128 MiB)`);
console.log(`  hash    ${summary(hashes)}`);
console.log(`  verify  ${summary(verifies)}`);

// ---- a database of its own --------------------------------------------------------------------------
async function withDatabase(url: string, run: (url: string) => Promise<void>): Promise<void> {
  const name = `edgewire_bench_${randomBytes(4).toString('hex')}`;
  const admin = postgres(url, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const own = new URL(url);
  own.pathname = `/${name}`;
  try {
    await run(own.toString());
  } finally {
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end();
  }
}

async function measure(label: string, databaseUrl: string | undefined): Promise<void> {
  const hub = await startHub({
    host: '127.0.0.1',
    port: 0,
    dataDir: undefined,
    databaseUrl,
    logLevel: 'warn',
    env: {},
  });
  const outside = databaseUrl ? postgres(databaseUrl, { max: 1, onnotice: () => {} }) : undefined;
  const sql = async (text: string) => {
    if (outside) await outside.unsafe(text);
    else await hub.database.exec(text);
  };
  try {
    await hub.admin.addUser('bench', 'admin', 'correct horse battery');
    const signIns: number[] = [];
    for (let i = 0; i < Math.min(rounds, 10); i++) {
      signIns.push(
        await timed(async () => {
          const response = await fetch(`${hub.url}/api/session`, {
            method: 'POST',
            headers: { 'content-type': 'application/json' },
            body: JSON.stringify({ name: 'bench', password: 'correct horse battery' }),
          });
          if (response.status !== 200) throw new Error(`sign-in answered ${response.status}`);
        }),
      );
    }
    const fromSend: number[] = [];
    const fromCommit: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const issued = await hub.admin.addToken({ permissions: [{ filter: 'a/#', access: 'read' }] });
      const socket = new WebSocket(`${hub.url.replace(/^http/, 'ws')}/ws`, {
        headers: { authorization: `Bearer ${issued.token}` },
      });
      await new Promise((resolve, reject) => {
        socket.once('message', resolve);
        socket.once('error', reject);
      });
      const closed = new Promise<number>((resolve) => socket.once('close', () => resolve(performance.now())));
      const sent = performance.now();
      await sql(`update tokens set revoked_at = now() where id = '${issued.id}'`);
      const committed = performance.now();
      const closedAt = await closed;
      fromSend.push(closedAt - sent);
      fromCommit.push(Math.max(0, closedAt - committed));
    }
    console.log(`${label}`);
    console.log(`  sign-in over HTTP (scrypt + session row)   ${summary(signIns)}`);
    console.log(`  SQL revocation → 4003 close frame at client, from statement sent  ${summary(fromSend)}`);
    console.log(`  SQL revocation → 4003 close frame at client, from commit returned ${summary(fromCommit)}`);
  } finally {
    await outside?.end();
    await hub.close();
  }
}

await measure('embedded PGlite', undefined);
if (args['database-url']) await withDatabase(args['database-url'], (url) => measure('PostgreSQL', url));
else console.log('PostgreSQL: skipped (pass --database-url or set TEST_DATABASE_URL)');
