import { defineConfig } from 'vitest/config';

// Benchmarks that drive real browsers (bench/*.ts); run by ../bench/p2p.sh.
export default defineConfig({
  test: {
    include: ['bench/**/*.ts'],
    environment: 'node',
    testTimeout: 3_600_000,
    hookTimeout: 600_000,
    fileParallelism: false,
  },
});
