/**
 * Vitest reporter (vitest.config.ts): when the suites that need Mosquitto were skipped because the
 * binary is missing, one line at the very end of the run says how many tests that was, what they
 * cover and how to turn them on. Silent when nothing was skipped for that reason.
 *
 * A test counts when one of its suites carries `meta.needsMosquitto` (describeMosquitto sets it on
 * the suites it skips, see mosquitto.ts). What a file covers comes from AREAS below; a file missing
 * there is named by its first skipped suite (test/harness/skip-summary.test.ts checks that every
 * file using describeMosquitto is listed).
 */
import path from 'node:path';
import type { TestCase, TestModule } from 'vitest/node';
import type { Reporter } from 'vitest/reporters';

/** What the Mosquitto suites of each test file cover, in the order the summary lists them. */
export const AREAS: Readonly<Record<string, string>> = {
  'test/interop/mosquitto.test.ts': 'interop',
  'test/transport/tls.test.ts': 'TLS',
  'test/transport/cli-tls.test.ts': 'TLS',
  'test/transport/websocket.test.ts': 'WebSocket',
  'test/cli/mosquitto.test.ts': 'CLI against Mosquitto',
  'test/cli/mqtt5-mosquitto.test.ts': 'CLI against Mosquitto',
  'test/reconnect/persistent.test.ts': 'persistent sessions',
  'test/reconnect/fault-proxy.test.ts': 'chaos',
  'test/reconnect/restart-filestore.test.ts': 'FileStore restart',
  'test/mqtt5/smoke.test.ts': 'MQTT 5',
  'test/mqtt5/connect.test.ts': 'MQTT 5',
  'test/mqtt5/acks.test.ts': 'MQTT 5',
  'test/mqtt5/limits.test.ts': 'MQTT 5',
  'test/mqtt5/messages.test.ts': 'MQTT 5',
  'test/mqtt5/disconnect.test.ts': 'MQTT 5',
  'test/mqtt5/sessions.test.ts': 'MQTT 5',
  'test/client/secrets.test.ts': 'interop',
  'test/interop/unread-subscription.test.ts': 'interop',
  'test/harness/brokers.test.ts': 'the Mosquitto test helper',
  'test/harness/skip-summary.test.ts': 'the Mosquitto test helper',
  'test/mqtt5/topic-aliases.test.ts': 'MQTT 5',
  'test/mqtt5/subscription-ids.test.ts': 'MQTT 5',
};

export const SUMMARY_PREFIX = '[mqttwire] Mosquitto not found:';

function needsMosquitto(test: TestCase): boolean {
  for (let p: TestCase['parent'] = test.parent; p.type === 'suite'; p = p.parent) {
    if (p.meta().needsMosquitto) return true;
  }
  return false;
}

function outermostSuiteName(test: TestCase): string {
  let name = test.name;
  for (let p: TestCase['parent'] = test.parent; p.type === 'suite'; p = p.parent) name = p.name;
  return name;
}

/** The summary for these modules, or undefined when no test was skipped for want of Mosquitto. */
export function mosquittoSkipSummary(root: string, modules: ReadonlyArray<TestModule>): string | undefined {
  let count = 0;
  const areas = new Set<string>();
  for (const module of modules) {
    const file = path.relative(root, module.moduleId).split(path.sep).join('/');
    for (const test of module.children.allTests('skipped')) {
      if (!needsMosquitto(test)) continue;
      count++;
      areas.add(AREAS[file] ?? outermostSuiteName(test));
    }
  }
  if (count === 0) return undefined;
  const order = [...new Set(Object.values(AREAS))];
  const listed = [...areas].sort((a, b) => (order.indexOf(a) + 1 || order.length + 1) - (order.indexOf(b) + 1 || order.length + 1));
  return (
    `${SUMMARY_PREFIX} ${count} test${count === 1 ? '' : 's'} skipped (${listed.join(', ')}). ` +
    'To run them install Mosquitto 2.x (bash .ci/install-mosquitto.sh, or apt-get install mosquitto) or set MQTTWIRE_MOSQUITTO_BIN to its path.'
  );
}

export default class MosquittoSkipSummary implements Reporter {
  private root = process.cwd();

  onInit(vitest: { config: { root: string } }): void {
    this.root = vitest.config.root;
  }

  onTestRunEnd(modules: ReadonlyArray<TestModule>): void {
    const line = mosquittoSkipSummary(this.root, modules);
    if (line) process.stdout.write(`${line}\n`);
  }
}
