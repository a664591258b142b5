/**
 * An error the application caught goes nowhere else: no unhandled rejection from inside the
 * library ends the process afterwards (issue 11, item 1). Each scenario runs in a fresh Node
 * process, where an unhandled rejection means exit code 1, as in an application.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./caught-error-child.ts', import.meta.url));
const LIMIT_MS = 15_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runScenario(name: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, name], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), LIMIT_MS);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function caught(run: Run): { name: string; code: unknown; message: string } | undefined {
  return (JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '{}') as { caught?: { name: string; code: unknown; message: string } }).caught;
}

describe('a caught error does not come back as an unhandled rejection', () => {
  it('the positive control: a rejection nobody handles ends the child with exit code 1', { timeout: LIMIT_MS + 5000 }, async () => {
    const run = await runScenario('control');
    expect(run.code, run.stderr).toBe(1);
    expect(run.stderr).toContain('deliberately unhandled');
  });

  it.each([
    ['will-wildcard', /will\.topic "status\/\+".*wildcards/],
    ['will-empty-topic', /will\.topic ""/],
    ['will-nul-topic', /will\.topic "a\\u0000b".*U\+0000/],
    ['will-no-topic', /will\.topic must be a string, got undefined/],
  ])('connect() with a bad will (%s) rejects with InvalidArgumentError, and that is all', { timeout: LIMIT_MS + 5000 }, async (scenario, message) => {
    const run = await runScenario(scenario);
    expect(run.code, run.stderr).toBe(0);
    expect(caught(run)).toMatchObject({ name: 'InvalidArgumentError', code: 'INVALID_ARGUMENT', message: expect.stringMatching(message) });
  });

  it.each(['closed-read-before', 'closed-read-after'])('client.closed read but not awaited (%s destroy(err)) rejects with that error, and that is all', { timeout: LIMIT_MS + 5000 }, async (scenario) => {
    const run = await runScenario(scenario);
    expect(run.code, run.stderr).toBe(0);
    expect(caught(run)).toEqual({ name: 'Error', message: 'destroyed on purpose' });
  });

  it('CONNECT that cannot be written (the logger throws) rejects connect() once, and nothing else', { timeout: LIMIT_MS + 5000 }, async () => {
    const run = await runScenario('logger-throws');
    expect(run.code, run.stderr).toBe(0);
    expect(caught(run)).toMatchObject({ name: 'Error', message: 'the logger broke' });
  });
});
