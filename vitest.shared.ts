import { defineConfig } from 'vitest/config';

/**
 * Tests import workspace packages from their TypeScript sources (the `source` export condition).
 * No `import`/`module` here: vitest hands these conditions to Node as `--conditions`, which also
 * applies to CommonJS `require`, and then @fastify/websocket's require('ws') gets ws's ESM wrapper
 * (no `WebSocket.Server`) and no hub can start.
 */
const conditions = ['source', 'node', 'default'];

/** One configuration for every package; each run leaves `test-results.json` so CI can add up all suites. */
export const sharedConfig = defineConfig({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
