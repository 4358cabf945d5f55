import { defineConfig } from 'vitest/config';
import { sharedConfig } from '../../vitest.shared.ts';

/**
 * The shared config without the `import`/`module` resolve conditions: vitest passes them to Node as
 * `--conditions`, which also applies to CommonJS `require`, and the in-process hub's @fastify/websocket
 * then gets ws's ESM wrapper (no `WebSocket.Server`). Same workaround as apps/hub's; it belongs in
 * vitest.shared.ts once the lead moves it there.
 */
const conditions = ['source', 'node', 'default'];
export default defineConfig({
  ...sharedConfig,
  resolve: { ...sharedConfig.resolve, conditions },
  ssr: { ...sharedConfig.ssr, resolve: { ...sharedConfig.ssr?.resolve, conditions } },
});
