import { defineConfig } from 'vite';

import { precompress } from './vite-precompress.ts';

// `npm run dev` serves the client with hot reload and forwards API and media
// requests to a cinemesh server on :8080.
export default defineConfig({
  plugins: [precompress()],
  build: {
    outDir: 'dist',
    sourcemap: true,
    target: 'es2022',
    // hls.js is one ~580 kB library, loaded only by the player page.
    chunkSizeWarningLimit: 700,
  },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/media': 'http://127.0.0.1:8080',
    },
  },
});
