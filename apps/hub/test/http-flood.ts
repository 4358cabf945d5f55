/**
 * An attacker in its own process (so that its work does not share the hub's event loop): GET `url`
 * with a fresh random bearer token each time, from `concurrency` keep-alive connections, until
 * `total` requests are answered or `seconds` have passed. Prints `{statuses, retryAfter, seconds}`.
 *
 *   node --import tsx test/http-flood.ts <url> <concurrency> <total> <seconds>
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';

const [url = '', concurrency = '50', total = '3000', seconds = '10'] = process.argv.slice(2);
const target = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: Number(concurrency) });
const statuses: Record<string, number> = {};
let retryAfter = 0;
let started = 0;
const until = Date.now() + Number(seconds) * 1000;
const begin = performance.now();

const get = () =>
  new Promise<void>((resolve) => {
    const token = `ewt_${randomBytes(32).toString('base64url')}`;
    const req = request(
      {
        agent,
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        headers: { authorization: `Bearer ${token}` },
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          const status = String(res.statusCode);
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (res.statusCode === 429 && res.headers['retry-after'] !== undefined) retryAfter++;
          resolve();
        });
      },
    );
    req.on('error', () => {
      statuses.error = (statuses.error ?? 0) + 1;
      resolve();
    });
    req.end();
  });

await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (started < Number(total) && Date.now() < until) {
      started++;
      await get();
    }
  }),
);
agent.destroy();
console.log(JSON.stringify({ statuses, retryAfter, seconds: (performance.now() - begin) / 1000 }));
