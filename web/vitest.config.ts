import { defineConfig } from 'vitest/config';

// Unit tests: pure modules, no browser, no server.
export default defineConfig({
  test: { include: ['test/**/*.test.ts'], environment: 'node' },
});
