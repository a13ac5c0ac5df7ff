import { defineConfig } from 'vitest/config';

// Browser end-to-end tests: a real cinemesh server and Debian's Chromium.
// One file at a time: each test starts its own server and browsers, and the
// machine has two cores.
export default defineConfig({
  test: {
    include: ['e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 240_000,
    fileParallelism: false,
  },
});
