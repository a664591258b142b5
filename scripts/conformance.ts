/**
 * `npm run conformance`: writes docs/conformance.md from the statement lists, our decisions
 * (test/conformance/mqtt*-decisions.json) and the statement ids cited in test titles, and lists
 * the map's problems (exit code 1 if there are any). `--check` writes nothing and also fails when
 * docs/conformance.md is not what it would write. How titles are read: scripts/conformance/scan.ts.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildMap, problems } from './conformance/map.js';
import { MAP_FILE, render } from './conformance/render.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const check = process.argv.includes('--check');
const map = buildMap(root);
const text = render(map);
const file = path.join(root, MAP_FILE);
const current = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : undefined;
const found = problems(map);

if (check) {
  if (current !== text) found.push(`${MAP_FILE} is not what the generator writes: run npm run conformance`);
} else if (current !== text) {
  fs.writeFileSync(file, text);
  console.log(`wrote ${MAP_FILE}`);
} else {
  console.log(`${MAP_FILE} is up to date`);
}

const client311 = map.v311.entries.filter((e) => e.decision.decision === 'client');
const client5 = map.v5.entries.filter((e) => e.decision.decision === 'client');
console.log(
  `MQTT 3.1.1: ${client311.length} of ${map.v311.entries.length} statements bind the client, ${client311.filter((e) => e.citations.length > 0).length} with tests; ` +
    `MQTT 5.0: ${client5.length} of ${map.v5.entries.length}, ${client5.filter((e) => e.citations.length > 0).length} with tests`,
);
for (const p of found) console.error(`problem: ${p}`);
process.exitCode = found.length > 0 ? 1 : 0;
