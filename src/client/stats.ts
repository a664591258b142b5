import type { Session } from '../session/session.js';
import type { Connection } from './connection.js';

/** What `client.stats()` returns: counters since the client was made, across reconnects. */
export interface ClientStats {
  /** Messages received from the broker (a QoS 2 message re-sent before PUBREL counts once). */
  messagesIn: number;
  /** Publishes accepted by `publish()`, whether already sent or still queued. */
  messagesOut: number;
  /** Bytes read from every connection so far. */
  bytesIn: number;
  /** Bytes written to every connection so far. */
  bytesOut: number;
  /** QoS 1/2 publishes sent and awaiting acknowledgement (at most `inflightWindow`). */
  inflight: number;
  /** Publishes waiting to be sent: behind a full in-flight window, or while offline. */
  queued: number;
  /** Messages that matched no subscription while nobody iterated `messages()`. */
  unroutedDropped: number;
  /** Round trip of the last PINGREQ/PINGRESP, in ms. */
  lastPingRoundTrip: number | undefined;
  /** Successful reconnects since connect(). */
  reconnects: number;
  /** QoS 0 publishes dropped while offline (with `queueQoS0: false`). */
  offlineDropped: number;
  /** MQTT 5: publishes whose Message Expiry Interval ran out while they were queued (never sent). */
  expired: number;
}

/** The client's counters, one object shared by the parts that count; bytes of closed connections are added when they close. */
export interface Counters {
  messagesIn: number;
  messagesOut: number;
  bytesInClosed: number;
  bytesOutClosed: number;
  unroutedDropped: number;
  reconnects: number;
  offlineDropped: number;
}

export function newCounters(): Counters {
  return { messagesIn: 0, messagesOut: 0, bytesInClosed: 0, bytesOutClosed: 0, unroutedDropped: 0, reconnects: 0, offlineDropped: 0 };
}

/** A connection closed: its bytes join the totals. */
export function countClosed(counters: Counters, connection: Connection): void {
  counters.bytesInClosed += connection.bytesIn;
  counters.bytesOutClosed += connection.bytesOut;
}

export function snapshot(counters: Counters, session: Session, connection: Connection | undefined): ClientStats {
  return {
    messagesIn: counters.messagesIn,
    messagesOut: counters.messagesOut,
    bytesIn: counters.bytesInClosed + (connection?.bytesIn ?? 0),
    bytesOut: counters.bytesOutClosed + (connection?.bytesOut ?? 0),
    inflight: session.stats.inflight,
    queued: session.stats.queued,
    unroutedDropped: counters.unroutedDropped,
    lastPingRoundTrip: session.lastPingRoundTrip,
    reconnects: counters.reconnects,
    offlineDropped: counters.offlineDropped,
    expired: session.expiredCount,
  };
}
