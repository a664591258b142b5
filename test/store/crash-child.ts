/**
 * Child process of the crash test: `node --import tsx crash-child.ts <dir> <clientId> <compactAfter> [startBatch]`.
 * Runs the crash plan batch after batch, flushing each, and reports `flushed <b>` on stdout (with a
 * synchronous write) only after flush() returned. Runs until killed.
 */
import { writeSync } from 'node:fs';
import { FileStore } from '../../src/store/file-store.js';
import { apply, opsForBatch } from './crash-plan.js';

const [dir, clientId, compactAfter, start] = process.argv.slice(2);
const store = new FileStore(dir!, { compactAfter: compactAfter === 'Infinity' ? Infinity : Number(compactAfter) });
await store.open(clientId!);
writeSync(1, 'ready\n');
for (let b = Number(start ?? 0); b < 1_000_000; b++) {
  for (const op of opsForBatch(b)) apply(store, op);
  store.flush();
  writeSync(1, `flushed ${b}\n`);
}
