import type { OptionSpec, ParsedArgs } from './args.js';
import type { CommandHelp } from './help.js';
import type { Context } from './io.js';

export interface Command {
  name: string;
  options: OptionSpec[];
  help: CommandHelp;
  /** Positional arguments accepted (test takes the old mqtt_test's <host>). */
  maxPositionals: number;
  /** Resolves with the exit code; throws UsageError, CliError, Interrupted or a client error. */
  run(args: ParsedArgs, ctx: Context): Promise<number>;
}
