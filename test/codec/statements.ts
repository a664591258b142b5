/** The normative statement ids our errors may cite, from the lists in test/fixtures/conformance/. */
import { readFileSync } from 'node:fs';

interface Statement {
  id: string;
  text: string;
}

const load = (name: string): Statement[] =>
  JSON.parse(readFileSync(new URL(`../fixtures/conformance/${name}`, import.meta.url), 'utf8')) as Statement[];

/**
 * Statement ids of MQTT 5.0: the list's 247 ids, and the ones its texts quote (the list folds a few statements
 * into their neighbours' text, e.g. [MQTT-1.5.5-1] into MQTT-1.5.4-2's).
 */
export function mqtt5StatementIds(): Set<string> {
  const list = load('mqtt5-normative-statements.json');
  const ids = new Set(list.map((s) => s.id));
  for (const s of list) for (const m of s.text.matchAll(/\[(MQTT-[\d.-]+)\]/g)) ids.add(m[1]!);
  return ids;
}
