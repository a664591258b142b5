/**
 * The conformance map: each normative statement of MQTT 3.1.1 and MQTT 5.0 with our decision about
 * it (test/conformance/mqtt*-decisions.json) and the test titles that cite it (scan.ts), plus the
 * problems that must fail CI (problems()).
 *
 * To change a decision, edit the decisions file; to show that a test checks a statement, put the id
 * in the test's title (see scan.ts for exactly what counts); then run `npm run conformance` and
 * commit docs/conformance.md with the change. test/conformance/map.test.ts fails while the map has
 * a problem or the committed docs/conformance.md differs from what the generator writes.
 */
import fs from 'node:fs';
import path from 'node:path';
import { scanTests, type Citation, type Spec } from './scan.js';

/**
 * On since every MQTT 5 statement that binds the client has a `[v5]` test (issue 14): a new gap, or a
 * `[v5]` title citing an id that is not an MQTT 5.0 statement, fails CI as for MQTT 3.1.1. While it was
 * off, gaps were only listed in docs/conformance.md.
 */
export const MQTT5_GAPS_FAIL_CI = true;

export type Decision = 'client' | 'server-only' | 'not-applicable';
const DECISIONS: readonly Decision[] = ['client', 'server-only', 'not-applicable'];

/** The MQTT 5 features a statement can belong to (issue 14's parts, plus the transports). */
export const MQTT5_FEATURES = [
  'codec',
  'connect',
  'limits',
  'reason codes',
  'disconnect',
  'properties',
  'subscription options',
  'topic aliases',
  'sessions',
  'enhanced auth',
  'transport',
] as const;
export type Mqtt5Feature = (typeof MQTT5_FEATURES)[number];

export interface Statement {
  id: string;
  text: string;
}

export interface DecisionRecord {
  id: string;
  decision: Decision;
  /** client: what in our code the statement binds; otherwise why it does not bind us. */
  reason: string;
  /** client only: where we knowingly do otherwise, and why. Listed as a known deviation. */
  deviation?: string;
  /** MQTT 5 only. */
  feature?: Mqtt5Feature;
}

export interface Entry {
  statement: Statement;
  decision: DecisionRecord;
  /** Tests and suites whose titles cite this statement (of this spec), in file order. */
  citations: Citation[];
}

export interface SpecMap {
  spec: Spec;
  entries: Entry[];
  /** Citations of ids that are not in this spec's statement list. */
  unknown: { citation: Citation; id: string }[];
  /** Problems found in the decisions file itself. */
  decisionErrors: string[];
}

export interface ConformanceMap {
  v311: SpecMap;
  v5: SpecMap;
  /** Suites that cite an id but hold no test that counts. */
  emptySuites: Citation[];
}

const SOURCES: Record<Spec, { statements: string; decisions: string }> = {
  '3.1.1': {
    statements: 'test/fixtures/conformance/mqtt311-normative-statements.json',
    decisions: 'test/conformance/mqtt311-decisions.json',
  },
  '5': {
    statements: 'test/fixtures/conformance/mqtt5-normative-statements.json',
    decisions: 'test/conformance/mqtt5-decisions.json',
  },
};

export const DECISION_FILES = [SOURCES['3.1.1'].decisions, SOURCES['5'].decisions];

function readJson(root: string, file: string): unknown {
  return JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));
}

/** Checks one decisions file against its statement list; returns the records and what is wrong. */
function checkDecisions(spec: Spec, statements: Statement[], raw: unknown, file: string): { records: Map<string, DecisionRecord>; errors: string[] } {
  const errors: string[] = [];
  const records = new Map<string, DecisionRecord>();
  const list = (raw as { statements?: unknown }).statements;
  if (!Array.isArray(list)) return { records, errors: [`${file}: no "statements" array`] };
  const known = new Set(statements.map((s) => s.id));
  for (const [i, r] of (list as Record<string, unknown>[]).entries()) {
    const id = typeof r.id === 'string' ? r.id : `#${i}`;
    const where = `${file} ${id}`;
    if (!known.has(id)) errors.push(`${where}: not a statement id of MQTT ${spec}`);
    else if (records.has(id)) errors.push(`${where}: decided twice`);
    else if (statements[i]?.id !== id) errors.push(`${where}: out of order (entry ${i} should be ${statements[i]?.id}, as in the statement list)`);
    const allowed = new Set(['id', 'decision', 'reason', 'deviation', ...(spec === '5' ? ['feature'] : [])]);
    for (const key of Object.keys(r)) if (!allowed.has(key)) errors.push(`${where}: unknown field "${key}"`);
    if (!DECISIONS.includes(r.decision as Decision)) errors.push(`${where}: decision must be one of ${DECISIONS.join(', ')}`);
    if (typeof r.reason !== 'string' || r.reason.trim().length < 10) errors.push(`${where}: needs a reason (what it binds, or why it does not bind us)`);
    if (r.deviation !== undefined && (r.decision !== 'client' || typeof r.deviation !== 'string' || r.deviation.trim() === '')) {
      errors.push(`${where}: a deviation is a non-empty text, and only on a client statement`);
    }
    if (spec === '5' && !MQTT5_FEATURES.includes(r.feature as Mqtt5Feature)) errors.push(`${where}: feature must be one of ${MQTT5_FEATURES.join(', ')}`);
    records.set(id, r as unknown as DecisionRecord);
  }
  for (const s of statements) if (!records.has(s.id)) errors.push(`${file}: no decision for ${s.id}`);
  return { records, errors };
}

function buildSpec(root: string, spec: Spec, citations: Citation[]): SpecMap {
  const src = SOURCES[spec];
  const statements = (readJson(root, src.statements) as Statement[]).map((s) => ({ id: s.id, text: s.text }));
  const { records, errors } = checkDecisions(spec, statements, readJson(root, src.decisions), src.decisions);
  const bySpec = citations.filter((c) => c.spec === spec && c.tests > 0);
  const entries: Entry[] = [];
  for (const statement of statements) {
    const decision = records.get(statement.id);
    if (!decision) continue;
    entries.push({ statement, decision, citations: bySpec.filter((c) => c.ids.includes(statement.id)) });
  }
  const known = new Set(statements.map((s) => s.id));
  const unknown = bySpec.flatMap((citation) => citation.ids.filter((id) => !known.has(id)).map((id) => ({ citation, id })));
  return { spec, entries, unknown, decisionErrors: errors };
}

/** Reads the statements, the decisions and every test title under `root`. */
export function buildMap(root: string, citations: Citation[] = scanTests(root)): ConformanceMap {
  return {
    v311: buildSpec(root, '3.1.1', citations),
    v5: buildSpec(root, '5', citations),
    emptySuites: citations.filter((c) => c.tests === 0),
  };
}

/** A client statement with neither a test nor a recorded deviation. */
export function isGap(e: Entry): boolean {
  return e.decision.decision === 'client' && e.citations.length === 0 && e.decision.deviation === undefined;
}

export function where(c: Citation): string {
  return `${c.file}:${c.line} (${c.titles.join(' > ')})`;
}

/** Everything that must fail CI, one line each; empty when the map is sound. */
export function problems(map: ConformanceMap): string[] {
  const out: string[] = [...map.v311.decisionErrors, ...map.v5.decisionErrors];
  for (const e of map.v311.entries.filter(isGap)) out.push(`MQTT 3.1.1 ${e.statement.id} binds the client but no test title cites it`);
  if (MQTT5_GAPS_FAIL_CI) {
    for (const e of map.v5.entries.filter(isGap)) out.push(`MQTT 5 ${e.statement.id} binds the client but no [v5] test title cites it`);
    for (const u of map.v5.unknown) out.push(`${where(u.citation)} cites ${u.id} under the MQTT 5 mark, which is not an MQTT 5.0 statement`);
  }
  // The 3.1.1 list is complete, so an id outside it is a typo (or a v5 test without its mark).
  for (const u of map.v311.unknown) out.push(`${where(u.citation)} cites ${u.id}, which is not an MQTT 3.1.1 statement (an MQTT 5 test needs [v5] in its title or a suite's)`);
  for (const c of map.emptySuites) out.push(`${where(c)} cites ${c.ids.join(', ')} but holds no test that counts`);
  return out;
}
