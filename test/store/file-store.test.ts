import { spawn } from 'node:child_process';
import { appendFileSync, copyFileSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LogEncoder, crc32, replay } from '../../src/store/file-format.js';
import { FileStore, fileStoreName, type FileStoreOptions } from '../../src/store/file-store.js';
import { MemoryStore, type OutgoingRecord, type StoreSnapshot } from '../../src/store/store.js';
import { ALL_BYTES, UNICODE_TOPIC, prng, rec, storeContract, type HarnessFactory, type StoreHarness } from './contract.js';
import { apply, opsForBatch } from './crash-plan.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'mqttwire-store-'));
  dirs.push(d);
  return d;
}
/** Stores opened by openStore(), closed after each test (close() is idempotent). */
const opened: FileStore[] = [];
afterEach(async () => {
  for (const s of opened.splice(0)) await s.close();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function fileHarness(options: FileStoreOptions): HarnessFactory {
  return async (clientId) => {
    const dir = tempDir();
    let store = new FileStore(dir, options);
    const snapshot = await store.open(clientId);
    const harness: StoreHarness = {
      get store() {
        return store;
      },
      async reopen() {
        await store.close();
        store = new FileStore(dir, options);
        return { store, snapshot: await store.open(clientId) };
      },
      async cleanup() {
        await store.close();
      },
    };
    return { harness, snapshot };
  };
}

storeContract('FileStore', fileHarness({ fsync: false }));
storeContract('FileStore (fsync, compactAfter 20)', fileHarness({ fsync: true, compactAfter: 20 }));

async function openStore(dir: string, clientId = 'c1', options: FileStoreOptions = { fsync: false }): Promise<{ store: FileStore; snapshot: StoreSnapshot }> {
  const store = new FileStore(dir, options);
  opened.push(store);
  const snapshot = await store.open(clientId);
  return { store, snapshot };
}

describe('CRC-32 and the record format', () => {
  it('crc32 matches the standard check value and composes over ranges', () => {
    const check = Buffer.from('123456789');
    expect(crc32(check)).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(check, 4, 9, crc32(check, 0, 4))).toBe(0xcbf43926);
    const big = Buffer.from(Uint8Array.from({ length: 1003 }, (_, i) => (i * 131) & 255));
    // Byte-at-a-time reference for the slicing implementation, at every alignment.
    const ref = (b: Uint8Array, s: number, e: number) => {
      let c = ~0;
      for (let i = s; i < e; i++) {
        c ^= b[i]!;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return ~c >>> 0;
    };
    for (let s = 0; s < 8; s++) expect(crc32(big, s, big.length - s)).toBe(ref(big, s, big.length - s));
  });

  it('an encoder throw (invalid packet id) leaves the buffer unchanged', () => {
    const enc = new LogEncoder(16);
    enc.putIn(1);
    const len = enc.length;
    expect(() => enc.putIn(70000)).toThrow(RangeError);
    expect(enc.length).toBe(len);
    expect(enc.records).toBe(1);
  });

  it('replay reads back what the encoder wrote', () => {
    const enc = new LogEncoder(8);
    enc.header();
    enc.meta('id');
    enc.putOut(rec(1, { topic: UNICODE_TOPIC, payload: ALL_BYTES, qos: 2 }));
    enc.updateOut(1, 2 | 8 | 16, 77);
    enc.putOut(rec(2));
    enc.delOut(2);
    enc.putIn(5);
    enc.putIn(6);
    enc.delIn(5);
    const r = replay(enc.buf.subarray(0, enc.length));
    expect(r.tornReason).toBeUndefined();
    expect(r.goodEnd).toBe(enc.length);
    expect(r.records).toBe(8);
    expect(r.clientId?.toString()).toBe('id');
    expect([...r.outgoing.values()]).toEqual([rec(1, { topic: UNICODE_TOPIC, payload: ALL_BYTES, qos: 2, packetId: 77, released: true })]);
    expect([...r.incoming]).toEqual([6]);
  });

  it('an expiry time follows its message; one for a message the log does not hold is a torn tail', () => {
    const enc = new LogEncoder(8);
    enc.header();
    enc.meta('id');
    const header = enc.length;
    enc.putOut(rec(1, { properties: { messageExpiryInterval: 5 }, expiresAt: 1_700_000_005_000 }));
    const withTime = replay(enc.buf.subarray(0, enc.length));
    expect(withTime).toMatchObject({ tornReason: undefined, records: 2 });
    expect(withTime.outgoing.get(1)).toEqual(rec(1, { properties: { messageExpiryInterval: 5 }, expiresAt: 1_700_000_005_000 }));
    // The expiry frame alone (its PUT_OUT_5 cut out): not ours to apply.
    const putLength = 8 + enc.buf.readUInt32LE(header);
    const orphan = Buffer.concat([enc.buf.subarray(0, header), enc.buf.subarray(header + putLength, enc.length)]);
    expect(replay(orphan)).toMatchObject({ tornReason: 'malformed record (type 9)', goodEnd: header, records: 1 });
  });
});

describe('FileStore files', () => {
  it('keeps one log per client id in the directory, with distinct safe names', async () => {
    const dir = tempDir();
    const ids = ['c1', 'C1', 'a/b', '../x', '', '_', '%41', 'con', '温度', 'x'.repeat(5000), 'x'.repeat(4999) + 'y'];
    const names = ids.map(fileStoreName);
    expect(new Set(names).size).toBe(ids.length);
    expect(new Set(names.map((n) => n.toLowerCase())).size).toBe(ids.length);
    for (const n of names) {
      expect(n).toMatch(/^[a-z0-9%A-F_~-]+\.log$/);
      expect(n.length).toBeLessThanOrEqual(255);
    }
    for (const [i, id] of ids.entries()) {
      const { store } = await openStore(dir, id);
      expect(store.file).toBe(join(dir, names[i]!));
      store.putOutgoing(rec(i));
      await store.close();
    }
    expect(readdirSync(dir).sort()).toEqual([...names].sort());
    for (const [i, id] of ids.entries()) {
      const { store, snapshot } = await openStore(dir, id);
      expect(snapshot.outgoing).toEqual([rec(i)]);
      await store.close();
    }
  });

  it('creates missing directories', async () => {
    const dir = join(tempDir(), 'a', 'b', 'c');
    const { store } = await openStore(dir, 'c1', { fsync: true });
    store.putOutgoing(rec(1));
    await store.close();
    expect((await openStore(dir)).snapshot.outgoing).toEqual([rec(1)]);
  });

  it('refuses a log that belongs to another client id, or a file that is not a log, and leaves it alone', async () => {
    const dir = tempDir();
    const a = (await openStore(dir, 'a')).store;
    a.putOutgoing(rec(1));
    await a.close();
    copyFileSync(join(dir, fileStoreName('a')), join(dir, fileStoreName('b')));
    await expect(new FileStore(dir).open('b')).rejects.toThrow(/belongs to client id "a"/);

    writeFileSync(join(dir, fileStoreName('c')), 'not a log at all');
    await expect(new FileStore(dir).open('c')).rejects.toThrow(/not a store log/);
    expect(readFileSync(join(dir, fileStoreName('c')), 'utf8')).toBe('not a log at all');
  });

  it('mutators throw before open() and after close(); open() again works', async () => {
    const dir = tempDir();
    const store = new FileStore(dir, { fsync: false });
    expect(() => store.putOutgoing(rec(1))).toThrow(/not open/);
    await store.open('c1');
    store.putOutgoing(rec(1));
    await store.close();
    expect(() => store.flush()).toThrow(/not open/);
    expect(store.file).toBeUndefined();
    expect(await store.open('c1')).toEqual({ outgoing: [rec(1)], incoming: [] });
    // Opening another id on an open store closes (and flushes) the first one.
    store.putIncoming(9);
    expect(await store.open('c2')).toEqual({ outgoing: [], incoming: [] });
    expect(await store.open('c1')).toEqual({ outgoing: [rec(1)], incoming: [9] });
    await store.close();
  });

  it('refuses to open a log that another FileStore in this process has open', async () => {
    const dir = tempDir();
    const a = (await openStore(dir, 'same')).store;
    const b = new FileStore(dir, { fsync: false });
    await expect(b.open('same')).rejects.toThrow(/already open/);
    expect(await b.open('other')).toEqual({ outgoing: [], incoming: [] });
    a.putOutgoing(rec(1));
    await a.close();
    expect(await b.open('same')).toEqual({ outgoing: [rec(1)], incoming: [] });
    await b.close();
  });

  it('rejects invalid input without corrupting the pending batch', async () => {
    const { store } = await openStore(tempDir());
    store.putOutgoing(rec(1));
    expect(() => store.putOutgoing(rec(2, { packetId: 65536 }))).toThrow(RangeError);
    expect(() => store.putOutgoing(rec(2, { qos: 3 as never }))).toThrow(RangeError);
    expect(() => store.putIncoming(-1)).toThrow(RangeError);
    store.putOutgoing(rec(3));
    store.flush();
    const file = store.file!;
    await store.close();
    const r = replay(readFileSync(file));
    expect(r.tornReason).toBeUndefined();
    expect([...r.outgoing.keys()]).toEqual([1, 3]);
  });

  it('keeps its own copy of a payload: the caller reusing its buffer changes nothing', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    const buf = new Uint8Array([1, 2, 3]);
    store.putOutgoing(rec(1, { payload: buf }));
    buf[0] = 99;
    store.putOutgoing(rec(2, { payload: buf }));
    // A re-put of seq 1 with the (now different) bytes is a new payload, not an update.
    store.putOutgoing(rec(1, { payload: buf, packetId: 4 }));
    await store.close();
    const { snapshot } = await openStore(dir);
    expect(snapshot.outgoing).toEqual([rec(1, { payload: new Uint8Array([99, 2, 3]), packetId: 4 }), rec(2, { payload: new Uint8Array([99, 2, 3]) })]);
  });
});

describe('FileStore group commit', () => {
  it('flush() with nothing pending does not touch the file; no-op mutations add nothing', async () => {
    const { store } = await openStore(tempDir(), 'c1', { fsync: true });
    store.putOutgoing(rec(1, { packetId: 3 }));
    store.putIncoming(2);
    store.flush();
    const before = store.stats;
    const size = statSync(store.file!).size;
    expect(before.pendingBytes).toBe(0);
    store.flush();
    store.deleteOutgoing(42);
    store.deleteIncoming(42);
    store.putIncoming(2);
    store.putOutgoing(rec(1, { packetId: 3 }));
    expect(store.stats.pendingBytes).toBe(0);
    store.flush();
    expect(store.stats).toEqual(before);
    expect(statSync(store.file!).size).toBe(size);
    await store.close();
    expect(store.stats.writes).toBe(before.writes);
  });

  it('many mutations per flush: one write and one fdatasync', async () => {
    const { store } = await openStore(tempDir(), 'c1', { fsync: true });
    const before = store.stats;
    for (let s = 0; s < 1000; s++) store.putOutgoing(rec(s, { payload: new Uint8Array(100) }));
    for (let s = 0; s < 500; s++) store.putOutgoing(rec(s, { payload: new Uint8Array(100), packetId: s + 1 }));
    for (let s = 0; s < 250; s++) store.deleteOutgoing(s);
    for (let id = 1; id <= 100; id++) store.putIncoming(id);
    store.clearIncoming();
    expect(store.stats.writes).toBe(before.writes);
    store.flush();
    const after = store.stats;
    expect(after.writes - before.writes).toBe(1);
    expect(after.syncs - before.syncs).toBe(1);
    expect(after.flushes - before.flushes).toBe(1);
    expect(after.logRecords - before.logRecords).toBe(1000 + 500 + 250 + 100 + 1);
    await store.close();
  });

  it('an update that only sets packetId / released writes a small record, not the payload again', async () => {
    const { store } = await openStore(tempDir());
    const payload = new Uint8Array(10_000);
    store.putOutgoing(rec(1, { payload, qos: 2 }));
    expect(store.stats.pendingBytes).toBeGreaterThan(10_000);
    store.flush();
    store.putOutgoing(rec(1, { payload, qos: 2, packetId: 9 }));
    store.putOutgoing(rec(1, { payload, qos: 2, packetId: 9, released: true }));
    expect(store.stats.pendingBytes).toBe(2 * (8 + 12));
    await store.close();
  });

  it('fsync: false never syncs', async () => {
    const { store } = await openStore(tempDir(), 'c1', { fsync: false });
    store.putOutgoing(rec(1));
    store.flush();
    await store.close();
    expect(store.stats.syncs).toBe(0);
  });

  it('after a failed flush, the next flush rewrites the whole log and nothing is lost', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    store.putOutgoing(rec(1));
    store.flush();
    store.putOutgoing(rec(2));
    store.putIncoming(5);
    // Make the append fail: pull the descriptor out from under the store.
    const internals = store as unknown as { fd: number };
    const { closeSync } = await import('node:fs');
    closeSync(internals.fd);
    expect(() => store.flush()).toThrow(/EBADF/);
    store.putOutgoing(rec(3));
    store.flush();
    expect(store.stats.compactions).toBe(1);
    store.putOutgoing(rec(4));
    await store.close();
    const { snapshot } = await openStore(dir);
    expect(snapshot).toEqual({ outgoing: [rec(1), rec(2), rec(3), rec(4)], incoming: [5] });
  });
});

describe('FileStore torn tails', () => {
  let dir: string;
  let file: string;
  /** Log boundaries: `ends[i]` is the file length after record i+1 was flushed. */
  let ends: number[];
  const records = Array.from({ length: 8 }, (_, i) => rec(i + 1, { payload: Uint8Array.from({ length: 10 + i * 5 }, (_, j) => j), topic: `${UNICODE_TOPIC}/${i}` }));

  beforeEach(async () => {
    dir = tempDir();
    const { store } = await openStore(dir);
    file = store.file!;
    ends = [];
    for (const r of records) {
      store.putOutgoing(r);
      store.flush();
      ends.push(store.stats.logBytes);
    }
    await store.close();
  });

  it('a log cut a few bytes short loses only the last record; the file is truncated and the store works on', async () => {
    const size = statSync(file).size;
    truncateSync(file, size - 3);
    const { store, snapshot } = await openStore(dir);
    expect(snapshot.outgoing).toEqual(records.slice(0, -1));
    expect(store.stats.tornBytes).toBe(size - 3 - ends.at(-2)!);
    expect(store.stats.tornReason).toBe('incomplete frame body');
    expect(statSync(file).size).toBe(ends.at(-2));
    store.putOutgoing(rec(100));
    store.flush();
    await store.close();
    const again = await openStore(dir);
    expect(again.snapshot.outgoing).toEqual([...records.slice(0, -1), rec(100)]);
    expect(again.store.stats.tornBytes).toBe(0);
    await again.store.close();
  });

  it('garbage appended after the last record is dropped, and nothing is lost', async () => {
    appendFileSync(file, Buffer.from([0x20, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7]));
    const { store, snapshot } = await openStore(dir);
    expect(snapshot.outgoing).toEqual(records);
    expect(store.stats.tornBytes).toBe(11);
    expect(statSync(file).size).toBe(ends.at(-1));
    await store.close();
  });

  it('zeros appended (a file extended but never written) are dropped', async () => {
    appendFileSync(file, Buffer.alloc(4096));
    const { store, snapshot } = await openStore(dir);
    expect(snapshot.outgoing).toEqual(records);
    expect(store.stats.tornReason).toBe('zero-length frame');
    await store.close();
  });

  it('a flipped bit in the last record fails its checksum: that record (only) is lost', async () => {
    const data = readFileSync(file);
    data[data.length - 2]! ^= 0x10;
    writeFileSync(file, data);
    const { store, snapshot } = await openStore(dir);
    expect(snapshot.outgoing).toEqual(records.slice(0, -1));
    expect(store.stats.tornReason).toBe('checksum mismatch');
    await store.close();
  });

  it('a log cut at ANY byte opens to exactly the records completely before the cut', async () => {
    const full = readFileSync(file);
    const scratch = tempDir();
    const scratchFile = join(scratch, fileStoreName('c1'));
    for (let cut = 0; cut <= full.length; cut++) {
      writeFileSync(scratchFile, full.subarray(0, cut));
      const { store, snapshot } = await openStore(scratch);
      const complete = ends.filter((e) => e <= cut).length;
      expect(snapshot.outgoing).toEqual(records.slice(0, complete));
      // The store works after recovery: a new record lands and survives.
      store.putOutgoing(rec(1000));
      await store.close();
      const again = await openStore(scratch);
      expect(again.snapshot.outgoing).toEqual([...records.slice(0, complete), rec(1000)]);
      expect(again.store.stats.tornBytes).toBe(0);
      await again.store.close();
    }
  });
});

describe('FileStore compaction', () => {
  it('keeps exactly the live records and shrinks the file', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir, 'c1', { fsync: true, compactAfter: 100 });
    for (let s = 1; s <= 90; s++) store.putOutgoing(rec(s, { payload: new Uint8Array(1000).fill(s), qos: 2 }));
    for (let id = 1; id <= 20; id++) store.putIncoming(id);
    store.flush();
    expect(store.stats.compactions).toBe(0); // 111 records, 110 live: not worth it
    const bigSize = store.stats.logBytes;
    for (let s = 1; s <= 90; s++) if (s % 10 !== 0) store.deleteOutgoing(s);
    store.putOutgoing(rec(10, { payload: new Uint8Array(1000).fill(10), qos: 2, packetId: 10, released: true }));
    for (let id = 1; id <= 20; id++) if (id % 5 !== 0) store.deleteIncoming(id);
    store.flush();
    const st = store.stats;
    expect(st.compactions).toBe(1);
    expect(st.logRecords).toBe(1 + 9 + 4);
    expect(st.logBytes).toBeLessThan(bigSize / 5);
    expect(statSync(store.file!).size).toBe(st.logBytes);
    expect(existsSync(store.file! + '.tmp')).toBe(false);
    // Appends continue on the compacted log.
    store.putOutgoing(rec(500));
    store.flush();
    await store.close();

    const { snapshot } = await openStore(dir);
    const live = [10, 20, 30, 40, 50, 60, 70, 80, 90].map((s) =>
      rec(s, { payload: new Uint8Array(1000).fill(s), qos: 2, ...(s === 10 ? { packetId: 10, released: true } : {}) }),
    );
    expect(snapshot.outgoing).toEqual([...live, rec(500)]);
    expect([...snapshot.incoming].sort((a, b) => a - b)).toEqual([5, 10, 15, 20]);
  });

  it('an expiry time is part of its message in the record count: a log of MQTT 5 messages is not compacted over and over', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir, 'c1', { fsync: false, compactAfter: 100 });
    const expiring = (s: number) => rec(s, { properties: { messageExpiryInterval: 30 }, expiresAt: 1_700_000_000_000 + s });
    for (let s = 1; s <= 150; s++) store.putOutgoing(expiring(s));
    store.flush();
    // 151 records (META and 150 messages with their expiry times), all live: nothing to gain.
    expect(store.stats).toMatchObject({ logRecords: 151, liveRecords: 150, compactions: 0 });
    // The control: once most are gone, the log is compacted once, and stays so while nothing changes.
    for (let s = 1; s <= 100; s++) store.deleteOutgoing(s);
    store.flush();
    expect(store.stats).toMatchObject({ logRecords: 51, compactions: 1 });
    for (let s = 101; s <= 150; s++) store.putOutgoing({ ...expiring(s), packetId: s });
    store.flush();
    expect(store.stats.compactions).toBe(1);
    await store.close();
    const { snapshot } = await openStore(dir);
    expect(snapshot.outgoing.map((r) => [r.seq, r.packetId, r.expiresAt])).toEqual(
      Array.from({ length: 50 }, (_, i) => [101 + i, 101 + i, 1_700_000_000_101 + i]),
    );
  });

  it('compacts repeatedly under steady QoS 1 traffic, keeping the file bounded', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir, 'c1', { fsync: false, compactAfter: 300 });
    let maxBytes = 0;
    for (let s = 0; s < 5000; s++) {
      const r = rec(s, { payload: new Uint8Array(64) });
      store.putOutgoing(r);
      store.putOutgoing({ ...r, packetId: (s % 65535) + 1 });
      if (s >= 10) store.deleteOutgoing(s - 10);
      if (s % 7 === 0) store.flush();
      maxBytes = Math.max(maxBytes, store.stats.logBytes);
    }
    store.flush();
    expect(store.stats.compactions).toBeGreaterThan(10);
    expect(maxBytes).toBeLessThan(400 * 120);
    await store.close();
    const { snapshot } = await openStore(dir);
    expect(snapshot.outgoing.map((r) => r.seq)).toEqual(Array.from({ length: 10 }, (_, i) => 4990 + i));
    expect(snapshot.outgoing.every((r) => r.packetId === (r.seq % 65535) + 1)).toBe(true);
  });

  it('a leftover .tmp (a compaction cut short, complete or not) is ignored and removed', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir);
    store.putOutgoing(rec(1));
    store.putOutgoing(rec(2));
    await store.close();
    const file = join(dir, fileStoreName('c1'));
    // A well-formed log with other content: must not win over the real log.
    const enc = new LogEncoder();
    enc.header();
    enc.meta('c1');
    enc.putOut(rec(99));
    writeFileSync(file + '.tmp', enc.buf.subarray(0, enc.length));
    const { store: s2, snapshot } = await openStore(dir);
    expect(snapshot.outgoing).toEqual([rec(1), rec(2)]);
    expect(existsSync(file + '.tmp')).toBe(false);
    await s2.close();
    writeFileSync(file + '.tmp', 'torn garbage');
    expect((await openStore(dir)).snapshot.outgoing).toEqual([rec(1), rec(2)]);
    expect(existsSync(file + '.tmp')).toBe(false);
  });

  it('a log needing compaction is compacted on open', async () => {
    const dir = tempDir();
    const { store } = await openStore(dir, 'c1', { fsync: false, compactAfter: Infinity });
    for (let s = 0; s < 300; s++) store.putOutgoing(rec(s));
    for (let s = 0; s < 299; s++) store.deleteOutgoing(s);
    await store.close();
    const { store: s2, snapshot } = await openStore(dir, 'c1', { fsync: false, compactAfter: 100 });
    expect(snapshot.outgoing).toEqual([rec(299)]);
    expect(s2.stats.compactions).toBe(1);
    expect(s2.stats.logRecords).toBe(2);
    await s2.close();
  });
});

describe('FileStore crash safety (child process SIGKILLed mid-run)', () => {
  const child = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
  const root = fileURLToPath(new URL('../../', import.meta.url));

  /**
   * Runs the crash child and SIGKILLs it once it reports batch `killAfter` flushed (a number), or
   * `delayMs` after it is ready; returns the last batch it reported flushed.
   */
  function runAndKill(dir: string, compactAfter: number, killAfter: number | { delayMs: number }): Promise<number> {
    return new Promise((resolve, reject) => {
      const p = spawn(process.execPath, ['--import', 'tsx', child, dir, 'crash-client', String(compactAfter)], {
        cwd: root,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let killed = false;
      p.stdout.setEncoding('utf8');
      p.stderr.setEncoding('utf8');
      const kill = () => {
        if (killed) return;
        killed = true;
        p.kill('SIGKILL');
      };
      p.stdout.on('data', (chunk: string) => {
        const wasReady = out.includes('ready\n');
        out += chunk;
        if (typeof killAfter === 'number') {
          if (out.includes(`flushed ${killAfter}\n`)) kill();
        } else if (!wasReady && out.includes('ready\n')) {
          setTimeout(kill, killAfter.delayMs);
        }
      });
      p.stderr.on('data', (chunk: string) => (err += chunk));
      p.on('error', reject);
      p.on('close', (code, signal) => {
        if (signal !== 'SIGKILL') return reject(new Error(`child exited with ${code}/${signal}: ${err}`));
        // Only complete lines count: each is a flush that returned before the report was written.
        const done = out
          .split('\n')
          .slice(0, -1)
          .filter((l) => l.startsWith('flushed '))
          .map((l) => Number(l.slice(8)));
        resolve(done.length ? Math.max(...done) : -1);
      });
    });
  }

  function sameSnapshot(a: StoreSnapshot, b: StoreSnapshot): boolean {
    if (a.outgoing.length !== b.outgoing.length || a.incoming.length !== b.incoming.length) return false;
    const ia = [...a.incoming].sort((x, y) => x - y);
    const ib = [...b.incoming].sort((x, y) => x - y);
    if (ia.some((v, i) => v !== ib[i])) return false;
    const key = (r: OutgoingRecord) =>
      JSON.stringify([r.seq, r.topic, r.qos, r.retain, r.packetId ?? null, !!r.released, Buffer.from(r.payload).toString('base64')]);
    return a.outgoing.every((r, i) => key(r) === key(b.outgoing[i]!));
  }

  /**
   * The recovered state must be the model's state after some prefix of the mutation sequence that
   * includes every batch reported flushed (no loss), and at most runs into later, unreported ones
   * (a torn batch is cut at a record boundary, and every record is intact).
   */
  async function expectRecoveredPrefix(recovered: StoreSnapshot, lastFlushed: number): Promise<{ batches: number; extraOps: number }> {
    const model = new MemoryStore();
    await model.open('model');
    // The model's current state: a MemoryStore reports it on open(), after the previous holder closed it.
    const state = async (): Promise<StoreSnapshot> => {
      await model.close();
      return model.open('model');
    };
    for (let b = 0; b <= lastFlushed; b++) for (const op of opsForBatch(b)) apply(model, op);
    if (sameSnapshot(recovered, await state())) return { batches: lastFlushed + 1, extraOps: 0 };
    let extraOps = 0;
    for (let b = lastFlushed + 1; b < lastFlushed + 200; b++) {
      for (const op of opsForBatch(b)) {
        apply(model, op);
        extraOps++;
        if (sameSnapshot(recovered, await state())) return { batches: b, extraOps };
      }
    }
    throw new Error(`recovered state (${recovered.outgoing.length} outgoing) is no prefix of the workload after batch ${lastFlushed}`);
  }

  const cases: { compactAfter: number; killAfter: number }[] = [
    { compactAfter: Infinity, killAfter: 40 },
    { compactAfter: 400, killAfter: 60 },
    { compactAfter: 200, killAfter: 25 },
    { compactAfter: 1000, killAfter: 90 },
  ];
  for (const { compactAfter, killAfter } of cases) {
    it(`every reported flush survives SIGKILL (compactAfter ${compactAfter}, killed after ~${killAfter} batches)`, async () => {
      const dir = tempDir();
      const lastFlushed = await runAndKill(dir, compactAfter, killAfter);
      expect(lastFlushed).toBeGreaterThanOrEqual(killAfter);
      const { store, snapshot } = await openStore(dir, 'crash-client', { fsync: true });
      const { batches } = await expectRecoveredPrefix(snapshot, lastFlushed);
      expect(batches).toBeGreaterThanOrEqual(lastFlushed + 1);
      expect(existsSync(store.file! + '.tmp')).toBe(false);
      // The recovered log takes new writes and reopens cleanly.
      store.putOutgoing(rec(-1));
      await store.close();
      const again = await openStore(dir, 'crash-client');
      expect(again.store.stats.tornBytes).toBe(0);
      expect(again.snapshot.outgoing[0]).toEqual(rec(-1));
      expect(again.snapshot.outgoing.length).toBe(snapshot.outgoing.length + 1);
      await again.store.close();
    }, 60_000);
  }

  it('randomised kill times (not aligned to reports) never lose a reported flush', async () => {
    const rand = prng(99);
    for (let i = 0; i < 3; i++) {
      const dir = tempDir();
      const delayMs = 20 + Math.floor(rand() * 250);
      const lastFlushed = await runAndKill(dir, 150 + Math.floor(rand() * 300), { delayMs });
      const { store, snapshot } = await openStore(dir, 'crash-client');
      await expectRecoveredPrefix(snapshot, lastFlushed);
      await store.close();
    }
  }, 60_000);
});
