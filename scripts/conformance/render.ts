/**
 * Renders the conformance map (map.ts) as docs/conformance.md. The output depends only on the
 * statements, the decisions and the test titles (no dates, no line numbers), so it changes only
 * when one of them does.
 */
import type { Citation } from './scan.js';
import { DECISION_FILES, isGap, MQTT5_FEATURES, MQTT5_GAPS_FAIL_CI, type ConformanceMap, type Entry, type SpecMap } from './map.js';

/** Escapes the characters Markdown would read as formatting in running text and table cells. */
function md(s: string): string {
  return s.replace(/[\\`*_[\]<>|]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : `\\${c}`));
}

/** The statement text on one line, cut at a word boundary when long (the full text is in the fixture). */
function abridge(text: string, max = 240): string {
  const flat = text.replace(/<br \/>\s*·?/g, ' ').replace(/\s+/g, ' ').trim();
  if (flat.length <= max) return flat;
  const cut = flat.lastIndexOf(' ', max);
  return `${flat.slice(0, cut > 0 ? cut : max)} …`;
}

function citation(c: Citation): string {
  const titles = c.titles.map(md).join(' › ');
  const suite = c.kind === 'suite' ? ` (suite: ${c.tests} ${c.tests === 1 ? 'test' : 'tests'})` : '';
  return `\`${c.file}\` › ${titles}${suite}`;
}

interface Counts {
  all: number;
  client: number;
  tested: number;
  deviations: number;
  gaps: number;
  serverOnly: number;
  notApplicable: number;
}

function count(entries: Entry[]): Counts {
  const client = entries.filter((e) => e.decision.decision === 'client');
  return {
    all: entries.length,
    client: client.length,
    tested: client.filter((e) => e.citations.length > 0).length,
    deviations: client.filter((e) => e.decision.deviation !== undefined).length,
    gaps: client.filter(isGap).length,
    serverOnly: entries.filter((e) => e.decision.decision === 'server-only').length,
    notApplicable: entries.filter((e) => e.decision.decision === 'not-applicable').length,
  };
}

function countRow(label: string, c: Counts, gapNote = ''): string {
  return `| ${label} | ${c.all} | ${c.client} | ${c.tested} | ${c.deviations} | ${c.gaps}${gapNote} | ${c.serverOnly} | ${c.notApplicable} |`;
}

const COUNT_HEADER = [
  '| | statements | bind the client | client, with tests | known deviations | gaps (client, no test) | server only | not applicable |',
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
];

/** One client statement: its text, what it binds, the tests (or the gap), any deviation. */
function clientBlock(e: Entry, heading: string, specLabel: string): string[] {
  const out = [`${heading} ${e.statement.id}`, '', `> ${md(abridge(e.statement.text))}`, '', `What it binds: ${md(e.decision.reason)}`, ''];
  if (e.decision.deviation !== undefined) out.push(`**Known deviation:** ${md(e.decision.deviation)}`, '');
  if (e.citations.length === 0) {
    out.push(e.decision.deviation !== undefined ? 'Tests: none.' : `**Gap: no test cites it yet${specLabel}.**`, '');
  } else {
    out.push('Tests:', '', ...e.citations.map((c) => `- ${citation(c)}`), '');
  }
  return out;
}

/** Statements that do not bind the client: one table row each, with any tests that cite them anyway. */
function otherTable(entries: Entry[]): string[] {
  if (entries.length === 0) return ['None.', ''];
  const rows = entries.map((e) => {
    const cited = e.citations.map(citation).join('<br>');
    return `| ${e.statement.id} | ${e.decision.decision} | ${md(abridge(e.statement.text, 160))} | ${md(e.decision.reason)} | ${cited} |`;
  });
  return ['| id | decision | statement (abridged) | why it does not bind the client | tests citing it anyway |', '| --- | --- | --- | --- | --- |', ...rows, ''];
}

function unknownList(m: SpecMap, label: string): string[] {
  if (m.unknown.length === 0) return [];
  return [
    `Ids cited by ${label} tests that are not in the statement list:`,
    '',
    ...m.unknown.map((u) => `- ${u.id}: ${citation(u.citation)}`),
    '',
  ];
}

function rules(): string[] {
  return [
    '## How the map is made',
    '',
    `- **Decisions.** Each statement was decided by hand from the spec text (the fixtures' \`role_heuristic\` is not used): \`client\` when the client must do it or must check it in what it receives (packet-format statements bind our encoder, and often our decoder), \`server-only\`, or \`not-applicable\`, each with a reason. They live in ${DECISION_FILES.map((f) => `\`${f}\``).join(' and ')}, in the order of the statement lists.`,
    '- **Tests.** A test checks a statement when its title cites the statement id and the test would fail if the rule were broken. The generator reads the test sources under `test/` (it does not run them):',
    '  - titled calls are `it`, `test`, `describe`, `suite` and `describeMosquitto`, also through `.each(...)`, `.for(...)`, `.skipIf(...)`, `.runIf(...)`, `.only`, `.concurrent`, `.sequential` and `.shuffle`; `.skip`, `.todo` and `.fails` (and everything inside a suite marked so) do not count;',
    '  - only the literal text of the title counts: a string, or the fixed parts of a template literal. An id produced at run time (a `${...}` substitution, a `%s` from an `it.each` table) is not seen, so write the id itself in the title;',
    '  - an id in a suite\'s title means that the suite\'s tests together check the statement; such a suite must hold at least one test that counts.',
    '- **Which spec.** MQTT 3.1.1 and MQTT 5.0 reuse the same ids with different meanings. An id belongs to MQTT 5.0 when the test\'s title, or the title of a suite around it in the same file, contains `[v5]` or starts with `MQTT 5` (e.g. `describe(\'MQTT 5 CONNACK properties\', ...)`, or `it(\'[v5] ... [MQTT-3.2.2-4]\', ...)`); every other id belongs to MQTT 3.1.1.',
    `- **CI.** \`test/conformance/map.test.ts\` (part of \`npm test\`) fails when an MQTT 3.1.1 statement that binds the client has neither a test nor a recorded deviation, when a title cites an id that is not an MQTT 3.1.1 statement without the MQTT 5 mark, when a decision is missing or malformed, and when this file differs from what \`npm run conformance\` writes now. ${MQTT5_GAPS_FAIL_CI ? 'So does an MQTT 5.0 statement that binds the client without a test with the MQTT 5 mark, and a title with the mark that cites an id that is not an MQTT 5.0 statement (`MQTT5_GAPS_FAIL_CI` in `scripts/conformance/map.ts`).' : 'MQTT 5.0 gaps do not yet fail it (`MQTT5_GAPS_FAIL_CI` in `scripts/conformance/map.ts`, to be turned on when the MQTT 5 map is complete).'}`,
    '- **Updating.** Change a decision in its JSON file, or a test title, then run `npm run conformance` and commit this file with the change.',
    '',
  ];
}

export function render(map: ConformanceMap): string {
  const c311 = count(map.v311.entries);
  const c5 = count(map.v5.entries);
  const lines: string[] = [
    '# Conformance map',
    '',
    '<!-- Generated by `npm run conformance` (scripts/conformance.ts). Do not edit by hand: test/conformance/map.test.ts fails when this file differs from what the generator writes. -->',
    '',
    `Every normative statement of MQTT 3.1.1 and MQTT 5.0 (\`test/fixtures/conformance/mqtt311-normative-statements.json\` and \`mqtt5-normative-statements.json\`), whether it binds mqttwire, and the tests that check it. mqttwire speaks MQTT 3.1.1 and, with \`protocolVersion: 5\`, MQTT 5.0.${MQTT5_GAPS_FAIL_CI ? '' : ' The MQTT 5.0 client statements without a test yet are listed as such (they do not fail CI until the MQTT 5 map is complete).'}`,
    '',
    ...COUNT_HEADER,
    countRow('MQTT 3.1.1', c311),
    countRow('MQTT 5.0', c5, MQTT5_GAPS_FAIL_CI ? '' : ' (not checked yet)'),
    '',
    ...rules(),
  ];

  const deviations = [...map.v311.entries, ...map.v5.entries].filter((e) => e.decision.deviation !== undefined);
  lines.push('## Known deviations', '');
  if (deviations.length === 0) lines.push('None.', '');
  for (const e of deviations) {
    const spec = map.v311.entries.includes(e) ? 'MQTT 3.1.1' : 'MQTT 5.0';
    lines.push(`- **${spec} ${e.statement.id}**: ${md(e.decision.deviation as string)}`);
  }
  if (deviations.length > 0) lines.push('');

  lines.push('## MQTT 3.1.1', '', '### Statements that bind the client', '');
  for (const e of map.v311.entries.filter((x) => x.decision.decision === 'client')) lines.push(...clientBlock(e, '####', ''));
  lines.push('### Statements that do not bind the client', '', ...otherTable(map.v311.entries.filter((x) => x.decision.decision !== 'client')));
  lines.push(...unknownList(map.v311, 'MQTT 3.1.1'));

  lines.push(
    '## MQTT 5.0',
    '',
    `Decided one by one, grouped by feature. A test counts here only with the MQTT 5 mark (see "Which spec" above). Gaps ${MQTT5_GAPS_FAIL_CI ? 'fail' : 'do not fail'} CI${MQTT5_GAPS_FAIL_CI ? '' : ' yet'}.`,
    '',
    '| feature | statements | bind the client | client, with tests | gaps | server only | not applicable |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const feature of MQTT5_FEATURES) {
    const f = count(map.v5.entries.filter((e) => e.decision.feature === feature));
    lines.push(`| ${feature} | ${f.all} | ${f.client} | ${f.tested} | ${f.gaps} | ${f.serverOnly} | ${f.notApplicable} |`);
  }
  lines.push('');
  for (const feature of MQTT5_FEATURES) {
    const entries = map.v5.entries.filter((e) => e.decision.feature === feature);
    lines.push(`### MQTT 5.0: ${feature}`, '', '#### Statements that bind the client', '');
    const client = entries.filter((x) => x.decision.decision === 'client');
    if (client.length === 0) lines.push('None.', '');
    for (const e of client) lines.push(...clientBlock(e, '#####', ' (with the MQTT 5 mark)'));
    lines.push('#### Statements that do not bind the client', '', ...otherTable(entries.filter((x) => x.decision.decision !== 'client')));
  }
  lines.push(...unknownList(map.v5, 'MQTT 5.0'));
  return lines.join('\n').replace(/\n+$/, '\n');
}

/** Where the map is written, from the repository root. */
export const MAP_FILE = 'docs/conformance.md';
