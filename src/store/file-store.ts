/**
 * `mqttwire/file-store`. FileStore: a crash-safe, file-backed Store for Node (an append-only log with group commit).
 *
 * `new FileStore(dir)` keeps one log per client id in the directory `dir` (created if missing):
 * `open(clientId)` uses `<dir>/<encoded clientId>.log`, where the encoding keeps `a-z`, `0-9` and
 * `-` and writes every other UTF-8 byte as `%XX` (so names are distinct even on case-insensitive
 * file systems); the empty id is `_.log`, and ids whose encoding is longer than 200 characters
 * are shortened to a prefix plus `~<sha256 hex>`. The record format is described in
 * file-format.ts.
 *
 * Durability: mutations are encoded into a memory buffer; `flush()` appends the buffer with one
 * positional write and one fdatasync (group commit), so every change made before a flush that
 * returned survives a process or machine crash. A crash during a flush leaves a torn tail that
 * `open()` detects (length + CRC-32 per record), drops, and truncates away. Once the log holds more
 * than `compactAfter` records and at least twice the live ones, a flush rewrites the live set to
 * `<log>.tmp`, fsyncs it, renames it over the log and fsyncs the directory; a crash at any point
 * leaves either the old or the new log, both complete. A leftover `.tmp` is deleted by `open()`.
 *
 * One writer per log: a second FileStore opening a log already open in this process is refused,
 * but nothing locks the file against another process. On macOS, fdatasync does
 * not force the drive's cache (F_FULLFSYNC), as with every Node program.
 *
 * @module mqttwire/file-store
 */
import { createHash } from 'node:crypto';
import {
  closeSync,
  fdatasyncSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  ftruncateSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LogEncoder, checkHeader, outgoingFlags, replay, validateOutgoing } from './file-format.js';
import type { OutgoingRecord, Store, StoreSnapshot } from './store.js';

/** Options of `new FileStore(dir, options)`. */
export interface FileStoreOptions {
  /**
   * Compact once the log holds more than this many records (and at least twice the live ones).
   * Default 10 000; `Infinity` never compacts.
   */
  compactAfter?: number;
  /** fdatasync on every flush (and fsync around compaction). Default true; false for tests and throwaway data. */
  fsync?: boolean;
}

/** What `FileStore.stats` reports: counters since the store was made, and the state of the open log. */
export interface FileStoreStats {
  /** Flushes that wrote something. */
  flushes: number;
  /** `write` system calls (log appends and compaction/creation rewrites). */
  writes: number;
  /** fsync/fdatasync calls on files (directory syncs not counted). */
  syncs: number;
  /** Rewrites of the log from the live set (compactions and recoveries after a failed flush). */
  compactions: number;
  /** Records in the log file (META included), not counting pending ones. */
  logRecords: number;
  /** Bytes in the log file. */
  logBytes: number;
  /** Bytes of mutations buffered since the last flush. */
  pendingBytes: number;
  /** Outgoing records plus incoming ids currently live. */
  liveRecords: number;
  /** Bytes of torn tail dropped by the last `open()`. */
  tornBytes: number;
  /** Why the last `open()` stopped replaying before the end of the file, if it did. */
  tornReason: string | undefined;
}

const DEFAULT_COMPACT_AFTER = 10_000;
const REWRITE_CHUNK = 1 << 20;
const MAX_NAME = 200;
const HEX = '0123456789ABCDEF';
/** Logs open in this process (absolute paths). */
const openLogs = new Set<string>();
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9]|lpt[0-9])$/;

/** The file name (without directory) FileStore uses for a client id. Injective: distinct ids, distinct names. */
export function fileStoreName(clientId: string): string {
  if (clientId === '') return '_.log';
  const bytes = Buffer.from(clientId, 'utf8');
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const keep = (b >= 0x61 && b <= 0x7a) || (b >= 0x30 && b <= 0x39) || b === 0x2d;
    out += keep ? String.fromCharCode(b) : '%' + HEX[b >> 4]! + HEX[b & 15]!;
  }
  // Reserved device names on Windows: escape the first letter (still a valid, distinct encoding).
  if (WINDOWS_RESERVED.test(out)) out = '%' + HEX[bytes[0]! >> 4]! + HEX[bytes[0]! & 15]! + out.slice(1);
  if (out.length > MAX_NAME) out = out.slice(0, 120) + '~' + createHash('sha256').update(bytes).digest('hex');
  return out + '.log';
}

function errno(e: unknown): string | undefined {
  return typeof e === 'object' && e !== null && 'code' in e ? String((e as { code: unknown }).code) : undefined;
}

function unlinkQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (errno(e) !== 'ENOENT') throw e;
  }
}

function closeQuiet(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Nothing useful to do: the data that mattered was synced (or its failure reported) before.
  }
}

/** Makes a directory's entries (a create, a rename) durable. A no-op where directories cannot be synced (Windows). */
function fsyncDir(dir: string): void {
  let fd: number;
  try {
    fd = openSync(dir, 'r');
  } catch (e) {
    if (process.platform === 'win32') return;
    throw e;
  }
  try {
    fsyncSync(fd);
  } catch (e) {
    const code = errno(e);
    if (code !== 'EINVAL' && code !== 'ENOTSUP' && code !== 'EISDIR' && code !== 'EPERM') throw e;
  } finally {
    closeSync(fd);
  }
}

function copyRecord(r: OutgoingRecord): OutgoingRecord {
  const payload = new Uint8Array(r.payload.length);
  payload.set(r.payload);
  const out: OutgoingRecord = { seq: r.seq, topic: r.topic, payload, qos: r.qos, retain: r.retain };
  if (r.packetId !== undefined) out.packetId = r.packetId;
  if (r.released) out.released = true;
  if (r.properties) out.properties = r.properties;
  if (r.expiresAt !== undefined) out.expiresAt = r.expiresAt;
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  const n = a.length;
  if (n !== b.length) return false;
  if (a === b) return true;
  if (n <= 256) {
    for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
    return true;
  }
  return Buffer.from(a.buffer, a.byteOffset, n).equals(b);
}

/**
 * A Store that survives a process or machine crash: give it to the client as `store`, with `clean: false`
 * and a fixed `clientId`, and a restarted process re-sends every unacknowledged message and never
 * delivers an incoming QoS 2 message twice. Node only. `new FileStore(dir)` touches nothing on disk
 * (`open()` creates `dir` and the log); it throws RangeError for a bad `compactAfter`. `open()` rejects
 * for a log already open in this process, a file that is not a store log, or one of another client id.
 */
export class FileStore implements Store {
  /** The directory holding the logs (absolute). */
  readonly dir: string;
  /** The last error a compaction failed with (compaction failures never fail a flush: the log is still whole). */
  compactionError: unknown = undefined;

  private readonly compactAfter: number;
  private readonly sync: boolean;
  private readonly pending = new LogEncoder();
  /** Live outgoing records: this store's own copies, never the caller's objects. */
  private readonly outgoing = new Map<number, OutgoingRecord>();
  private readonly incoming = new Set<number>();

  private opened = false;
  private clientId = '';
  private logPath: string | undefined;
  private tmpPath = '';
  private fd = -1;
  /** Length of the log: the next append goes here. */
  private fileSize = 0;
  private logRecords = 0;
  /** A write, fsync or rewrite failed: the file may not match memory; the next flush rewrites it whole. */
  private broken = false;
  private compactRetryAt = 0;
  private counters = { flushes: 0, writes: 0, syncs: 0, compactions: 0 };
  private torn: { bytes: number; reason: string | undefined } = { bytes: 0, reason: undefined };

  constructor(dir: string, options: FileStoreOptions = {}) {
    const compactAfter = options.compactAfter ?? DEFAULT_COMPACT_AFTER;
    if (!(compactAfter === Infinity || (Number.isInteger(compactAfter) && compactAfter >= 1))) {
      throw new RangeError(`FileStore: compactAfter must be a positive integer or Infinity, got ${String(compactAfter)}`);
    }
    this.dir = resolve(dir);
    this.compactAfter = compactAfter;
    this.sync = options.fsync ?? true;
  }

  /** The log file of the open client id, if open. */
  get file(): string | undefined {
    return this.opened ? this.logPath : undefined;
  }

  /** Counters and the size of the log, for tests and monitoring. */
  get stats(): FileStoreStats {
    return {
      ...this.counters,
      logRecords: this.logRecords,
      logBytes: this.fileSize,
      pendingBytes: this.pending.length,
      liveRecords: this.outgoing.size + this.incoming.size,
      tornBytes: this.torn.bytes,
      tornReason: this.torn.reason,
    };
  }

  /**
   * Loads the log of `clientId` (creating it if there is none), dropping a torn tail and a leftover
   * compaction file. Opening again (another client id, or the same one) first closes the current log.
   */
  async open(clientId: string): Promise<StoreSnapshot> {
    if (this.opened) await this.close();
    const logPath = join(this.dir, fileStoreName(clientId));
    // Two writers appending to one log would corrupt it; catch the in-process case at least.
    if (openLogs.has(logPath)) throw new Error(`FileStore: ${logPath} is already open in this process (close the other store first)`);
    openLogs.add(logPath);
    try {
      this.openLog(clientId, logPath);
    } catch (e) {
      openLogs.delete(logPath);
      throw e;
    }
    this.opened = true;
    this.compactRetryAt = 0;
    this.maybeCompact();
    return this.snapshotNow();
  }

  private openLog(clientId: string, logPath: string): void {
    this.outgoing.clear();
    this.incoming.clear();
    this.pending.reset();
    this.broken = false;
    this.torn = { bytes: 0, reason: undefined };

    const created = mkdirSync(this.dir, { recursive: true });
    if (created !== undefined && this.sync) {
      // Make the new directories' entries durable, innermost first, up to the first one created.
      for (let d = this.dir; ; d = dirname(d)) {
        fsyncDir(dirname(d));
        if (d === created || dirname(d) === d) break;
      }
    }
    this.logPath = logPath;
    this.tmpPath = logPath + '.tmp';
    this.clientId = clientId;
    // A compaction that never reached its rename: the log itself is complete, the copy is not needed.
    unlinkQuiet(this.tmpPath);

    let data: Buffer | undefined;
    try {
      data = readFileSync(logPath);
    } catch (e) {
      if (errno(e) !== 'ENOENT') throw e;
    }
    const header = data === undefined ? 'empty' : checkHeader(data);
    if (header === 'foreign') throw new Error(`FileStore: ${logPath} is not a store log (bad magic)`);
    if (header === 'version') throw new Error(`FileStore: ${logPath} has an unsupported format version`);

    try {
      if (data === undefined || header === 'empty') {
        // Created by a rename, so the log is either absent or whole; a header prefix is tolerated anyway.
        this.rewrite();
      } else {
        this.load(data, clientId, logPath);
      }
    } catch (e) {
      if (this.fd !== -1) closeQuiet(this.fd);
      this.fd = -1;
      this.outgoing.clear();
      this.incoming.clear();
      throw e;
    }
  }

  putOutgoing(record: OutgoingRecord): void {
    this.assertOpen();
    validateOutgoing(record);
    const prev = this.outgoing.get(record.seq);
    if (prev !== undefined && prev.topic === record.topic && sameBytes(prev.payload, record.payload)) {
      const flags = outgoingFlags(record);
      const packetId = record.packetId ?? 0;
      if (flags === outgoingFlags(prev) && packetId === (prev.packetId ?? 0)) return;
      this.pending.updateOut(record.seq, flags, packetId);
      prev.qos = record.qos;
      prev.retain = record.retain;
      if (record.packetId !== undefined) prev.packetId = record.packetId;
      else delete prev.packetId;
      if (record.released) prev.released = true;
      else delete prev.released;
      return;
    }
    this.pending.putOut(record);
    this.outgoing.set(record.seq, copyRecord(record));
  }

  deleteOutgoing(seq: number): void {
    this.assertOpen();
    if (!this.outgoing.has(seq)) return;
    this.pending.delOut(seq);
    this.outgoing.delete(seq);
  }

  putIncoming(packetId: number): void {
    this.assertOpen();
    this.checkPacketId(packetId);
    if (this.incoming.has(packetId)) return;
    this.pending.putIn(packetId);
    this.incoming.add(packetId);
  }

  deleteIncoming(packetId: number): void {
    this.assertOpen();
    if (!this.incoming.has(packetId)) return;
    this.pending.delIn(packetId);
    this.incoming.delete(packetId);
  }

  clearIncoming(): void {
    this.assertOpen();
    if (this.incoming.size === 0) return;
    this.pending.clearIn();
    this.incoming.clear();
  }

  /**
   * Appends the mutations since the last flush with one write and one fdatasync. Does nothing when
   * there are none. After a failed flush the next one rewrites the whole log from memory.
   */
  flush(): void {
    this.assertOpen();
    if (this.broken || this.fd === -1) {
      this.rewrite();
      this.counters.flushes++;
      this.counters.compactions++;
      return;
    }
    const length = this.pending.length;
    if (length === 0) return;
    try {
      this.writeAll(this.fd, this.pending.buf, length, this.fileSize);
      if (this.sync) this.datasync(this.fd);
    } catch (e) {
      // Part of the batch may be in the file, or (after a failed fsync) the kernel may have dropped
      // it: only a full rewrite brings the file back in line with memory.
      this.broken = true;
      throw e;
    }
    this.fileSize += length;
    this.logRecords += this.pending.records;
    this.pending.reset();
    this.counters.flushes++;
    this.maybeCompact();
  }

  async close(): Promise<void> {
    if (!this.opened) return;
    try {
      this.flush();
    } finally {
      if (this.fd !== -1) closeQuiet(this.fd);
      this.fd = -1;
      this.opened = false;
      openLogs.delete(this.logPath!);
      this.outgoing.clear();
      this.incoming.clear();
      this.pending.reset();
    }
  }

  private load(data: Buffer, clientId: string, logPath: string): void {
    const r = replay(data);
    if (r.clientId !== undefined && !r.clientId.equals(Buffer.from(clientId, 'utf8'))) {
      throw new Error(`FileStore: ${logPath} belongs to client id ${JSON.stringify(r.clientId.toString('utf8'))}`);
    }
    for (const [seq, rec] of r.outgoing) this.outgoing.set(seq, rec);
    for (const id of r.incoming) this.incoming.add(id);
    this.fd = openSync(logPath, 'r+');
    if (r.goodEnd < data.length) {
      // Drop the torn tail so that appends continue right after the last good record.
      ftruncateSync(this.fd, r.goodEnd);
      if (this.sync) this.datasync(this.fd);
      this.torn = { bytes: data.length - r.goodEnd, reason: r.tornReason };
    }
    this.fileSize = r.goodEnd;
    this.logRecords = r.records;
    // Only a header survived (no META record): start over with a proper log.
    if (r.clientId === undefined) this.rewrite();
  }

  private snapshotNow(): StoreSnapshot {
    return {
      outgoing: [...this.outgoing.values()].sort((a, b) => a.seq - b.seq).map(copyRecord),
      incoming: [...this.incoming],
    };
  }

  private assertOpen(): void {
    if (!this.opened) throw new Error('FileStore: not open (call open(clientId) first)');
  }

  private checkPacketId(packetId: number): void {
    if (!(Number.isInteger(packetId) && packetId >= 0 && packetId <= 0xffff)) {
      throw new RangeError(`FileStore: invalid packetId ${String(packetId)}`);
    }
  }

  private maybeCompact(): void {
    const live = this.outgoing.size + this.incoming.size + 1;
    if (this.logRecords <= this.compactAfter || this.logRecords < 2 * live || this.logRecords < this.compactRetryAt) return;
    try {
      this.rewrite();
      this.counters.compactions++;
      this.compactionError = undefined;
    } catch (e) {
      // The log (and everything flushed to it) is intact; try again after another compactAfter records.
      this.compactionError = e;
      this.compactRetryAt = this.logRecords + this.compactAfter;
    }
  }

  /**
   * Replaces the log with one holding exactly the in-memory state (pending mutations included):
   * write `<log>.tmp`, fsync it, rename it over the log, fsync the directory, reopen.
   * Before the rename, a crash leaves the old log; after it, the new one; both are complete.
   */
  private rewrite(): void {
    const logPath = this.logPath!;
    const enc = new LogEncoder(REWRITE_CHUNK);
    let written = 0;
    let records = 0;
    const tfd = openSync(this.tmpPath, 'w');
    try {
      // Streamed in chunks, so a large live set never needs a second copy of itself in memory.
      const drain = (min: number) => {
        if (enc.length < min) return;
        this.writeAll(tfd, enc.buf, enc.length, written);
        written += enc.length;
        records += enc.records;
        enc.reset();
      };
      enc.header();
      enc.meta(this.clientId);
      for (const r of [...this.outgoing.values()].sort((a, b) => a.seq - b.seq)) {
        enc.putOut(r);
        drain(REWRITE_CHUNK);
      }
      for (const id of this.incoming) enc.putIn(id);
      drain(1);
      if (this.sync) {
        fsyncSync(tfd);
        this.counters.syncs++;
      }
    } catch (e) {
      closeQuiet(tfd);
      try {
        unlinkQuiet(this.tmpPath);
      } catch {
        // Left for the next open() to remove.
      }
      throw e;
    }
    closeSync(tfd);
    try {
      renameSync(this.tmpPath, logPath);
    } catch (e) {
      try {
        unlinkQuiet(this.tmpPath);
      } catch {
        // Left for the next open() to remove.
      }
      throw e;
    }
    // The file at logPath now holds the whole state; the old descriptor points at the replaced file.
    this.broken = true;
    if (this.fd !== -1) {
      const old = this.fd;
      this.fd = -1;
      closeQuiet(old);
    }
    this.pending.reset();
    this.fileSize = written;
    this.logRecords = records;
    if (this.sync) fsyncDir(this.dir);
    this.fd = openSync(logPath, 'r+');
    this.broken = false;
  }

  private writeAll(fd: number, buf: Buffer, length: number, position: number): void {
    let done = 0;
    while (done < length) {
      done += writeSync(fd, buf, done, length - done, position + done);
      this.counters.writes++;
    }
  }

  private datasync(fd: number): void {
    fdatasyncSync(fd);
    this.counters.syncs++;
  }
}
