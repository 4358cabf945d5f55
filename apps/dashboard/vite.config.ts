/**
 * `pnpm dev`: Vite on :5173 with /api and /ws proxied to a hub (EDGEWIRE_HUB_URL, default
 * http://127.0.0.1:8080). `pnpm build`: hashed assets in dist/, which the hub serves at `/`.
 * Workspace packages resolve to their TypeScript sources (`source` condition), so no build step of
 * theirs comes first.
 */
import react from '@vitejs/plugin-react';
import { defaultClientConditions, defineConfig } from 'vite';

const hub = process.env.EDGEWIRE_HUB_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react()],
  resolve: { conditions: ['source', ...defaultClientConditions] },
  server: {
    proxy: {
      '/api': { target: hub, changeOrigin: false },
      '/ws': { target: hub, ws: true },
    },
  },
  build: {
    target: 'es2022',
    sourcemap: true,
    // The hub's CSP allows no inline script; keep every chunk a file.
    assetsInlineLimit: 0,
  },
});
