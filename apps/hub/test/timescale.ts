/**
 * TimescaleDB for tests: whether the test server (`TEST_DATABASE_URL`) can give it, and a plain line
 * in the test output when the TimescaleDB-only tests therefore do not run.
 */
import postgres from 'postgres';
import { enableTimescale } from '../src/storage/timescale.js';
import { TEST_SERVER_URL } from './databases.js';

let availability: Promise<{ enabled: boolean; reason?: string }> | undefined;

/** Asked once per test file: can a database on the test server use TimescaleDB? */
export function testServerTimescale(): Promise<{ enabled: boolean; reason?: string }> {
  availability ??= (async () => {
    const sql = postgres(TEST_SERVER_URL, { max: 1, onnotice: () => {} });
    try {
      // Probed without creating anything: the extension is enabled per database by the hub itself.
      const probe = {
        driver: 'postgres' as const,
        rows: async <T extends Record<string, unknown>>(text: string) =>
          (await sql.unsafe(text)) as unknown as T[],
        isolated: async () => {},
      };
      return await enableTimescale(probe);
    } finally {
      await sql.end();
    }
  })();
  return availability;
}

/**
 * For TimescaleDB-only tests: `run` says whether they run; `title` names a test with, when they do not,
 * why not, so that every skipped test says so on its own line of the output (a skipped test's name is
 * all a reporter shows of it). The reason is also printed once for the suite.
 */
export async function timescaleTests(
  suite: string,
): Promise<{ run: boolean; title: (name: string) => string }> {
  const { enabled, reason } = await testServerTimescale();
  if (enabled) return { run: true, title: (name) => name };
  const why = `TimescaleDB not available on ${new URL(TEST_SERVER_URL).host}: ${reason}`;
  console.log(`TimescaleDB tests did not run (${suite}): ${why}`);
  return { run: false, title: (name) => `${name} [skipped: ${why}]` };
}
