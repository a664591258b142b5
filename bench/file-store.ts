/**
 * FileStore throughput: `npx tsx bench/file-store.ts` (not part of the test run).
 * Prints records/s for several flush sizes, with and without fsync, in a temp dir on os.tmpdir().
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileStore } from '../src/store/file-store.js';
import type { OutgoingRecord } from '../src/store/store.js';

const N = Number(process.env.N ?? 20_000);

async function run(name: string, opts: { fsync: boolean; perFlush: number; lifecycle: boolean; payload: number }): Promise<void> {
  const dir = mkdtempSync(join(process.env.BENCH_DIR ?? tmpdir(), 'mqttwire-bench-'));
  try {
    const store = new FileStore(dir, { fsync: opts.fsync });
    await store.open('bench');
    const payload = new Uint8Array(opts.payload).fill(7);
    const t0 = process.hrtime.bigint();
    const cpu0 = process.cpuUsage();
    let prev: OutgoingRecord[] = [];
    for (let i = 0; i < N; i += opts.perFlush) {
      const batch: OutgoingRecord[] = [];
      for (let s = i; s < Math.min(N, i + opts.perFlush); s++) {
        const r: OutgoingRecord = { seq: s, topic: `bench/topic/${s % 100}`, payload, qos: 1, retain: false };
        store.putOutgoing(r);
        batch.push(r);
      }
      if (opts.lifecycle) {
        // QoS 1 as the session does it: id assigned when sent, record deleted on PUBACK (one batch later).
        for (const r of batch) store.putOutgoing({ ...r, packetId: (r.seq % 65535) + 1 });
        for (const r of prev) store.deleteOutgoing(r.seq);
        prev = batch;
      }
      store.flush();
    }
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const cpu = process.cpuUsage(cpu0);
    const cpuUs = (cpu.user + cpu.system) / N;
    const st = store.stats;
    await store.close();
    console.log(
      `${name.padEnd(58)} ${Math.round(N / secs).toString().padStart(9)} records/s  ` +
        `(${(secs * 1000).toFixed(0)} ms, cpu ${cpuUs.toFixed(2)} µs/record, ${st.syncs} syncs, ${st.compactions} compactions, log ${st.logBytes} B)`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`N=${N} in ${process.env.BENCH_DIR ?? tmpdir()}`);
await run('put, flush per 100, fsync, 64 B payload', { fsync: true, perFlush: 100, lifecycle: false, payload: 64 });
await run('QoS 1 lifecycle (put+id+del), flush per 100, fsync, 64 B', { fsync: true, perFlush: 100, lifecycle: true, payload: 64 });
await run('put, flush per 100, fsync, 4 KiB payload', { fsync: true, perFlush: 100, lifecycle: false, payload: 4096 });
await run('put, flush per 1000, fsync, 64 B payload', { fsync: true, perFlush: 1000, lifecycle: false, payload: 64 });
await run('put, flush per 1 (fsync per record), 64 B payload', { fsync: true, perFlush: 1, lifecycle: false, payload: 64 });
await run('put, flush per 100, no fsync, 64 B payload', { fsync: false, perFlush: 100, lifecycle: false, payload: 64 });
await run('QoS 1 lifecycle, flush per 100, no fsync, 64 B', { fsync: false, perFlush: 100, lifecycle: true, payload: 64 });
