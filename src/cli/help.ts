import { readFileSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { OptionSpec } from './args.js';

export interface CommandHelp {
  /** e.g. 'mqttwire pub -t TOPIC (-m MESSAGE | -f FILE | -s | -l | -n) [options]' */
  usage: string;
  /** Paragraph lines under the usage line. */
  description: string[];
  groups: { title: string; options: OptionSpec[] }[];
  examples: string[];
}

const COLUMN = 33;

function optionLine(o: OptionSpec): string {
  const names = `${o.short ? `-${o.short}, ` : '    '}--${o.long}${o.value ? ` ${o.value}` : ''}`;
  const left = `  ${names}`;
  return left.length < COLUMN ? `${left.padEnd(COLUMN)}${o.help}` : `${left}\n${' '.repeat(COLUMN)}${o.help}`;
}

export function renderHelp(h: CommandHelp): string {
  const lines = [`Usage: ${h.usage}`, '', ...h.description];
  for (const g of h.groups) lines.push('', `${g.title}:`, ...g.options.map(optionLine));
  lines.push('', 'Examples:', ...h.examples.map((e) => `  ${e}`));
  lines.push('', 'Exit status: 0 success, 1 connection or protocol failure, 2 usage error, 130 interrupted before finishing.');
  return lines.join('\n') + '\n';
}

export const MAIN_HELP = `Usage: mqttwire <command> [options]

A command line for MQTT 3.1.1 brokers, built on the mqttwire client.

Commands:
  pub     publish a message, a file, standard input, or one message per line of standard input
  sub     subscribe to topics and print the messages (text, -v topic and text, or --format json)
  test    publish a counter to test/1 every second until "quit" arrives on test/2 (the old mqtt_test)
  bench   publish N messages from C clients and measure throughput, latency and loss

Options:
  -h, --help     show this help; 'mqttwire <command> --help' shows the options of a command
      --version  print the version

Examples:
  mqttwire sub -t 'sensors/#' -v
  mqttwire pub -t sensors/1/temp -m 21.5 -q 1
  tail -f app.log | mqttwire pub -t logs/app -l
  mqttwire test                        # against an embedded broker, no setup
  mqttwire bench -C 10000 -q 1 --clients 4

pub and sub connect to mqtt://localhost:1883 unless given -L/--url or -H/--host;
test and bench start an embedded broker (the optional "aedes" package) when given neither.

Exit status: 0 success, 1 connection or protocol failure, 2 usage error, 130 interrupted before finishing.
`;

let cachedVersion: string | undefined;

/** The version in mqttwire's package.json, found by walking up from this script (works for src/ and dist/). */
export function version(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = 'unknown';
  const script = process.argv[1];
  if (!script) return cachedVersion;
  let dir: string;
  try {
    dir = dirname(realpathSync(script));
  } catch {
    return cachedVersion;
  }
  for (let i = 0; i < 6; i++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown };
      if (pkg.name === 'mqttwire' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // no package.json here: keep climbing
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return cachedVersion;
}
