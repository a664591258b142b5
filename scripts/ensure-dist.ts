/**
 * dist/ as the tests and benches need it: the CLI and runtime tests run the built package, and the
 * size and cold-start benches measure it as it ships (through package.json's exports). This builds
 * dist (node scripts/build.mjs) when a needed file is missing or older than what the build reads:
 * anything under src/, the build script, tsconfig.build.json.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(p) : fs.statSync(p).mtimeMs);
  }
  return newest;
}

/** The newest modification time among the build's inputs. */
function buildInputsMtime(root: string): number {
  const files = ['scripts/build.mjs', 'tsconfig.build.json'].map((f) => fs.statSync(path.join(root, f)).mtimeMs);
  return Math.max(newestMtime(path.join(root, 'src')), ...files);
}

/** Builds dist unless every file in `needed` (relative to root) is newer than the build's inputs. */
export function ensureDist(root: string, needed: string[]): void {
  const inputsNewest = buildInputsMtime(root);
  const fresh = needed.every((f) => {
    try {
      return fs.statSync(path.join(root, f)).mtimeMs >= inputsNewest;
    } catch {
      return false;
    }
  });
  if (fresh) return;
  process.stderr.write('[mqttwire] dist/ is missing or older than src/: running node scripts/build.mjs\n');
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'inherit', timeout: 120_000 });
}

/**
 * A private copy of the package as it would be installed (package.json + dist/) in a new temp dir,
 * so a build started elsewhere while a bench runs (it deletes dist/ first) cannot pull files from
 * under it. Retries while `needed` files are missing from the copy. Remove the dir when done.
 */
export function snapshotPackage(root: string, needed: string[]): string {
  for (let attempt = 1; ; attempt++) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-pkg-'));
    try {
      fs.copyFileSync(path.join(root, 'package.json'), path.join(dir, 'package.json'));
      fs.cpSync(path.join(root, 'dist'), path.join(dir, 'dist'), { recursive: true });
      if (needed.every((f) => fs.existsSync(path.join(dir, f)))) return dir;
    } catch {
      // dist/ changed while it was copied: try again
    }
    fs.rmSync(dir, { recursive: true, force: true });
    if (attempt >= 5) throw new Error(`could not copy a complete dist/ (needed: ${needed.join(', ')}); is a build running?`);
    ensureDist(root, needed);
    sleepMs(2_000);
  }
}

function sleepMs(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
