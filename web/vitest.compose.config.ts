import { defineConfig } from 'vitest/config';

// The docker compose stack, driven from outside by scripts/compose-test.sh,
// which starts it and says where it is (CINEMESH_COMPOSE_*). One test at a
// time, in order: later ones stop an instance and restart the stack.
export default defineConfig({
  test: {
    include: ['compose/**/*.test.ts'],
    environment: 'node',
    testTimeout: 240_000,
    hookTimeout: 120_000,
    fileParallelism: false,
    sequence: { concurrent: false },
  },
});
