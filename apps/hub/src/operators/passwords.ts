/**
 * Operator passwords: scrypt (memory-hard, salted, built into Node) with OWASP's current parameters
 * (N=2^17, r=8, p=1: 128 MiB and a few hundred ms per hash), compared in constant time. The stored text
 * names its parameters, so raising the cost later still verifies the hashes made before. Passwords
 * themselves are never stored, logged or echoed.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/** OWASP Password Storage Cheat Sheet: scrypt with N=2^17 (128 MiB), r=8, p=1. */
export const DEFAULT_SCRYPT_LOG2N = 17;
const BLOCK_SIZE = 8;
const PARALLELISM = 1;
const KEY_BYTES = 32;
const SALT_BYTES = 16;

/** `scrypt$<log2 N>$<r>$<p>$<salt b64>$<key b64>` */
const STORED = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([A-Za-z0-9+/=]+)\$([A-Za-z0-9+/=]+)$/;

function derive(password: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2N;
  return new Promise((resolve, reject) => {
    // scrypt needs 128·N·r bytes; Node refuses anything above `maxmem` (32 MiB by default).
    scrypt(password, salt, KEY_BYTES, { N, r, p, maxmem: 256 * N * r }, (error, key) =>
      error ? reject(error) : resolve(key),
    );
  });
}

export class PasswordHasher {
  constructor(readonly log2N = DEFAULT_SCRYPT_LOG2N) {}

  async hash(password: string): Promise<string> {
    const salt = randomBytes(SALT_BYTES);
    const key = await derive(password, salt, this.log2N, BLOCK_SIZE, PARALLELISM);
    return `scrypt$${this.log2N}$${BLOCK_SIZE}$${PARALLELISM}$${salt.toString('base64')}$${key.toString('base64')}`;
  }

  /**
   * Whether `password` matches `stored`. With `stored` undefined (unknown user) it derives a key all
   * the same, with today's parameters and a random salt, so that both answers cost the same time.
   */
  async verify(password: string, stored: string | undefined): Promise<boolean> {
    if (stored === undefined) {
      await derive(password, randomBytes(SALT_BYTES), this.log2N, BLOCK_SIZE, PARALLELISM);
      return false;
    }
    const match = STORED.exec(stored);
    if (!match) return false;
    const [log2N, r, p] = [Number(match[1]), Number(match[2]), Number(match[3])];
    // Parameters come from the database: bound them so a tampered row cannot exhaust memory.
    if (log2N < 10 || log2N > 22 || r < 1 || r > 32 || p < 1 || p > 16) return false;
    const expected = Buffer.from(match[5]!, 'base64');
    const key = await derive(password, Buffer.from(match[4]!, 'base64'), log2N, r, p);
    return key.length === expected.length && timingSafeEqual(key, expected);
  }
}
