/**
 * The suite without Mosquitto: every test file with Mosquitto suites passes, and one line at the end
 * of the run (test/helpers/mosquitto-skip-summary.ts) says how many tests were skipped, what they
 * cover and how to turn them on. Each check runs vitest as a child process over those files, with the
 * broker hidden (MQTTWIRE_MOSQUITTO_BIN pointing at a path with no binary: the helper then finds
 * none, as on a machine without it) and, as the positive control, with it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { describeResult, killAllChildren, startChild, type ChildResult } from '../helpers/child.js';
import { describeMosquitto } from '../helpers/mosquitto.js';
import { AREAS, SUMMARY_PREFIX } from '../helpers/mosquitto-skip-summary.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SELF = 'test/harness/skip-summary.test.ts';
const RUN_LIMIT_MS = 100_000;

/** The `npm test` files (test/runtimes/ is `npm run test:runtimes`) that declare Mosquitto suites. */
function filesWithMosquittoSuites(): string[] {
  const found: string[] = [];
  const walk = (dir: string): void => {
    for (const e of fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })) {
      const rel = `${dir}/${e.name}`;
      if (e.isDirectory()) {
        if (rel !== 'test/runtimes') walk(rel);
      } else if (e.name.endsWith('.test.ts') && fs.readFileSync(path.join(ROOT, rel), 'utf8').includes('describeMosquitto(')) {
        found.push(rel);
      }
    }
  };
  walk('test');
  return found.sort();
}

/** `vitest run files` in a child, with this run's vitest variables and CI's "require Mosquitto" removed. */
async function vitest(files: string[], env: Record<string, string>): Promise<ChildResult & { text: string }> {
  const childEnv: NodeJS.ProcessEnv = { NO_COLOR: '1' };
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !k.startsWith('VITEST') && k !== 'TEST' && k !== 'MQTTWIRE_REQUIRE_MOSQUITTO' && k !== 'FORCE_COLOR') childEnv[k] = v;
  }
  Object.assign(childEnv, env);
  const vitestBin = path.join(ROOT, 'node_modules/vitest/vitest.mjs');
  const r = await startChild(process.execPath, [vitestBin, 'run', ...files], { cwd: ROOT, env: childEnv, timeoutMs: RUN_LIMIT_MS, label: `vitest run ${files.join(' ')}` }).done;
  // eslint-disable-next-line no-control-regex
  return { ...r, text: r.stdout.replace(/\x1b\[[0-9;]*m/g, '') };
}

/** "Tests  74 passed | 49 skipped (123)" from vitest's own summary. */
function vitestCounts(text: string): { passed: number; skipped: number } {
  const line = text.split('\n').find((l) => /^\s*Tests\s/.test(l));
  if (!line) throw new Error(`no "Tests" line in:\n${text.slice(-2000)}`);
  return { passed: Number(/(\d+) passed/.exec(line)?.[1] ?? 0), skipped: Number(/(\d+) skipped/.exec(line)?.[1] ?? 0) };
}

afterAll(() => killAllChildren());

describe('the suite without Mosquitto', () => {
  const files = filesWithMosquittoSuites();

  it('finds the Mosquitto suites, and knows what each file covers', () => {
    // The summary names areas from AREAS; a file missing there would be named by a suite title.
    expect(files).toEqual(expect.arrayContaining(['test/interop/mosquitto.test.ts', 'test/transport/tls.test.ts', 'test/reconnect/persistent.test.ts', SELF]));
    expect(files.filter((f) => AREAS[f] === undefined)).toEqual([]);
  });

  it(
    'passes, and ends with one line saying how many tests were skipped, what they cover and how to run them',
    async () => {
      const others = files.filter((f) => f !== SELF); // this file would start itself again
      const r = await vitest(others, { MQTTWIRE_MOSQUITTO_BIN: path.join(ROOT, 'test/no-such-dir/mosquitto') });
      expect(r.code, describeResult('vitest without mosquitto', r)).toBe(0);

      const lines = r.text.trimEnd().split('\n');
      const summaries = lines.filter((l) => l.includes(SUMMARY_PREFIX));
      expect(summaries, r.text.slice(-3000)).toHaveLength(1);
      expect(lines.at(-1)).toBe(summaries[0]);

      // In these files every skip is for want of Mosquitto, so the line counts what vitest counts.
      const { skipped, passed } = vitestCounts(r.text);
      expect(skipped).toBeGreaterThan(40);
      expect(passed).toBeGreaterThan(0); // the same files' other tests still ran
      const line = summaries[0] as string;
      expect(line).toContain(` ${skipped} tests skipped (`);
      for (const area of new Set(others.map((f) => AREAS[f] as string))) expect(line).toContain(area);
      expect(line).toMatch(/\(interop, TLS, WebSocket, CLI against Mosquitto, persistent sessions, chaos, FileStore restart, MQTT 5, the Mosquitto test helper\)/);
      expect(line).toContain('apt-get install mosquitto');
      expect(line).toContain('MQTTWIRE_MOSQUITTO_BIN');
    },
    RUN_LIMIT_MS + 10_000,
  );
});

describeMosquitto('the suite with Mosquitto (positive control)', () => {
  it(
    'runs the same suites and prints no skip line',
    async () => {
      const r = await vitest(['test/interop/mosquitto.test.ts'], {});
      expect(r.code, describeResult('vitest with mosquitto', r)).toBe(0);
      const { passed, skipped } = vitestCounts(r.text);
      expect(skipped).toBe(0);
      expect(passed).toBeGreaterThan(5);
      expect(r.text).not.toContain(SUMMARY_PREFIX);
    },
    RUN_LIMIT_MS + 10_000,
  );
});
