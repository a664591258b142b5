/**
 * Finds the normative statement ids that test titles cite. It reads the test sources with the
 * TypeScript parser and never runs them, so the rules below are about what is written in the file.
 *
 * What counts (keep docs/conformance.md, section "How the map is made", in step with this):
 * - Titled calls: `it`, `test` (tests) and `describe`, `suite`, `describeMosquitto` (suites), also
 *   through `.each(table)`, `.for(table)`, `.skipIf(cond)`, `.runIf(cond)`, `.only`, `.concurrent`,
 *   `.sequential` and `.shuffle`. A callee written `(cond ? a : b)` counts as `a`.
 * - `.skip`, `.todo` and `.fails` do not count (a skipped test checks nothing; a `.fails` test passes
 *   when its assertions fail), nor does anything inside a suite marked so.
 * - Only the title (first argument) is read, and only its literal text: a string literal, or the
 *   literal parts of a template literal. An id built at run time (`${c.statement}`, a `%s` filled
 *   from an `it.each` table, a variable) is not seen: write the id itself in the title.
 * - An id is `MQTT-<n>.<n>.<n>-<n>` (also the spec's own misspelling `MQTT-3-8.3-4`). An id in a
 *   suite's title says that its tests together check the statement; the suite must hold at least
 *   one test that counts.
 * - Which spec: MQTT 5.0 when the title, or the title of a suite around it in the same file,
 *   contains `[v5]` or starts with `MQTT 5`; MQTT 3.1.1 otherwise. The two specs reuse the same ids
 *   with different meanings, so a v5 test must carry the mark.
 */
import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

export type Spec = '3.1.1' | '5';

/** One titled call (a test or a suite) whose own title cites at least one statement id. */
export interface Citation {
  /** Path from the repository root, with '/' separators. */
  file: string;
  kind: 'test' | 'suite';
  /** Titles from the outermost suite down to this call, as written (template parts shown as `${...}`). */
  titles: string[];
  spec: Spec;
  /** The ids in this call's own title, in order, without repeats. */
  ids: string[];
  /** 1-based line of the call: for messages only, never rendered into the map. */
  line: number;
  /** Tests that count inside this suite (1 for a test). */
  tests: number;
}

export const STATEMENT_ID = /MQTT-\d+[.-]\d+\.\d+-\d+/g;

const TEST_NAMES = new Set(['it', 'test']);
const SUITE_NAMES = new Set(['describe', 'suite', 'describeMosquitto']);
/** Modifiers that take arguments and return the function that takes the title. */
const FACTORIES = new Set(['each', 'for', 'skipIf', 'runIf']);
const RUNS = new Set(['only', 'concurrent', 'sequential', 'shuffle']);
const SKIPS = new Set(['skip', 'todo', 'fails']);

interface Callee {
  kind: 'test' | 'suite';
  skipped: boolean;
  /** A factory modifier (`.each`) was named but not yet called with its table. */
  pending: boolean;
}

function resolveCallee(expr: ts.Expression): Callee | undefined {
  if (ts.isParenthesizedExpression(expr)) return resolveCallee(expr.expression);
  if (ts.isConditionalExpression(expr)) return resolveCallee(expr.whenTrue);
  if (ts.isIdentifier(expr)) {
    if (TEST_NAMES.has(expr.text)) return { kind: 'test', skipped: false, pending: false };
    if (SUITE_NAMES.has(expr.text)) return { kind: 'suite', skipped: false, pending: false };
    return undefined;
  }
  if (ts.isPropertyAccessExpression(expr)) {
    const base = resolveCallee(expr.expression);
    if (!base || base.pending) return undefined;
    const name = expr.name.text;
    if (FACTORIES.has(name)) return { ...base, pending: true };
    if (RUNS.has(name)) return base;
    if (SKIPS.has(name)) return { ...base, skipped: true };
    return undefined;
  }
  if (ts.isCallExpression(expr)) {
    const base = resolveCallee(expr.expression);
    return base?.pending ? { ...base, pending: false } : undefined;
  }
  return undefined;
}

interface Title {
  /** As written, whitespace collapsed; template substitutions shown as `${expression}`. */
  display: string;
  /** The literal text only, parts separated so that no id can span a substitution. */
  literal: string;
}

function readTitle(node: ts.Expression, sf: ts.SourceFile): Title {
  const squash = (s: string): string => s.replace(/\s+/g, ' ').trim();
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) {
    return { display: squash(node.text), literal: node.text };
  }
  if (ts.isTemplateExpression(node)) {
    let display = node.head.text;
    let literal = node.head.text;
    for (const span of node.templateSpans) {
      display += '${' + span.expression.getText(sf) + '}' + span.literal.text;
      literal += '\n' + span.literal.text;
    }
    return { display: squash(display), literal };
  }
  return { display: squash(node.getText(sf)), literal: '' };
}

function idsIn(text: string): string[] {
  return [...new Set(text.match(STATEMENT_ID) ?? [])];
}

function marksV5(title: Title): boolean {
  return title.literal.includes('[v5]') || /^\s*MQTT 5\b/.test(title.literal);
}

interface Scope {
  titles: string[];
  v5: boolean;
  skipped: boolean;
}

/** Every citation in one file's source text. */
export function scanSource(file: string, source: string): Citation[] {
  const sf = ts.createSourceFile(file, source, ts.ScriptTarget.Latest, true, ts.ScriptKind.TS);
  const found: Citation[] = [];

  /** Visits `node` under `scope`; returns how many counted tests it holds. */
  const visit = (node: ts.Node, scope: Scope): number => {
    if (ts.isCallExpression(node) && node.arguments.length > 0) {
      const callee = resolveCallee(node.expression);
      if (callee && !callee.pending) {
        const titleNode = node.arguments[0] as ts.Expression;
        const title = readTitle(titleNode, sf);
        const inner: Scope = {
          titles: [...scope.titles, title.display],
          v5: scope.v5 || marksV5(title),
          skipped: scope.skipped || callee.skipped,
        };
        let tests = 0;
        // The callee and the title cannot hold tests; the callback and options can.
        for (const arg of node.arguments.slice(1)) tests += visit(arg, inner);
        if (callee.kind === 'test') tests = inner.skipped ? 0 : 1;
        const ids = idsIn(title.literal);
        if (ids.length > 0 && !inner.skipped) {
          found.push({
            file,
            kind: callee.kind,
            titles: inner.titles,
            spec: inner.v5 ? '5' : '3.1.1',
            ids,
            line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
            tests,
          });
        }
        return tests;
      }
    }
    let tests = 0;
    ts.forEachChild(node, (child) => {
      tests += visit(child, scope);
    });
    return tests;
  };

  visit(sf, { titles: [], v5: false, skipped: false });
  // Suites are recorded after their contents; sort back into source order.
  return found.sort((a, b) => a.line - b.line);
}

/** Every .ts file under `dir` (recursively), as paths relative to `root`, sorted. */
export function testSources(root: string, dir = 'test'): string[] {
  const out: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(root, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (entry.name !== 'node_modules' && entry.name !== 'fixtures') walk(child);
      } else if (entry.name.endsWith('.ts')) {
        out.push(child);
      }
    }
  };
  walk(dir);
  return out.sort();
}

/** Every citation in every test source under `root`/test. */
export function scanTests(root: string): Citation[] {
  return testSources(root).flatMap((file) => scanSource(file, fs.readFileSync(path.join(root, file), 'utf8')));
}
