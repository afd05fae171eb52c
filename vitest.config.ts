import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The simulator suites are CPU-bound; two cores on the reference machine.
    testTimeout: 120_000,
    hookTimeout: 60_000,
  },
});
