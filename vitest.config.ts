import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    // 2 cores: keep parallelism modest; integration tests spawn processes of their own.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
