import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

/**
 * The shared config, minus the `import`/`module` resolve conditions: vitest hands them to Node as
 * `--conditions`, which then also applies to CommonJS `require`, so @fastify/websocket's
 * require('ws') got ws's ESM wrapper (no `WebSocket.Server`) and no hub could start.
 */
const conditions = ['source', 'node', 'default'];
export default defineConfig({
  ...sharedConfig,
  resolve: { ...sharedConfig.resolve, conditions },
  ssr: { ...sharedConfig.ssr, resolve: { ...sharedConfig.ssr?.resolve, conditions } },
});
