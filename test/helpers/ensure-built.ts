/**
 * Vitest global setup: the CLI tests run the built CLI and the runtime tests load the built package
 * (dist/), the way users do. Builds first unless dist is newer than every source file (CI has just
 * run `npm run build`, so there it costs nothing).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

function builtAt(): number {
  const outputs = ['dist/esm/index.js', 'dist/cjs/index.js', 'dist/esm/index.workerd.js', 'dist/esm/cli/main.js'].map((f) => path.join(repoRoot, f));
  if (!outputs.every((f) => fs.existsSync(f))) return 0;
  return Math.min(...outputs.map((f) => fs.statSync(f).mtimeMs));
}

export default function setup(): void {
  const sources = Math.max(newestMtime(path.join(repoRoot, 'src')), fs.statSync(path.join(repoRoot, 'tsconfig.build.json')).mtimeMs);
  if (builtAt() > sources) return;
  process.stderr.write('[mqttwire] dist is missing or older than src/: running the build first\n');
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: repoRoot, stdio: 'inherit' });
}
