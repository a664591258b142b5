/**
 * Runs an example the way its README says (TypeScript through tsx), as a child process of its own so
 * a test can send it signals: `node --import tsx <file>`, with tsx loaded into that one process
 * (the `tsx` command would put a second process in between, and the signal would go to that one).
 */
import { fileURLToPath } from 'node:url';
import { startChild, type ChildRun } from '../helpers/child.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Each example run ends by itself well within this (it is SIGKILLed past it). */
export const EXAMPLE_LIMIT_MS = 40_000;

/** This environment without MQTT_* variables, plus `vars`. */
export function exampleEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('MQTT_') && k !== 'MQTTWIRE_DEBUG') env[k] = v;
  return { ...env, ...vars };
}

export function runExample(file: string, env: NodeJS.ProcessEnv): ChildRun {
  return startChild(process.execPath, ['--import', 'tsx', file], { cwd: ROOT, env, timeoutMs: EXAMPLE_LIMIT_MS, label: `tsx ${file}` });
}
