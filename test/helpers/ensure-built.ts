/**
 * Vitest global setup: the CLI tests run the built CLI and the runtime tests load the built package
 * (dist/), the way users do. Builds first unless dist is newer than the build's inputs (CI has just
 * run `npm run build`, so there it costs nothing).
 */
import { fileURLToPath } from 'node:url';
import { ensureDist } from '../../scripts/ensure-dist.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

export default function setup(): void {
  ensureDist(repoRoot, ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/esm/index.workerd.js', 'dist/esm/index.web.js', 'dist/esm/cli/main.js']);
}
