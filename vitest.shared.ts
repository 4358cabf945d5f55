import { defineConfig } from 'vitest/config';

/**
 * One configuration for every package: tests import workspace packages from their TypeScript
 * sources (the `source` export condition), and each run leaves `test-results.json` so CI can
 * add up the counts of all suites.
 */
export const sharedConfig = defineConfig({
  resolve: { conditions: ['source', 'module', 'node', 'import', 'default'] },
  ssr: { resolve: { conditions: ['source', 'module', 'node', 'import', 'default'] } },
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    reporters: ['default', ['json', { outputFile: 'test-results.json' }]],
    testTimeout: 20_000,
    hookTimeout: 30_000,
  },
});
