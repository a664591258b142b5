import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  // The examples import the package by name: here that is the source of the Node entry.
  resolve: { alias: [{ find: /^mqttwire$/, replacement: fileURLToPath(new URL('./src/index.ts', import.meta.url)) }] },
  test: {
    include: ['test/**/*.test.ts'],
    // Other runtimes as child processes (Deno, Bun, workerd, browsers): `npm run test:runtimes`.
    exclude: ['**/node_modules/**', 'test/runtimes/**'],
    // The CLI tests run the built CLI (dist/esm/cli/main.js), as users do.
    globalSetup: ['test/helpers/ensure-built.ts'],
    // The default output, then one line when suites were skipped for want of Mosquitto.
    reporters: ['default', './test/helpers/mosquitto-skip-summary.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
  },
});
