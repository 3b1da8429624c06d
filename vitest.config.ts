import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    globalSetup: ['test/helpers/global-setup.ts'],
    // Hang limits, not speed limits: tests wait on conditions (test/helpers/patience.ts), and a
    // test that needs two minutes on a quiet machine may need eight with a CPU hog beside it.
    testTimeout: 900_000,
    hookTimeout: 900_000,
    // 2 cores: keep parallelism modest; integration tests spawn processes of their own.
    fileParallelism: true,
    maxWorkers: 2,
    reporters: ['default'],
  },
});
