/** What the worker processes of the clients and soak benches read about themselves. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import v8 from 'node:v8';

/** A full GC (the worker runs with --expose-gc), so heap figures count live objects only. */
export function gcNow(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Twice: the first pass can leave objects that only become garbage once finalizers ran.
  gc();
  gc();
}

/** The process's active resources by kind (TCPSocketWrap, PipeWrap, Timeout...). */
export function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) out[kind] = (out[kind] ?? 0) + 1;
  return out;
}

export interface BreakdownEntry {
  name: string;
  count: number;
  bytes: number;
}

/** Self sizes of the heap's objects summed by constructor name (objects), function (closures) or kind (the rest). */
function heapCensus(dir: string): Map<string, BreakdownEntry> {
  const snapshot = JSON.parse(fs.readFileSync(v8.writeHeapSnapshot(path.join(dir, 'census.heapsnapshot')), 'utf8')) as {
    snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
    nodes: number[];
    strings: string[];
  };
  const fields = snapshot.snapshot.meta.node_fields;
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const types = snapshot.snapshot.meta.node_types[0];
  const byName = new Map<string, BreakdownEntry>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt] as number] ?? '?';
    const rawName = snapshot.strings[snapshot.nodes[i + nameAt] as number] ?? '?';
    // Objects by constructor, closures by function; everything else (strings, code, arrays' backing stores...) by kind.
    const name = type === 'object' ? rawName : type === 'closure' ? `${rawName || '(anonymous)'}()` : `(${type})`;
    const entry = byName.get(name) ?? { name, count: 0, bytes: 0 };
    entry.count++;
    entry.bytes += snapshot.nodes[i + sizeAt] as number;
    byName.set(name, entry);
  }
  return byName;
}

/**
 * Takes a heap census now; the function it returns takes another and gives what grew in between,
 * largest first. The first census waits in a file, not on the heap: held there, its few thousand
 * entries would show up as growth themselves.
 */
export function startHeapDiff(): (top: number) => BreakdownEntry[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-heap-'));
  const first = path.join(dir, 'first.json');
  try {
    fs.writeFileSync(first, JSON.stringify([...heapCensus(dir).values()]));
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  gcNow();
  return (top) => {
    try {
      const after = heapCensus(dir);
      const before = new Map((JSON.parse(fs.readFileSync(first, 'utf8')) as BreakdownEntry[]).map((e) => [e.name, e]));
      const grown = [...after.values()].map((a) => {
        const b = before.get(a.name);
        return { name: a.name, count: a.count - (b?.count ?? 0), bytes: a.bytes - (b?.bytes ?? 0) };
      });
      return grown.sort((x, y) => y.bytes - x.bytes).slice(0, top);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };
}
