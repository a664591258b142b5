import type { PublishProperties, QoS } from '../codec/packets.js';
import { EMPTY_MAP, EMPTY_SET, own } from '../session/lazy-collections.js';

/** One outgoing QoS 1/2 (or queued QoS 0) publish as a store keeps it. */
export interface OutgoingRecord {
  /** Order of acceptance; re-sending and restoring follow it. */
  seq: number;
  /** The PUBLISH's topic name. */
  topic: string;
  /** The PUBLISH's payload. */
  payload: Uint8Array;
  /** The PUBLISH's QoS. */
  qos: QoS;
  /** The PUBLISH's RETAIN flag. */
  retain: boolean;
  /** Set once the PUBLISH has been sent (the id the broker knows it by). */
  packetId?: number;
  /** QoS 2 only: PUBREC received, PUBREL sent; only PUBCOMP is awaited. */
  released?: boolean;
  /** MQTT 5: the PUBLISH's properties (absent at 3.1.1). */
  properties?: PublishProperties;
  /**
   * MQTT 5, a message with a Message Expiry Interval: when that interval runs out, in milliseconds
   * since the epoch. The properties' interval is what the PUBLISH carried when it was stored or last
   * sent; this is what decides, so a message restored after a process restart is dropped when it has
   * expired meanwhile and otherwise goes with what is left of its interval.
   */
  expiresAt?: number;
}

/** What `Store.open()` hands back: the state an earlier session of the same client id left. */
export interface StoreSnapshot {
  /** Outgoing messages not yet acknowledged, oldest first. */
  outgoing: OutgoingRecord[];
  /** Incoming QoS 2 packet ids received (and delivered) whose PUBREL has not come yet. */
  incoming: number[];
}

/**
 * Where a session keeps what must survive a reconnect (and, for a durable store, a process
 * restart): outgoing messages not yet acknowledged, and incoming QoS 2 ids awaiting PUBREL.
 *
 * The session calls the mutators synchronously as its state changes, and `flush()` right before
 * bytes that depend on them go to the socket, so a store can batch its writes per tick: nothing
 * reaches the broker that the store could forget.
 */
export interface Store {
  /** Loads what an earlier session of this client left. Called once, before the first CONNECT. */
  open(clientId: string): Promise<StoreSnapshot>;
  /** Adds or replaces (same `seq`) an outgoing record: when accepted, when sent (`packetId`), on PUBREC (`released`). */
  putOutgoing(record: OutgoingRecord): void;
  /** The outgoing message `seq` was acknowledged (PUBACK or PUBCOMP) or withdrawn. */
  deleteOutgoing(seq: number): void;
  /** An incoming QoS 2 message with this packet id was received; its PUBREL is awaited. */
  putIncoming(packetId: number): void;
  /** The PUBREL for this incoming packet id arrived. */
  deleteIncoming(packetId: number): void;
  /** Forget every incoming id (the broker started a new session). */
  clearIncoming(): void;
  /** Makes the changes so far durable. */
  flush(): void;
  /** The client is closed: release the store (a durable one flushes first), so a client may open() it again. */
  close(): Promise<void>;
}

/**
 * The default store: the same records in memory, kept per client id like FileStore's logs (the
 * session state of one client id is never handed to another, MQTT-3.1.3-2). It survives
 * reconnects, and a new client with the same client id given the same MemoryStore instance (in
 * the same process) resumes where the old one stopped. Like a FileStore, it serves one client at a
 * time: a second open() before close() is refused, since both clients would write the same records.
 */
export class MemoryStore implements Store {
  /**
   * The records of client ids not open now, kept at close() when they hold anything: a client's
   * own default store, open for the client's life, never makes this map.
   */
  private sessions: Map<string, Records> = EMPTY_MAP;
  /** The records of the client id that has the store open. */
  private current: Records = noRecords();
  private openBy: string | undefined;

  async open(clientId: string): Promise<StoreSnapshot> {
    if (this.openBy !== undefined) {
      throw new Error(`MemoryStore: already open for client id ${JSON.stringify(this.openBy)} (one client at a time; close it first)`);
    }
    this.openBy = clientId;
    const records = this.sessions.get(clientId) ?? noRecords();
    this.current = records;
    return {
      outgoing: [...records.outgoing.values()].sort((a, b) => a.seq - b.seq).map((r) => ({ ...r })),
      incoming: [...records.incoming],
    };
  }

  putOutgoing(record: OutgoingRecord): void {
    const records = this.current;
    (records.outgoing = own(records.outgoing)).set(record.seq, { ...record });
  }

  deleteOutgoing(seq: number): void {
    this.current.outgoing.delete(seq);
  }

  putIncoming(packetId: number): void {
    const records = this.current;
    (records.incoming = own(records.incoming)).add(packetId);
  }

  deleteIncoming(packetId: number): void {
    this.current.incoming.delete(packetId);
  }

  clearIncoming(): void {
    this.current.incoming.clear();
  }

  flush(): void {}

  async close(): Promise<void> {
    const clientId = this.openBy;
    if (clientId === undefined) return;
    this.openBy = undefined;
    const records = this.current;
    if (records.outgoing.size > 0 || records.incoming.size > 0) (this.sessions = own(this.sessions)).set(clientId, records);
    else this.sessions.delete(clientId);
  }
}

/** One client id's records in a MemoryStore. */
interface Records {
  outgoing: Map<number, OutgoingRecord>;
  incoming: Set<number>;
}

/** Empty records; their collections are made on first write (most clients never store anything). */
function noRecords(): Records {
  return { outgoing: EMPTY_MAP, incoming: EMPTY_SET };
}
