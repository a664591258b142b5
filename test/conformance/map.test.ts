/**
 * The conformance map's CI check (docs/conformance.md explains the map): the decisions are complete
 * and well-formed, every MQTT 3.1.1 statement that binds the client is cited by a test title (or
 * has a recorded deviation), every cited id exists, and docs/conformance.md is exactly what
 * `npm run conformance` writes from the current tests and decisions.
 *
 * The second half checks the checker: the title scanner's rules, and that a missing test or a stray
 * id really is reported.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildMap, isGap, MQTT5_GAPS_FAIL_CI, problems, where, type ConformanceMap } from '../../scripts/conformance/map.js';
import { MAP_FILE, render } from '../../scripts/conformance/render.js';
import { scanSource, scanTests, type Citation } from '../../scripts/conformance/scan.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

let citations: Citation[];
let map: ConformanceMap;

beforeAll(() => {
  citations = scanTests(ROOT);
  map = buildMap(ROOT, citations);
});

describe('the conformance map (docs/conformance.md)', () => {
  it('has a well-formed decision for each of the 141 MQTT 3.1.1 and 247 MQTT 5.0 statements, in order', () => {
    expect([...map.v311.decisionErrors, ...map.v5.decisionErrors]).toEqual([]);
    expect(map.v311.entries).toHaveLength(141);
    expect(map.v5.entries).toHaveLength(247);
  });

  it('every MQTT 3.1.1 statement that binds the client is cited by a test, or has a recorded deviation', () => {
    expect(map.v311.entries.filter(isGap).map((e) => e.statement.id)).toEqual([]);
  });

  it('every cited id is an MQTT 3.1.1 statement (or carries the MQTT 5 mark), and every citing suite holds a test', () => {
    expect(map.v311.unknown.map((u) => `${u.id} in ${where(u.citation)}`)).toEqual([]);
    expect(map.emptySuites.map(where)).toEqual([]);
    expect(problems(map)).toEqual([]);
  });

  it.runIf(MQTT5_GAPS_FAIL_CI)('every MQTT 5.0 statement that binds the client is cited by a [v5] test, and every [v5] citation is an MQTT 5.0 statement', () => {
    expect(map.v5.entries.filter(isGap).map((e) => e.statement.id)).toEqual([]);
    expect(map.v5.unknown.map((u) => `${u.id} in ${where(u.citation)}`)).toEqual([]);
  });

  it(`${MAP_FILE} is what npm run conformance writes now`, () => {
    const committed = fs.readFileSync(new URL(`../../${MAP_FILE}`, import.meta.url), 'utf8').split('\n');
    const generated = render(map).split('\n');
    // The first line that differs, rather than a diff of the whole 100 KB file.
    const at = generated.findIndex((line, i) => line !== committed[i]);
    const first = at === -1 && committed.length !== generated.length ? generated.length : at;
    expect(first === -1 ? 'up to date' : `stale from line ${first + 1}: ${committed[first] ?? '(end of file)'}`, `run npm run conformance and commit ${MAP_FILE}`).toBe('up to date');
  });
});

describe('the checker itself', () => {
  it('reports a client statement once no test cites it, and not once a deviation is recorded', () => {
    const id = 'MQTT-3.3.4-1';
    const without = buildMap(
      ROOT,
      // Only the 3.1.1 citations: the MQTT 5 statement of the same id keeps its tests.
      citations.map((c) => (c.spec === '3.1.1' ? { ...c, ids: c.ids.filter((x) => x !== id) } : c)).filter((c) => c.ids.length > 0),
    );
    expect(problems(without)).toContain(`MQTT 3.1.1 ${id} binds the client but no test title cites it`);
    const entry = without.v311.entries.find((e) => e.statement.id === id)!;
    entry.decision = { ...entry.decision, deviation: 'for this check only' };
    expect(problems(without).filter((p) => p.includes(id))).toEqual([]);
    expect(render(without)).toContain(`- **MQTT 3.1.1 ${id}**: for this check only`);
  });

  it('reports an unknown 3.1.1 id, an unknown id under the MQTT 5 mark, and a citing suite without tests', () => {
    const extra = scanSource(
      'test/example.test.ts',
      `describe('outer [MQTT-9.9.9-9]', () => {});
       it('typo [MQTT-3.3.4-99]', () => {});
       it('[v5] not in the list [MQTT-1.5.5-1]', () => {});`,
    );
    const m = buildMap(ROOT, [...citations, ...extra]);
    const found = problems(m);
    expect(found.filter((p) => p.includes('test/example.test.ts'))).toEqual([
      expect.stringContaining('cites MQTT-1.5.5-1 under the MQTT 5 mark, which is not an MQTT 5.0 statement'),
      expect.stringContaining('cites MQTT-3.3.4-99, which is not an MQTT 3.1.1 statement'),
      expect.stringContaining('cites MQTT-9.9.9-9 but holds no test that counts'),
    ]);
    expect(m.v5.unknown.map((u) => u.id)).toEqual(['MQTT-1.5.5-1']);
    expect(render(m)).toContain('- MQTT-1.5.5-1: `test/example.test.ts` › \\[v5\\] not in the list \\[MQTT-1.5.5-1\\]');
  });

  it('reads titles as documented: call forms, literal text only, skips, suites, and the MQTT 5 mark', () => {
    const source = `
      describe('session [MQTT-4.1.0-1]', () => {
        it('plain [MQTT-3.3.4-1]', () => {});
        test("double quotes (MQTT-2.3.1-1, MQTT-2.3.1-2)", () => {});
        it.each([1, 2])('each %i [MQTT-4.6.0-2]', () => {});
        it.for([1])('for %i [MQTT-4.6.0-3]', () => {});
        it.skipIf(false)('skipIf [MQTT-4.6.0-4]', () => {});
        it.concurrent('concurrent [MQTT-3.3.1-1]', { timeout: 1 }, () => {});
        it(\`template \${name} [MQTT-3.3.1-2] \${'[MQTT-3.3.1-3]'}\`, () => {});
        it(name, () => {});
        it(\`MQTT-\${n}.3.1-9 built at run time\`, () => {});
        it.skip('skipped [MQTT-3.3.1-4]', () => {});
        it.todo('todo [MQTT-3.3.1-5]');
        it.fails('fails [MQTT-3.3.1-6]', () => {});
        describe.skip('skipped suite', () => { it('inside [MQTT-3.3.1-7]', () => {}); });
        helper('not a titled call [MQTT-3.3.1-8]', () => {});
        it('the spec misspelling [MQTT-3-8.3-4]', () => {});
      });
      describe('MQTT 5 CONNACK', () => {
        it('v5 by its suite [MQTT-3.2.2-4]', () => {});
      });
      (cond ? describeMosquitto : describe.skip)('conditional', () => {
        it('[v5] by its own title [MQTT-3.2.2-5]', () => {});
        it('back to 3.1.1 [MQTT-3.2.2-6]', () => {});
      });
      describe('empty [MQTT-3.14.4-1]', () => {});
    `;
    const found = scanSource('test/x.test.ts', source).map((c) => [c.kind, c.spec, c.tests, c.ids.join(' '), c.titles.at(-1)]);
    expect(found).toEqual([
      ['suite', '3.1.1', 10, 'MQTT-4.1.0-1', 'session [MQTT-4.1.0-1]'],
      ['test', '3.1.1', 1, 'MQTT-3.3.4-1', 'plain [MQTT-3.3.4-1]'],
      ['test', '3.1.1', 1, 'MQTT-2.3.1-1 MQTT-2.3.1-2', 'double quotes (MQTT-2.3.1-1, MQTT-2.3.1-2)'],
      ['test', '3.1.1', 1, 'MQTT-4.6.0-2', 'each %i [MQTT-4.6.0-2]'],
      ['test', '3.1.1', 1, 'MQTT-4.6.0-3', 'for %i [MQTT-4.6.0-3]'],
      ['test', '3.1.1', 1, 'MQTT-4.6.0-4', 'skipIf [MQTT-4.6.0-4]'],
      ['test', '3.1.1', 1, 'MQTT-3.3.1-1', 'concurrent [MQTT-3.3.1-1]'],
      ['test', '3.1.1', 1, 'MQTT-3.3.1-2', "template ${name} [MQTT-3.3.1-2] ${'[MQTT-3.3.1-3]'}"],
      ['test', '3.1.1', 1, 'MQTT-3-8.3-4', 'the spec misspelling [MQTT-3-8.3-4]'],
      ['test', '5', 1, 'MQTT-3.2.2-4', 'v5 by its suite [MQTT-3.2.2-4]'],
      ['test', '5', 1, 'MQTT-3.2.2-5', '[v5] by its own title [MQTT-3.2.2-5]'],
      ['test', '3.1.1', 1, 'MQTT-3.2.2-6', 'back to 3.1.1 [MQTT-3.2.2-6]'],
      ['suite', '3.1.1', 0, 'MQTT-3.14.4-1', 'empty [MQTT-3.14.4-1]'],
    ]);
  });
});
