import { InvalidArgumentError, MqttError } from '../index.js';
import { parseArgs, UsageError } from './args.js';
import { benchCommand } from './bench.js';
import type { Command } from './command.js';
import { CliError, Interrupted } from './connection.js';
import { MAIN_HELP, renderHelp, version } from './help.js';
import { Output, type Context } from './io.js';
import { pubCommand } from './pub.js';
import { subCommand } from './sub.js';
import { testCommand } from './test-command.js';

export const COMMANDS: Record<string, Command> = {
  pub: pubCommand,
  sub: subCommand,
  test: testCommand,
  bench: benchCommand,
};
const ALIASES: Record<string, string> = { publish: 'pub', subscribe: 'sub' };

export interface Io {
  stdout: Output;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  env: Record<string, string | undefined>;
}

function processIo(): Io {
  return { stdout: new Output(process.stdout), stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Runs `mqttwire <argv>` and resolves with the exit code. Never throws. */
export async function main(argv: readonly string[], io: Io = processIo()): Promise<number> {
  const [first, ...rest] = argv;
  const err = (text: string): void => {
    io.stderr.write(text.endsWith('\n') ? text : `${text}\n`);
  };
  if (first === undefined) {
    err(MAIN_HELP);
    return 2;
  }
  if (first === '--version' || first === '-V') {
    await io.stdout.write(`mqttwire ${version()}\n`);
    return 0;
  }
  if (first === '-h' || first === '--help' || first === 'help') {
    const topic = rest[0] !== undefined ? COMMANDS[ALIASES[rest[0]] ?? rest[0]] : undefined;
    await io.stdout.write(topic ? renderHelp(topic.help) : MAIN_HELP);
    return 0;
  }
  const command = COMMANDS[ALIASES[first] ?? first];
  if (!command) {
    const what = first.startsWith('-') ? `expected a command before ${first}` : `unknown command "${first}"`;
    err(`mqttwire: ${what} (commands: ${Object.keys(COMMANDS).join(', ')})\ntry 'mqttwire --help'`);
    return 2;
  }

  const ctx: Context = {
    command: command.name,
    out: io.stdout,
    info: (line) => err(`mqttwire ${command.name}: ${line}`),
    stderr: io.stderr as Context['stderr'],
    stderrIsTTY: io.stderr.isTTY === true,
    stdin: io.stdin as Context['stdin'],
    env: io.env,
    debug: false, // set from -d once the options are parsed
  };
  try {
    const args = parseArgs(rest, command.options);
    ctx.debug = args.flag('debug');
    if (args.flag('help')) {
      await io.stdout.write(renderHelp(command.help));
      return 0;
    }
    if (args.flag('version')) {
      await io.stdout.write(`mqttwire ${version()}\n`);
      return 0;
    }
    if (args.positionals.length > command.maxPositionals) {
      const extra = args.positionals[command.maxPositionals] ?? '';
      throw new UsageError(`unexpected argument "${extra}"${command.name === 'pub' ? ' (quote a message with spaces: -m "two words")' : ''}`);
    }
    return await command.run(args, ctx);
  } catch (e) {
    return report(e, ctx, err);
  }
}

function report(e: unknown, ctx: Context, err: (text: string) => void): number {
  const prefix = `mqttwire ${ctx.command}:`;
  if (e instanceof Interrupted) return 130;
  if (e instanceof UsageError || e instanceof InvalidArgumentError) {
    err(`${prefix} ${e.message}\ntry 'mqttwire ${ctx.command} --help'`);
    return 2;
  }
  if (e instanceof CliError) {
    err(`${prefix} ${e.message}`);
    if (ctx.debug && e.detail instanceof Error && e.detail.stack) err(e.detail.stack);
    return e.exitCode;
  }
  if (e instanceof MqttError) {
    err(`${prefix} ${e.message}`);
  } else {
    err(`${prefix} unexpected error: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (ctx.debug && e instanceof Error && e.stack) err(e.stack);
  return 1;
}
