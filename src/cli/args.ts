/**
 * A small getopt-style parser (no dependency). What it accepts:
 *   --name value   --name=value   -n value   -nvalue   -abc (boolean flags grouped)   -rq1
 *   --  (everything after is positional)      -  (a positional, by convention standard input)
 * A repeatable option collects every value; any other option given twice keeps the last one.
 */

/** A mistake on the command line: exit code 2, with a hint to read --help. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface OptionSpec {
  /** Long name without the dashes, e.g. 'topic'. */
  long: string;
  /** One letter, e.g. 't'. */
  short?: string;
  /** Placeholder of the value, e.g. 'TOPIC'; absent for a boolean flag. */
  value?: string;
  /** May be given more than once (all values are kept). */
  repeat?: boolean;
  /** One line for --help. */
  help: string;
  /**
   * The option takes several words (`-D publish user-property NAME VALUE`): given the words taken so
   * far, how many it takes in all. Each use is kept as its list of words (`ParsedArgs.words`).
   */
  words?: (taken: readonly string[]) => number;
}

export class ParsedArgs {
  constructor(
    private readonly values: Map<string, string[]>,
    private readonly flags: Set<string>,
    readonly positionals: string[],
    private readonly wordLists: Map<string, string[][]> = new Map(),
  ) {}

  /** The option (or flag) was given at all. */
  has(long: string): boolean {
    return this.values.has(long) || this.flags.has(long) || this.wordLists.has(long);
  }

  flag(long: string): boolean {
    return this.flags.has(long);
  }

  /** The last value given, or undefined. */
  string(long: string): string | undefined {
    const list = this.values.get(long);
    return list === undefined ? undefined : list[list.length - 1];
  }

  /** Every value given, in order. */
  strings(long: string): string[] {
    return [...(this.values.get(long) ?? [])];
  }

  /** Every use of a several-word option (OptionSpec.words), in order, each as its words. */
  words(long: string): string[][] {
    return (this.wordLists.get(long) ?? []).map((w) => [...w]);
  }
}

function display(spec: OptionSpec): string {
  return spec.short ? `-${spec.short}/--${spec.long}` : `--${spec.long}`;
}

export function parseArgs(argv: readonly string[], specs: readonly OptionSpec[]): ParsedArgs {
  const byLong = new Map<string, OptionSpec>();
  const byShort = new Map<string, OptionSpec>();
  for (const s of specs) {
    byLong.set(s.long, s);
    if (s.short) byShort.set(s.short, s);
  }
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  const wordLists = new Map<string, string[][]>();

  const isKnownOption = (arg: string): boolean =>
    arg.startsWith('--') ? byLong.has(arg.slice(2).split('=')[0] ?? '') : arg.length === 2 && arg[0] === '-' && byShort.has(arg[1] ?? '');

  const set = (spec: OptionSpec, value: string | undefined): void => {
    if (spec.value === undefined) {
      flags.add(spec.long);
      return;
    }
    const v = value ?? '';
    if (spec.repeat) values.set(spec.long, [...(values.get(spec.long) ?? []), v]);
    else values.set(spec.long, [v]);
  };

  /** The value of `spec` from the next argument; an option name there means the value is missing. */
  const takeNext = (spec: OptionSpec, i: number): string => {
    const next = argv[i];
    if (next === undefined || isKnownOption(next)) throw new UsageError(`option ${display(spec)} needs a value (${spec.value})`);
    return next;
  };

  /** A several-word option: `first` (attached or the next argument), then as many more as it needs; returns the new index. */
  const takeWords = (spec: OptionSpec & { words: NonNullable<OptionSpec['words']> }, first: string, i: number): number => {
    const taken = [first];
    while (taken.length < spec.words(taken)) {
      const next = argv[i + 1];
      if (next === undefined || isKnownOption(next)) throw new UsageError(`option ${display(spec)} needs ${spec.value} (got ${taken.length} of ${spec.words(taken)} words)`);
      taken.push(next);
      i++;
    }
    wordLists.set(spec.long, [...(wordLists.get(spec.long) ?? []), taken]);
    return i;
  };

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      const inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      const spec = byLong.get(name);
      if (!spec) throw new UsageError(`unknown option --${name}${suggest(name, [...byLong.keys()])}`);
      if (spec.value === undefined) {
        if (inline !== undefined) throw new UsageError(`option --${name} takes no value`);
        set(spec, undefined);
      } else if (spec.words) {
        const first = inline ?? takeNext(spec, ++i);
        i = takeWords({ ...spec, words: spec.words }, first, i);
      } else {
        set(spec, inline ?? takeNext(spec, ++i));
      }
      continue;
    }
    if (arg.startsWith('-') && arg.length > 1) {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j] as string;
        const spec = byShort.get(letter);
        if (!spec) {
          const long = byLong.has(arg.slice(1)) ? ` (did you mean --${arg.slice(1)}?)` : '';
          throw new UsageError(`unknown option -${letter}${j > 1 ? ` in ${arg}` : ''}${long}`);
        }
        if (spec.value === undefined) {
          // mosquitto_pub/sub users type `-h host`; here -h is --help.
          if (spec.long === 'help' && arg === '-h' && argv[i + 1] !== undefined && !argv[i + 1]?.startsWith('-')) {
            throw new UsageError(`-h is --help here; name the broker with -H/--host (mosquitto's -h) or -L/--url`);
          }
          set(spec, undefined);
          continue;
        }
        const rest = arg.slice(j + 1);
        if (spec.words) {
          const first = rest !== '' ? rest : takeNext(spec, ++i);
          i = takeWords({ ...spec, words: spec.words }, first, i);
        } else {
          set(spec, rest !== '' ? rest : takeNext(spec, ++i));
        }
        break;
      }
      continue;
    }
    positionals.push(arg);
  }
  return new ParsedArgs(values, flags, positionals, wordLists);
}

/** ` (did you mean --x?)` for a close long option name, or ''. */
function suggest(name: string, candidates: string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(name) && name.length >= 2 ? 1 : editDistance(name, c);
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best !== undefined && bestDistance <= Math.max(1, Math.floor(name.length / 3)) ? ` (did you mean --${best}?)` : '';
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = row;
  }
  return prev[b.length] as number;
}

// Value checks: each throws a UsageError naming the option.

export function parseQos(value: string | undefined, option: string, fallback: 0 | 1 | 2 = 0): 0 | 1 | 2 {
  if (value === undefined) return fallback;
  if (value === '0' || value === '1' || value === '2') return Number(value) as 0 | 1 | 2;
  throw new UsageError(`QoS must be 0, 1 or 2, got "${value}" (${option})`);
}

export function parseInteger(value: string | undefined, option: string, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  const n = /^\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`${option} must be a whole number from ${min} to ${max}, got "${value}"`);
  }
  return n;
}

/** Seconds as a positive decimal number (e.g. 0.5), returned in milliseconds. */
export function parseSeconds(value: string | undefined, option: string, fallbackMs: number): number {
  if (value === undefined) return fallbackMs;
  const n = /^\d*\.?\d+$/.test(value.trim()) ? Number(value) : NaN;
  if (!Number.isFinite(n) || n <= 0 || n > 2_147_483) throw new UsageError(`${option} must be a number of seconds greater than 0, got "${value}"`);
  return Math.round(n * 1000);
}
