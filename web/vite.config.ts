/**
 * The dashboard build: `npm run build:web` (or `node scripts/build-web.mjs`) writes web/dist, which
 * the server serves at `/`. In development, `npx vite web` serves the sources with hot reload and
 * sends /api to a running Sluice (SLUICE_API, default http://127.0.0.1:8080).
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // the budget is 300 kB of gzipped JS in all; warn well before a single chunk gets near it
    chunkSizeWarningLimit: 400,
  },
  server: {
    proxy: { '/api': process.env.SLUICE_API ?? 'http://127.0.0.1:8080' },
  },
});
