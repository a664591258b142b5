import { defineConfig } from 'vitest/config';

/**
 * `npm run test:runtimes`: the package run by other runtimes as child processes (Deno, Bun,
 * workerd through miniflare, browsers) against real brokers. Slower than `npm test`, which leaves
 * test/runtimes/ out. The global setup builds dist/ when it is older than src/.
 */
export default defineConfig({
  test: {
    include: ['test/runtimes/**/*.test.ts'],
    globalSetup: ['test/helpers/ensure-built.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Each file starts a broker and heavyweight child processes: one file at a time on small machines.
    fileParallelism: false,
  },
});
