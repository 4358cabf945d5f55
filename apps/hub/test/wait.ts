/**
 * Waiting for conditions instead of sleeping: on a loaded machine a fixed sleep is either too short
 * (a flaky test) or too long (a slow one). The one copy of these helpers, for the hub's suites and,
 * through `@edgewire/hub/test-support`, the agent's.
 */
type Truthy<T> = Exclude<T, false | null | undefined | 0 | ''>;

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; the failure says what was awaited. */
export async function waitFor<T>(
  what: string,
  check: () => T | Promise<T>,
  timeoutMs = 10_000,
  everyMs = 25,
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value as Truthy<T>;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${String(last)})`);
    await sleep(everyMs);
  }
}

/** For pacing a test's own traffic only; never to wait for the system under test (use `waitFor`). */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The close code of a connection that must close within `ms` (e.g. 4003 within 1 s of a revocation). */
export async function closedWithin(closed: Promise<{ code: number }>, ms: number): Promise<number> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still open after ${ms} ms`)), ms);
  });
  try {
    return (await Promise.race([closed, timeout])).code;
  } finally {
    clearTimeout(timer);
  }
}
