/**
 * The deterministic workload of the crash test, shared by the child process (which runs it against a
 * FileStore and gets SIGKILLed) and the test (which replays it against a MemoryStore model).
 * Batch b puts K new records, assigns packet ids to batch b-1, acknowledges the QoS 1 records of
 * batch b-2 and releases its QoS 2 ones, completes batch b-3, and churns incoming ids, like a
 * client publishing at QoS 1 and 2 while receiving QoS 2.
 */
import type { QoS } from '../../src/codec/packets.js';
import type { OutgoingRecord, Store } from '../../src/store/store.js';

export const BATCH = 50;

export type Op =
  | { op: 'put'; record: OutgoingRecord }
  | { op: 'del'; seq: number }
  | { op: 'in'; id: number }
  | { op: 'delIn'; id: number }
  | { op: 'clearIn' };

export function payloadFor(seq: number): Uint8Array {
  return Uint8Array.from({ length: (seq * 37) % 700 }, (_, i) => (seq * 31 + i * 7) & 255);
}

function base(seq: number): OutgoingRecord {
  return { seq, topic: `crash/${seq}/ü/😀`, payload: payloadFor(seq), qos: ((seq % 2) + 1) as QoS, retain: seq % 5 === 0 };
}

export function opsForBatch(b: number): Op[] {
  const ops: Op[] = [];
  const seqs = (batch: number) => Array.from({ length: BATCH }, (_, i) => batch * BATCH + i);
  for (const seq of seqs(b)) ops.push({ op: 'put', record: base(seq) });
  if (b >= 1) for (const seq of seqs(b - 1)) ops.push({ op: 'put', record: { ...base(seq), packetId: (seq % 65535) + 1 } });
  if (b >= 2) {
    for (const seq of seqs(b - 2)) {
      const r = base(seq);
      if (r.qos === 1) ops.push({ op: 'del', seq });
      else ops.push({ op: 'put', record: { ...r, packetId: (seq % 65535) + 1, released: true } });
    }
  }
  if (b >= 3) for (const seq of seqs(b - 3)) if (base(seq).qos === 2) ops.push({ op: 'del', seq });
  ops.push({ op: 'in', id: (b % 65535) + 1 });
  if (b >= 2) ops.push({ op: 'delIn', id: ((b - 2) % 65535) + 1 });
  if (b % 17 === 16) ops.push({ op: 'clearIn' });
  return ops;
}

export function apply(store: Store, op: Op): void {
  switch (op.op) {
    case 'put':
      store.putOutgoing(op.record);
      break;
    case 'del':
      store.deleteOutgoing(op.seq);
      break;
    case 'in':
      store.putIncoming(op.id);
      break;
    case 'delIn':
      store.deleteIncoming(op.id);
      break;
    case 'clearIn':
      store.clearIncoming();
      break;
  }
}
