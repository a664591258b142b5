import type {
  AckProperties,
  AuthPacket,
  ConnackPacket,
  ConnectPacket,
  ConnectProperties,
  DisconnectPacket,
  Packet,
  PublishPacket,
  PublishProperties,
  QoS,
  Subscription,
  Will,
} from '../codec/packets.js';
import { measureFromClient } from '../codec/encode-client.js';
import { headerLength } from '../codec/fixed-header.js';
import { reasonCodeName } from '../codec/reason-codes.js';
import {
  ClientClosedError,
  ConnectionClosedError,
  ConnectionRefusedError,
  InvalidArgumentError,
  MqttError,
  MqttProtocolError,
  PublishError,
  quote,
  ServerDisconnectError,
  TimeoutError,
} from '../errors.js';
import { AuthExchange, type Authenticator } from './auth-exchange.js';
import { Deadline } from './deadline.js';
import { DeadlineQueue, type Timed } from './deadline-queue.js';
import { Fifo } from './fifo.js';
import { Keepalive, type KeepaliveHost } from './keepalive.js';
import { EMPTY_ARRAY, EMPTY_MAP, EMPTY_SET, own } from './lazy-collections.js';
import { PacketIdAllocator } from './packet-ids.js';
import { IncomingAliases, OutgoingAliases } from './topic-aliases.js';
import { globalTimers, type Timers } from './timers.js';
import { MemoryStore, type OutgoingRecord, type Store, type StoreSnapshot } from '../store/store.js';

/**
 * Where the protocol stands on the current connection, and nothing else: whether to connect, retry
 * or end is the client's policy (src/client/states.ts), which the session never sees.
 * - offline: no connection (before the first, or between two); publishes queue up
 * - connecting: CONNECT written, CONNACK awaited
 * - refused: a CONNACK refused us; nothing may follow on this connection (MQTT-3.2.2-5)
 * - connected: CONNACK 0 received; the queue moves
 * - disconnected: DISCONNECT written; nothing more is written on this connection (MQTT-3.14.4-2)
 * - closed: for good; everything pending has been settled
 */
export type SessionPhase = 'offline' | 'connecting' | 'refused' | 'connected' | 'disconnected' | 'closed';

export interface SessionOptions {
  clientId: string;
  clean: boolean;
  /** Seconds; 0 turns keepalive off. */
  keepalive: number;
  username?: string;
  password?: Uint8Array;
  will?: Will;
  /** 3 (MQTT 3.1), 4 (MQTT 3.1.1) or 5 (MQTT 5.0). */
  protocolLevel: 3 | 4 | 5;
  /** MQTT 5: CONNECT's properties (session expiry, receive maximum, maximum packet size, ...). */
  connectProperties?: ConnectProperties;
  /** MQTT 5: our Receive Maximum, enforced on the broker (default 65535). */
  receiveMaximum?: number;
  /** MQTT 5: our Topic Alias Maximum, enforced on the broker (default 0: none). */
  topicAliasMaximum?: number;
  /** MQTT 5: give our topics the broker's aliases (topicAliases: 'auto'), within its Topic Alias Maximum. */
  topicAliases?: boolean;
  /** MQTT 5: the enhanced-authentication mechanism (the `auth` option). */
  auth?: Authenticator;
  /** How long to wait for PUBACK/PUBREC/PUBCOMP/SUBACK/UNSUBACK, in ms. */
  ackTimeout: number;
  /** How long to wait for PINGRESP after PINGREQ, in ms. */
  pingTimeout: number;
  /** The most QoS 1/2 publishes awaiting acknowledgement at once. */
  inflightWindow: number;
  /** The largest packet we send, in bytes, fixed header included. */
  maxPacketSize: number;
}

/**
 * What the current connection allows, for everything that depends on it (read here, never from the
 * options). MQTT 3.1.1 takes them from our own options and the spec's fixed rules; MQTT 5 lowers them
 * with the CONNACK's properties (limitsFrom()).
 */
export interface Limits {
  /** QoS 1/2 publishes in flight at once: the smaller of inflightWindow and the server's Receive Maximum. */
  inflight: number;
  /** Largest packet we may send, fixed header included: the smaller of ours and the server's Maximum Packet Size. */
  maxPacketSize: number;
  /** Keepalive interval in seconds (0: off): ours, or the server's Server Keep Alive. */
  keepalive: number;
  /** The server's Receive Maximum (65535 when it sent none, and at 3.1.1). */
  receiveMaximum: number;
  /** The highest QoS the server accepts in a PUBLISH. */
  maximumQoS: QoS;
  retainAvailable: boolean;
  /** The highest topic alias the server accepts from us (0: none). */
  topicAliasMaximum: number;
  wildcardSubscriptionAvailable: boolean;
  subscriptionIdentifiersAvailable: boolean;
  sharedSubscriptionAvailable: boolean;
  /** MQTT 5: the client identifier the server assigned (we sent an empty one); used for every later CONNECT. */
  assignedClientIdentifier?: string;
}

/** A QoS 1/2 publish's result at MQTT 5: the PUBACK's (QoS 1) or PUBREC's (QoS 2) reason code and properties. */
export interface PublishResult {
  /** 0x00 Success or 0x10 No matching subscribers (a code of 0x80 or more rejects with PublishError instead). */
  reasonCode: number;
  /** The ack's properties (Reason String, User Properties), when it carried any. */
  properties?: AckProperties;
}

/** What the session needs from whoever owns the connection. */
export interface SessionHost {
  /**
   * Queue one packet for writing on the current connection. `topicAlias` (MQTT 5, a PUBLISH only): the
   * alias it goes with on the wire, as encodeFromClient takes it (0 or absent: none).
   */
  write(packet: Packet, topicAlias?: number): void;
  /** Resolves once everything written so far has been handed to the transport. */
  whenWritten(): Promise<void>;
  /** An application message arrived (after the QoS handshake rules said it is new). */
  deliver(packet: PublishPacket): void;
  /** The connection must be torn down with this error (protocol violation, dead keepalive). */
  fail(err: MqttError): void;
  /**
   * CONNACK 0 arrived. Called before in-flight messages are re-sent and the queue moves, so what
   * the host writes here (re-subscriptions) goes out first.
   */
  connected?(connack: ConnackPacket): void;
}

/**
 * One outgoing PUBLISH from the moment the application hands it over until its flow completes. While
 * it waits for an acknowledgement its deadline is in the session's DeadlineQueue (the Timed fields).
 */
interface OutgoingFlow extends Timed {
  /** Acceptance order, the key in the store. */
  seq: number;
  packet: PublishPacket;
  /** queued: not yet sent; puback/pubrec/pubcomp: the acknowledgement awaited next. */
  awaiting: 'queued' | 'puback' | 'pubrec' | 'pubcomp';
  /** Resolves undefined at 3.1.1 and for QoS 0; with the PUBACK's or PUBREC's result at MQTT 5. */
  done: Deadline<PublishResult | undefined>;
  /** MQTT 5, QoS 2: the PUBREC's result, kept until PUBCOMP completes the flow. */
  result?: PublishResult;
  /** MQTT 5: the Message Expiry Interval the application gave (seconds), for the error that says it ran out. */
  expiry?: number;
  /** MQTT 5: when that interval runs out (`timers.now()` time, ms since the epoch; kept in the store); set exactly when the packet has the property. */
  expiresAt?: number;
  /** MQTT 5: waiting to be re-sent on this connection (see retransmit()). */
  resend?: boolean;
}

interface PendingRequest {
  kind: 'subscribe' | 'unsubscribe';
  count: number;
  done: Deadline<number[]>;
}

export interface SessionStats {
  inflight: number;
  queued: number;
}

/**
 * The MQTT client protocol state machine, for 3.1.1 and 5.0 alike (level 5 is a branch where the two
 * differ: CONNECT/CONNACK properties, reason codes on acks, DISCONNECT from the server, the limits
 * both ways): CONNECT/CONNACK, packet identifiers, the
 * outgoing in-flight window and QoS 1/2 flows, incoming QoS 2 de-duplication, SUBACK/UNSUBACK
 * matching, keepalive. It never touches a socket: packets come in through `receive()` and go
 * out through `host.write()`. Time comes only from the injected `Timers`.
 */
export class Session implements KeepaliveHost {
  private current: SessionPhase = 'offline';
  private inForce: Limits;
  private readonly ids = new PacketIdAllocator();
  private readonly queue = new Fifo<OutgoingFlow>();
  /** Sent, unacknowledged publishes in send order (Map keeps insertion order for retransmission). */
  private inflight: Map<number, OutgoingFlow> = EMPTY_MAP;
  /** Incoming QoS 2 ids between PUBREC and PUBREL: a re-sent PUBLISH with one of them is not delivered again. */
  private incomingQos2: Set<number> = EMPTY_SET;
  private requests: Map<number, PendingRequest> = EMPTY_MAP;
  private connack: Deadline<ConnackPacket> | undefined;
  private readonly keepalive: Keepalive;
  /** The ackTimeout of every publish awaiting PUBACK/PUBREC/PUBCOMP: one timer for the whole window. */
  private readonly ackDeadlines: DeadlineQueue<OutgoingFlow>;
  /** The client stopped reading (a full subscription): deadlines for what the broker sends are on hold. */
  private readingHeld = false;
  private drainWaiters: (() => void)[] = EMPTY_ARRAY;
  private seq = 0;
  private expired = 0;
  /** MQTT 5: in-flight PUBLISHes not yet re-sent on this connection (its Receive Maximum held them back). */
  private heldResends = 0;
  /**
   * Whether restore() has run. Until then nothing is written to the store: what an earlier
   * process left there has not been read yet, and its sequence numbers must come first.
   */
  private storeOpen = false;
  /** Whether this session speaks MQTT 5: every level-5 branch tests this one field. */
  private readonly v5: boolean;
  /** The client identifier CONNECT sends: ours, or the one the server assigned (MQTT 5). */
  private clientId: string;
  /** MQTT 5: the broker's topic aliases on this connection (a new table per CONNECT, MQTT-3.3.2-7). */
  private inAliases: IncomingAliases | undefined;
  /** MQTT 5, topicAliases 'auto': our aliases on this connection; undefined when none are sent (and always at 3.1.1). */
  private outAliases: OutgoingAliases | undefined;
  /** MQTT 5 with the `auth` option: the AUTH exchanges. */
  private readonly authExchange: AuthExchange | undefined;
  /** MQTT 5: packets that came after CONNACK while the mechanism verifies it, handled once it has. */
  private verifying: Packet[] | undefined;
  /** MQTT 5: the reauthenticate() under way. */
  private reauthentication: Deadline<void> | undefined;

  constructor(
    private readonly options: SessionOptions,
    private readonly host: SessionHost,
    private readonly timers: Timers = globalTimers,
    private readonly store: Store = new MemoryStore(),
  ) {
    this.v5 = options.protocolLevel === 5;
    this.clientId = options.clientId;
    this.inForce = limitsFrom(options, undefined);
    // The flow stays in flight (its id and window slot stay taken) so a late ack still completes it
    // and a reconnect can re-send it; only the caller stops waiting.
    this.ackDeadlines = new DeadlineQueue(timers, options.ackTimeout, (flow) => flow.done.reject(this.ackTimeoutError(flow)));
    if (this.v5 && options.auth) this.authExchange = new AuthExchange(options.auth, { send: (p) => this.send(p), fail: (err) => this.host.fail(err) });
    this.keepalive = new Keepalive(timers, options.pingTimeout, this);
  }

  /** KeepaliveHost: the connection has been idle for the keepalive interval. */
  sendPing(): void {
    this.send({ type: 'pingreq' });
  }

  /** KeepaliveHost: no PINGRESP in time. */
  pingTimedOut(): void {
    this.host.fail(new TimeoutError(`no PINGRESP within ${this.options.pingTimeout} ms: the connection is dead`));
  }

  get phase(): SessionPhase {
    return this.current;
  }

  /** The limits of the current connection (see Limits). */
  get limits(): Readonly<Limits> {
    return this.inForce;
  }

  get stats(): SessionStats {
    return { inflight: this.inflight.size, queued: this.queue.length };
  }

  /** MQTT 5: publishes whose Message Expiry Interval ran out while they waited to be sent (never sent). */
  get expiredCount(): number {
    return this.expired;
  }

  /** The client identifier in use: the one given, or the one an MQTT 5 server assigned. */
  get currentClientId(): string {
    return this.clientId;
  }

  get lastPingRoundTrip(): number | undefined {
    return this.keepalive.lastRoundTrip;
  }

  /** The transport is open: send CONNECT. Resolves on CONNACK 0, rejects on a refusal. */
  start(): Promise<ConnackPacket> {
    if (this.current === 'closed') return Promise.reject(new ClientClosedError('cannot connect: the session is closed'));
    this.current = 'connecting';
    this.readingHeld = false;
    const o = this.options;
    // Aliases never outlive a connection, either way (MQTT-3.3.2-7).
    this.outAliases = undefined;
    if (this.v5) this.inAliases = new IncomingAliases(o.topicAliasMaximum ?? 0);
    const connect: ConnectPacket = {
      type: 'connect',
      protocolName: o.protocolLevel === 3 ? 'MQIsdp' : 'MQTT',
      protocolLevel: o.protocolLevel,
      clientId: this.clientId,
      clean: o.clean,
      keepalive: o.keepalive,
    };
    if (o.connectProperties) connect.properties = o.connectProperties;
    this.verifying = undefined;
    if (this.authExchange) connect.properties = { ...o.connectProperties, ...this.authExchange.connectProperties() };
    if (o.username !== undefined) connect.username = o.username;
    if (o.password !== undefined) connect.password = o.password;
    if (o.will) connect.will = o.will;
    // Written before the CONNACK promise exists: if CONNECT cannot be written (the encoder or a
    // logger throws), start() throws and leaves no promise behind that a later suspend() or close()
    // would reject with nobody listening (an unhandled rejection after the caller caught the error).
    this.send(connect);
    // The caller owns the overall connect timeout (it also covers opening the transport).
    this.connack = new Deadline<ConnackPacket>(this.timers, () => new TimeoutError('no CONNACK'));
    return this.connack.promise;
  }

  /** Every packet the decoder produced, in order. */
  receive(packet: Packet): void {
    const phase = this.current;
    if (phase === 'closed' || phase === 'offline') return;
    if (phase === 'refused') {
      throw new MqttProtocolError('UNEXPECTED_PACKET', `${packet.type.toUpperCase()} after a refused CONNACK`, 'MQTT-3.2.2-5');
    }
    if (this.verifying) {
      this.verifying.push(packet);
      return;
    }
    if (phase === 'connecting') {
      if (packet.type === 'auth' && this.v5) return this.onAuth(packet);
      if (packet.type !== 'connack') {
        throw new MqttProtocolError('UNEXPECTED_PACKET', `expected CONNACK first, got ${packet.type.toUpperCase()}`, 'MQTT-3.2.0-1');
      }
      this.onConnack(packet);
      return;
    }
    switch (packet.type) {
      case 'publish':
        return this.onPublish(packet);
      case 'puback':
        return this.onPuback(packet.packetId, packet.reasonCode, packet.properties);
      case 'pubrec':
        return this.onPubrec(packet.packetId, packet.reasonCode, packet.properties);
      case 'pubrel':
        // Always answer, even for an unknown id: the broker is finishing a flow we may have forgotten.
        if (this.incomingQos2.delete(packet.packetId)) this.store.deleteIncoming(packet.packetId);
        this.send({ type: 'pubcomp', packetId: packet.packetId });
        return;
      case 'pubcomp':
        return this.onPubcomp(packet.packetId);
      case 'suback':
        return this.onSuback(packet.packetId, packet.returnCodes);
      case 'unsuback':
        return this.onUnsuback(packet.packetId, packet.reasonCodes);
      case 'pingresp':
        this.keepalive.pingResponse();
        return;
      case 'disconnect':
        // Only an MQTT 5 server may send DISCONNECT; at 3.1.1 it is a protocol violation like any other.
        if (this.v5) return this.onDisconnect(packet);
        break;
      case 'auth':
        if (this.v5) return this.onAuth(packet);
        break;
    }
    throw new MqttProtocolError('UNEXPECTED_PACKET', `a server must not send ${packet.type.toUpperCase()} here`);
  }

  /**
   * Takes over what an earlier session of this client left in the store: messages already sent
   * go back in flight (re-sent with DUP on the next CONNACK), the others back in the queue.
   * Nobody awaits their promises any more; they complete silently.
   */
  restore(snapshot: StoreSnapshot): void {
    const early = this.queue.drain(); // published before the store was read: they come after its messages
    for (const record of snapshot.outgoing) {
      this.seq = Math.max(this.seq, record.seq);
      const packet: PublishPacket = { type: 'publish', topic: record.topic, payload: record.payload, qos: record.qos, retain: record.retain, dup: false };
      if (record.properties) packet.properties = { ...record.properties };
      const flow = this.newFlow(packet, record.seq);
      // The time it waited before this process counts: expired by now, it is not sent again (queued)
      // or goes with at least a second (already sent), like any other.
      if (record.expiresAt !== undefined && packet.properties) {
        flow.expiry = packet.properties.messageExpiryInterval;
        flow.expiresAt = record.expiresAt;
      }
      flow.done.promise.catch(() => {});
      if (record.packetId === undefined || this.ids.has(record.packetId)) {
        this.queue.push(flow);
        continue;
      }
      packet.packetId = record.packetId;
      this.ids.reserve(record.packetId);
      flow.awaiting = record.released ? 'pubcomp' : record.qos === 1 ? 'puback' : 'pubrec';
      (this.inflight = own(this.inflight)).set(record.packetId, flow);
    }
    for (const id of snapshot.incoming) (this.incomingQos2 = own(this.incomingQos2)).add(id);
    this.storeOpen = true;
    for (const flow of early) {
      flow.seq = ++this.seq;
      if (flow.packet.qos > 0) this.store.putOutgoing(this.record(flow));
      this.queue.push(flow);
    }
  }

  /**
   * Queue a PUBLISH (without packetId); resolves when its QoS flow completes. Aborting `signal`
   * withdraws a publish still queued (it is never sent); one already sent stays in flight and only
   * its promise rejects (with AbortError).
   */
  publish(packet: PublishPacket, signal?: AbortSignal): Promise<PublishResult | undefined> {
    if (packet.qos === 0 && this.current === 'connected' && this.queue.length === 0 && !signal) {
      // The common QoS 0 case needs no flow: nothing to queue, store, time or withdraw. Its
      // promise is the batch's, shared by every QoS 0 publish written in the same tick.
      this.send(packet);
      return this.host.whenWritten() as Promise<undefined>;
    }
    if (this.current === 'closed') return Promise.reject(new ClientClosedError('cannot publish: the session is closed'));
    const flow = this.expiring(this.newFlow(packet, ++this.seq));
    if (packet.qos > 0 && this.storeOpen) this.store.putOutgoing(this.record(flow));
    this.queue.push(flow);
    this.pump();
    flow.done.abortOn(signal, () => {
      this.withdraw(flow);
      // Sent already: it stays in flight, but nobody waits for its deadline any more.
      this.ackDeadlines.disarm(flow);
    });
    return flow.done.promise;
  }

  /**
   * QoS 0 PUBLISHes that were written but never handed to the transport (the connection broke
   * first, see PacketWriter) go back to the front of the queue, in their order, ahead of everything
   * accepted after them, and leave on the next connection. Nothing is sent now: the connection is
   * going. Resolves once the last of them is written; rejects like a queued publish when that
   * cannot be (the session closes, or at MQTT 5 the next connection refuses it).
   */
  requeue(packets: PublishPacket[]): Promise<void> {
    if (this.current === 'closed') return Promise.reject(new ClientClosedError('cannot publish: the session is closed'));
    // Decoded from the wire bytes, a packet may carry this connection's topic alias (and an empty
    // topic); the next connection has no aliases, so each goes back with its full topic.
    const whole = this.outAliases ? unaliased(packets, this.outAliases) : { packets, lost: false };
    // Each waits with the interval it was written with, from now: it can still expire while offline.
    const flows = whole.packets.map((packet) => this.expiring(this.newFlow(packet, ++this.seq)));
    if (flows.length === 0) return Promise.reject(new ConnectionClosedError('the connection closed before the publish was written'));
    for (let i = 0; i < flows.length - 1; i++) flows[i]!.done.promise.catch(() => {}); // the last one speaks for all
    this.queue.unshift(flows);
    const last = (flows[flows.length - 1] as OutgoingFlow).done.promise;
    // One whose topic cannot be told any more is not sent: the batch's shared promise then says
    // "maybe delivered" (CONNECTION_CLOSED) for all, which stays true for those that do go out.
    if (whole.lost) return last.then(() => Promise.reject(new ConnectionClosedError('the connection closed while a publish was being written')));
    return last.then(() => undefined);
  }

  /** Resolves on SUBACK with its codes; MQTT 5: `subscriptionIdentifier` goes in the SUBSCRIBE's properties. */
  subscribe(subscriptions: Subscription[], subscriptionIdentifier?: number): Promise<number[]> {
    if (subscriptionIdentifier !== undefined) {
      return this.request('subscribe', subscriptions.length, (packetId) => ({ type: 'subscribe', packetId, subscriptions, properties: { subscriptionIdentifier } }));
    }
    return this.request('subscribe', subscriptions.length, (packetId) => ({ type: 'subscribe', packetId, subscriptions }));
  }

  /** Resolves on UNSUBACK with its reason codes (MQTT 5, one per filter; empty at 3.1.1, whose UNSUBACK has none). */
  unsubscribe(topicFilters: string[]): Promise<number[]> {
    return this.request('unsubscribe', topicFilters.length, (packetId) => ({ type: 'unsubscribe', packetId, topicFilters }));
  }

  /** Resolves when nothing is queued or awaiting acknowledgement (used by a graceful end). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => (this.drainWaiters = own(this.drainWaiters)).push(resolve));
  }

  /** DISCONNECT is the last packet of the connection: nothing is written after it. */
  disconnect(packet: DisconnectPacket = { type: 'disconnect' }): void {
    if (this.current !== 'connected') return;
    this.keepalive.stop();
    this.send(this.v5 ? withinMaximum(packet, this.inForce.maxPacketSize) : packet);
    this.current = 'disconnected';
  }

  /**
   * The client stopped reading the connection (a subscription is full) or reads again. While it
   * does not read, an answer the broker owes us may sit unread in our own socket buffer, so no
   * deadline for one runs (PINGRESP, PUBACK/PUBREC/PUBCOMP, SUBACK/UNSUBACK); reading again gives
   * each a full timeout from then. Our own backpressure must never look like a dead broker.
   */
  holdReading(held: boolean): void {
    if (held === this.readingHeld) return;
    this.readingHeld = held;
    if (held) this.keepalive.hold();
    else this.keepalive.release();
    if (held) this.ackDeadlines.clear();
    else for (const flow of this.inflight.values()) this.armAck(flow);
    const ackTimeout = this.options.ackTimeout;
    for (const req of this.requests.values()) {
      if (held) req.done.disarm();
      else req.done.arm(ackTimeout);
    }
  }

  /**
   * The connection dropped but the session lives on (the client will reconnect): requests waiting
   * for SUBACK/UNSUBACK fail with `err`; publishes stay queued or in flight, their deadlines paused
   * until they are re-sent.
   */
  suspend(err: Error): void {
    if (this.current === 'closed') return;
    this.current = 'offline';
    this.readingHeld = false;
    this.verifying = undefined;
    this.authExchange?.reset(err);
    this.keepalive.stop();
    this.connack?.reject(err);
    this.connack = undefined;
    for (const [id, req] of this.requests) {
      this.ids.release(id);
      req.done.reject(err);
    }
    this.requests.clear();
    this.ackDeadlines.clear();
  }

  /** The connection is gone for good: settle everything still waiting, exactly once, with `err`. */
  close(err: Error = new ConnectionClosedError('the connection closed')): void {
    this.current = 'closed';
    this.verifying = undefined;
    this.authExchange?.reset(err);
    this.keepalive.stop();
    this.connack?.reject(err);
    for (const flow of this.queue.drain()) flow.done.reject(err);
    for (const flow of this.inflight.values()) flow.done.reject(err);
    this.inflight.clear();
    this.ackDeadlines.clear();
    for (const req of this.requests.values()) req.done.reject(err);
    this.requests.clear();
    this.incomingQos2.clear();
    this.notifyIdle();
  }

  private onConnack(packet: ConnackPacket): void {
    const connack = this.connack;
    this.connack = undefined;
    const code = packet.returnCode;
    if (code !== 0) {
      this.current = 'refused';
      // A level-5 CONNACK names its refusal with a reason code of 0x80 or more; a 3.1.1 server answering
      // our level-5 CONNECT sends return code 1 (unacceptable protocol version), which has no name there.
      const p = packet.properties;
      const details = this.v5 && code >= 0x80 ? { name: reasonCodeName(code, 'connack'), reasonString: p?.reasonString, serverReference: p?.serverReference } : undefined;
      connack?.reject(new ConnectionRefusedError(code, details));
      return;
    }
    if (this.v5 && this.options.clean && packet.sessionPresent) {
      // We sent Clean Start 1 and so hold no session state: a server claiming one is broken (MQTT-3.2.2-2).
      throw new MqttProtocolError('UNEXPECTED_PACKET', 'CONNACK with Session Present 1 after Clean Start 1', 'MQTT-3.2.2-4');
    }
    if (this.authExchange) {
      // Nothing is handled until the mechanism is satisfied that the broker is who it says (verifyFinal).
      const held: Packet[] = (this.verifying = []);
      // connect() still waits: a failed verification rejects it (suspend() or close()).
      this.connack = connack;
      this.authExchange.onConnack(packet, () => {
        const waiting = this.connack;
        this.connack = undefined;
        this.verifying = undefined;
        this.accept(packet, waiting);
        for (const p of held) {
          if (this.current !== 'connected') return;
          try {
            this.receive(p);
          } catch (err) {
            return this.host.fail(err instanceof MqttError ? err : new MqttProtocolError('DECODER_FAILED', String(err)));
          }
        }
      });
      return;
    }
    this.accept(packet, connack);
  }

  /** CONNACK 0, accepted: the limits in force, the aliases, keepalive, then the queue moves. */
  private accept(packet: ConnackPacket, connack: Deadline<ConnackPacket> | undefined): void {
    this.current = 'connected';
    this.inForce = limitsFrom(this.options, this.v5 ? (packet.properties ?? {}) : undefined);
    const aliases = this.inForce.topicAliasMaximum;
    // Only within what the broker announced; absent or 0, no alias at all (MQTT-3.2.2-17, MQTT-3.2.2-18).
    if (this.options.topicAliases && aliases > 0) this.outAliases = new OutgoingAliases(aliases, (p, alias) => packetSize(p, alias) <= this.inForce.maxPacketSize);
    const assigned = this.inForce.assignedClientIdentifier;
    // Kept for every later CONNECT, so that a reconnect resumes the session the server made for it.
    if (assigned !== undefined) this.clientId = assigned;
    if (!packet.sessionPresent) {
      // A new session on the broker: it has forgotten the QoS 2 messages it was sending us, and
      // the ids of ours it had not finished.
      this.incomingQos2.clear();
      this.store.clearIncoming();
      this.publishAgainAsNew();
    }
    this.keepalive.start(this.inForce.keepalive * 1000);
    this.host.connected?.(packet);
    this.retransmit();
    connack?.resolve(packet);
    this.pump();
  }

  /**
   * The broker has no session for us (CONNACK session present 0: always with clean session / Clean
   * Start 1, and when a broker lost a persistent one). The packet ids of our unfinished flows, and
   * DUP, belonged to the session it discarded and must not be used again (MQTT-3.1.2-6 of 3.1.1,
   * MQTT-4.4.0-1 of 5.0). Each in-flight publish goes back to the front of the queue, in its
   * original order, and leaves as a new message: a new id, DUP 0, at least once (a subscriber may
   * get it twice). That includes QoS 2 flows past PUBREC: the discarded session held the message
   * until our PUBREL (session state, section 4.1), and a broker that delivers onward only at
   * PUBREL (Mosquitto does) dropped it with the session, so a PUBREL would complete nothing and
   * completing the flow here could lose the message.
   */
  private publishAgainAsNew(): void {
    if (this.inflight.size === 0) return;
    const again: OutgoingFlow[] = [];
    for (const [packetId, flow] of this.inflight) {
      this.ids.release(packetId);
      this.ackDeadlines.disarm(flow);
      const p = flow.packet;
      delete p.packetId;
      p.dup = false;
      flow.awaiting = 'queued';
      flow.resend = false;
      delete flow.result;
      this.store.putOutgoing(this.record(flow));
      again.push(flow);
    }
    this.inflight.clear();
    this.heldResends = 0;
    this.queue.unshift(again);
  }

  /**
   * After a reconnect that resumed the session (session present 1), unacknowledged PUBLISHes go out
   * again with DUP set and PUBRELs again, with their original ids and in their original order
   * (MQTT-4.4.0-1, MQTT-3.3.1-1). Without a session publishAgainAsNew() has emptied the window first.
   */
  private retransmit(): void {
    // MQTT 5: the new connection's Receive Maximum may be lower than what is in flight; the PUBLISHes
    // beyond it wait (with their ids) until acks make room (MQTT-3.3.4-7). 3.1.1 re-sends them all.
    const limit = this.v5 ? this.inForce.inflight : Infinity;
    let sent = 0;
    this.heldResends = 0;
    for (const [packetId, flow] of this.inflight) {
      flow.resend = false;
      if (flow.awaiting === 'pubcomp') {
        this.send({ type: 'pubrel', packetId });
      } else if (sent >= limit) {
        flow.resend = true;
        this.heldResends++;
        continue;
      } else this.resend(flow);
      sent++;
      this.armAck(flow);
    }
  }

  /** A PUBLISH sent before goes out again with DUP set. */
  private resend(flow: OutgoingFlow): void {
    flow.packet.dup = true;
    // Already sent once, so never dropped for expiry now: the broker may hold it (QoS 2) under this
    // id. It goes with what is left of its interval, at least a second.
    if (flow.expiresAt !== undefined) this.setRemaining(flow, Math.max(1, this.remaining(flow)));
    this.send(flow.packet);
  }

  /** An ack came for a flow still held back from re-sending (the broker had it after all): it needs no re-send. */
  private unhold(flow: OutgoingFlow): void {
    if (!flow.resend) return;
    flow.resend = false;
    this.heldResends--;
  }

  /** MQTT 5: re-sends held back by a lower Receive Maximum go out, in order, as acks make room. */
  private resendHeld(): void {
    for (const flow of this.inflight.values()) {
      if (this.inflight.size - this.heldResends >= this.inForce.inflight) return;
      if (!flow.resend) continue;
      flow.resend = false;
      this.heldResends--;
      this.resend(flow);
      this.armAck(flow);
    }
  }

  private onPublish(packet: PublishPacket): void {
    const alias = this.v5 ? packet.properties?.topicAlias : undefined;
    if (alias !== undefined) this.inAliases?.resolve(packet, alias);
    if (packet.qos === 0) {
      this.host.deliver(packet);
      return;
    }
    const packetId = packet.packetId as number;
    if (packet.qos === 1) {
      this.host.deliver(packet);
      this.send({ type: 'puback', packetId });
      return;
    }
    // QoS 2, method B of the spec (4.3.3): deliver on first receipt, remember the id until PUBREL.
    if (!this.incomingQos2.has(packetId)) {
      // QoS 1 is acknowledged as it arrives, so only QoS 2 between PUBLISH and PUBREL counts against
      // the Receive Maximum we announced (MQTT-3.3.4-9 of 5.0 binds the broker to it).
      if (this.v5 && this.incomingQos2.size >= (this.options.receiveMaximum ?? 65535)) {
        throw new MqttProtocolError('RECEIVE_MAXIMUM_EXCEEDED', `the broker sent more than our Receive Maximum of ${this.options.receiveMaximum ?? 65535} unacknowledged QoS 2 messages`, 'MQTT-3.3.4-9');
      }
      (this.incomingQos2 = own(this.incomingQos2)).add(packetId);
      // Durable before delivery: a crash after this point must not deliver the message twice.
      this.store.putIncoming(packetId);
      this.store.flush();
      this.host.deliver(packet);
    }
    this.send({ type: 'pubrec', packetId });
  }

  private onPuback(packetId: number, reasonCode: number | undefined, properties: AckProperties | undefined): void {
    const flow = this.inflight.get(packetId);
    // An ack for an id we do not know, or of the wrong kind, is ignored as the spec allows.
    if (flow?.awaiting !== 'puback') return;
    this.finish(packetId, flow, this.v5 ? this.result(flow, reasonCode, properties) : undefined);
  }

  private onPubrec(packetId: number, reasonCode: number | undefined, properties: AckProperties | undefined): void {
    const flow = this.inflight.get(packetId);
    if (flow && flow.awaiting !== 'pubrec' && flow.awaiting !== 'pubcomp') return;
    if (this.v5 && reasonCode !== undefined && reasonCode >= 0x80) {
      // A refusal ends the QoS 2 flow here: no PUBREL follows (MQTT-4.3.3-4 of 5.0), the id is free.
      if (flow?.awaiting === 'pubrec') this.finish(packetId, flow, this.result(flow, reasonCode, properties));
      return;
    }
    if (flow) {
      this.unhold(flow);
      if (flow.awaiting === 'pubrec') {
        flow.awaiting = 'pubcomp';
        if (this.v5) flow.result = this.result(flow, reasonCode, properties);
        this.store.putOutgoing(this.record(flow));
      }
      this.armAck(flow);
    }
    // Unknown id: still release it, so the broker can forget a flow we no longer hold.
    this.send({ type: 'pubrel', packetId });
  }

  private onPubcomp(packetId: number): void {
    const flow = this.inflight.get(packetId);
    if (flow?.awaiting !== 'pubcomp') return;
    // A flow restored from the store has no PUBREC result: the PUBREC came to an earlier process.
    this.finish(packetId, flow, this.v5 ? (flow.result ?? { reasonCode: 0 }) : undefined);
  }

  /**
   * MQTT 5: a PUBACK's or PUBREC's outcome. Under 0x80 the publish worked (0x10: nobody subscribed)
   * and resolves with it; from 0x80 the broker refused it, and the flow ends with PublishError.
   */
  private result(flow: OutgoingFlow, reasonCode = 0, properties: AckProperties | undefined): PublishResult | PublishError {
    if (reasonCode >= 0x80) {
      const type = flow.packet.qos === 1 ? 'puback' : 'pubrec';
      return new PublishError(flow.packet.topic, reasonCode, { name: reasonCodeName(reasonCode, type), reasonString: properties?.reasonString });
    }
    return properties ? { reasonCode, properties } : { reasonCode };
  }

  /** MQTT 5: an AUTH from the broker; without the `auth` option it may send none (MQTT-4.12.0-6). */
  private onAuth(packet: AuthPacket): void {
    if (!this.authExchange) throw new MqttProtocolError('UNEXPECTED_PACKET', 'the broker sent AUTH, but CONNECT named no Authentication Method', 'MQTT-4.12.0-6');
    this.authExchange.onAuth(packet, this.current === 'connected');
  }

  /**
   * MQTT 5: sends AUTH 0x19 with a fresh exchange and resolves when the broker's AUTH 0x00 arrives
   * and the mechanism has verified it (MQTT-4.12.1-1). Traffic goes on meanwhile. A second call while
   * one is under way gets the same promise.
   */
  reauthenticate(): Promise<void> {
    const exchange = this.authExchange;
    if (!exchange) return Promise.reject(new InvalidArgumentError('reauthenticate() needs the auth option (and protocolVersion: 5): with no Authentication Method in CONNECT, AUTH may not be sent (MQTT-4.12.0-7)'));
    if (this.current !== 'connected') return Promise.reject(new ConnectionClosedError(`cannot reauthenticate while ${this.current}`));
    this.reauthentication ??= new Deadline<void>(this.timers, () => new TimeoutError(`no AUTH from the broker within ${this.options.ackTimeout} ms of re-authenticating`))
      .follow(exchange.reauthenticate())
      .arm(this.options.ackTimeout);
    const done = this.reauthentication;
    const clear = (): void => {
      if (this.reauthentication === done) this.reauthentication = undefined;
    };
    done.promise.then(clear, clear);
    return done.promise;
  }

  /** MQTT 5: the broker closes the connection and says why; the host tears it down with this error. */
  private onDisconnect(packet: DisconnectPacket): void {
    const code = packet.reasonCode ?? 0;
    const props = packet.properties;
    this.host.fail(new ServerDisconnectError(code, { name: reasonCodeName(code, 'disconnect'), reasonString: props?.reasonString, serverReference: props?.serverReference }));
  }

  private onSuback(packetId: number, returnCodes: number[]): void {
    const req = this.requests.get(packetId);
    if (req?.kind !== 'subscribe') return;
    if (req.done.settled) return this.forget(packetId);
    if (returnCodes.length !== req.count) {
      throw new MqttProtocolError(
        'UNEXPECTED_PACKET',
        `SUBACK has ${returnCodes.length} return codes for a SUBSCRIBE of ${req.count} filters`,
        this.v5 ? 'MQTT-3.8.4-6' : 'MQTT-3.8.4-5',
      );
    }
    this.forget(packetId);
    req.done.resolve(returnCodes);
  }

  private onUnsuback(packetId: number, reasonCodes: number[] | undefined): void {
    const req = this.requests.get(packetId);
    if (req?.kind !== 'unsubscribe') return;
    if (reasonCodes && reasonCodes.length !== req.count && !req.done.settled) {
      throw new MqttProtocolError('UNEXPECTED_PACKET', `UNSUBACK has ${reasonCodes.length} reason codes for an UNSUBSCRIBE of ${req.count} filters`, 'MQTT-3.11.3-1');
    }
    this.forget(packetId);
    req.done.resolve(reasonCodes ?? []);
  }

  /** A SUBSCRIBE/UNSUBSCRIBE got its ack (perhaps after its caller timed out): its id is free again. */
  private forget(packetId: number): void {
    this.requests.delete(packetId);
    // Most clients subscribe once, at the start: the emptied map's backing store goes back.
    if (this.requests.size === 0) this.requests = EMPTY_MAP;
    this.ids.release(packetId);
  }

  /** The flow is over (acknowledged, or refused at MQTT 5 with `outcome` a PublishError): never re-sent. */
  private finish(packetId: number, flow: OutgoingFlow, outcome?: PublishResult | PublishError): void {
    this.unhold(flow);
    this.ackDeadlines.disarm(flow);
    this.inflight.delete(packetId);
    this.store.deleteOutgoing(flow.seq);
    this.ids.release(packetId);
    // A result is a plain object and a refusal the PublishError made here, so the native `instanceof
    // Error` tells them apart: PublishError's branded instanceof (for errors from another copy of the
    // library) walks the prototype chain in JavaScript, about 90 ns on every MQTT 5 ack.
    if (outcome === undefined || !(outcome instanceof Error)) flow.done.resolve(outcome);
    else flow.done.reject(outcome);
    this.pump();
    this.notifyIdle();
  }

  /** A publish still queued leaves the queue (and the store) without ever being sent. */
  private withdraw(flow: OutgoingFlow): void {
    if (flow.awaiting !== 'queued' || !this.queue.remove(flow)) return;
    if (flow.packet.qos > 0) this.store.deleteOutgoing(flow.seq);
    this.notifyIdle();
  }

  /** Moves queued publishes onto the wire while connected and the in-flight window has room. */
  private pump(): void {
    if (this.current !== 'connected') return;
    if (this.heldResends > 0) this.resendHeld();
    while (this.queue.length > 0) {
      const flow = this.queue.peek() as OutgoingFlow;
      if (this.v5 && !this.stillSendable(flow)) {
        this.queue.shift();
        continue;
      }
      if (flow.packet.qos === 0) {
        this.queue.shift();
        this.send(flow.packet);
        flow.awaiting = 'puback'; // no longer withdrawable
        this.host.whenWritten().then(() => flow.done.resolve(undefined), (err: unknown) => flow.done.reject(err));
        continue;
      }
      if (this.inflight.size >= this.inForce.inflight) break;
      const packetId = this.ids.allocate();
      if (packetId === undefined) break;
      this.queue.shift();
      flow.packet.packetId = packetId;
      flow.awaiting = flow.packet.qos === 1 ? 'puback' : 'pubrec';
      (this.inflight = own(this.inflight)).set(packetId, flow);
      this.store.putOutgoing(this.record(flow));
      this.armAck(flow);
      this.send(flow.packet);
    }
    this.notifyIdle();
  }

  /**
   * MQTT 5, a queued publish about to be sent: one whose Message Expiry Interval ran out while it
   * waited is not sent (counted in `expired`, its promise rejected); one the limits of this connection
   * forbid (a broker that came back with a lower Maximum QoS, or without Retain Available) is refused
   * with InvalidArgumentError, as publish() refuses it while connected. Otherwise it goes with the
   * interval it has left.
   */
  private stillSendable(flow: OutgoingFlow): boolean {
    const p = flow.packet;
    let error: MqttError | undefined;
    if (flow.expiresAt !== undefined) {
      const left = this.remaining(flow);
      if (left <= 0) {
        this.expired++;
        error = new MqttError('MESSAGE_EXPIRED', `the publish to ${quote(p.topic)} expired (messageExpiryInterval ${flow.expiry} s) before it could be sent`);
      } else this.setRemaining(flow, left);
    }
    if (!error && p.qos > this.inForce.maximumQoS) error = new InvalidArgumentError(`the broker takes publishes up to QoS ${this.inForce.maximumQoS} (its Maximum QoS), not QoS ${p.qos} (MQTT-3.2.2-11)`);
    if (!error && p.retain && !this.inForce.retainAvailable) error = new InvalidArgumentError('the broker does not keep retained messages (Retain Available 0) (MQTT-3.2.2-14)');
    if (!error) return true;
    if (p.qos > 0) this.store.deleteOutgoing(flow.seq);
    flow.done.reject(error);
    return false;
  }

  /** MQTT 5: starts the expiry of a flow whose packet has a Message Expiry Interval (from now). */
  private expiring(flow: OutgoingFlow): OutgoingFlow {
    const expiry = flow.packet.properties?.messageExpiryInterval;
    if (expiry !== undefined) {
      flow.expiry = expiry;
      flow.expiresAt = this.timers.now() + expiry * 1000;
    }
    return flow;
  }

  /** Whole seconds left of a publish's Message Expiry Interval (0 or less: expired). */
  private remaining(flow: OutgoingFlow): number {
    return Math.ceil(((flow.expiresAt as number) - this.timers.now()) / 1000);
  }

  private setRemaining(flow: OutgoingFlow, seconds: number): void {
    (flow.packet.properties as PublishProperties).messageExpiryInterval = seconds;
  }

  private request(kind: PendingRequest['kind'], count: number, build: (packetId: number) => Packet): Promise<number[]> {
    if (this.current === 'closed') return Promise.reject(new ClientClosedError(`cannot ${kind}: the session is closed`));
    if (this.current !== 'connected') {
      return Promise.reject(new ConnectionClosedError(`cannot ${kind} while ${this.current}`));
    }
    const packetId = this.ids.allocate();
    if (packetId === undefined) return Promise.reject(new MqttError('NO_PACKET_ID', 'all 65535 packet identifiers are in use'));
    const upper = kind.toUpperCase();
    // On timeout the request stays registered (settled) so that a late ack frees its id, and no
    // newer request can be matched with it meanwhile.
    const done = new Deadline<number[]>(this.timers, () => {
      return new TimeoutError(`no ${upper === 'SUBSCRIBE' ? 'SUBACK' : 'UNSUBACK'} for packet ${packetId} within ${this.options.ackTimeout} ms`);
    }).arm(this.readingHeld ? 0 : this.options.ackTimeout);
    (this.requests = own(this.requests)).set(packetId, { kind, count, done });
    this.send(build(packetId));
    return done.promise;
  }

  private newFlow(packet: PublishPacket, seq: number): OutgoingFlow {
    // Its timeout is the DeadlineQueue's, so the Deadline itself is never armed.
    return { seq, packet, awaiting: 'queued', done: new Deadline<PublishResult | undefined>(this.timers), due: undefined, prevDue: undefined, nextDue: undefined };
  }

  /** Starts a full ackTimeout for the acknowledgement `flow` awaits next (none while reading is held: see holdReading()). */
  private armAck(flow: OutgoingFlow): void {
    if (!this.readingHeld && !flow.done.settled) this.ackDeadlines.arm(flow);
  }

  private record(flow: OutgoingFlow): OutgoingRecord {
    const p = flow.packet;
    const record: OutgoingRecord = { seq: flow.seq, topic: p.topic, payload: p.payload, qos: p.qos, retain: p.retain };
    if (p.packetId !== undefined) record.packetId = p.packetId;
    if (flow.awaiting === 'pubcomp') record.released = true;
    if (p.properties) record.properties = p.properties;
    if (flow.expiresAt !== undefined) record.expiresAt = flow.expiresAt;
    return record;
  }

  private ackTimeoutError(flow: OutgoingFlow): MqttError {
    const next = flow.awaiting === 'queued' ? 'a slot' : flow.awaiting.toUpperCase();
    return new TimeoutError(`no ${next} for QoS ${flow.packet.qos} publish to ${quote(flow.packet.topic)} within ${this.options.ackTimeout} ms`);
  }

  private send(packet: Packet): void {
    if (this.current === 'disconnected') return;
    // The packet keeps its full topic and no alias (a re-send on the next connection needs them); the
    // alias goes beside it, and only the encoder applies it.
    this.host.write(packet, this.outAliases !== undefined && packet.type === 'publish' ? this.outAliases.apply(packet) : 0);
    this.keepalive.packetSent();
  }

  private isIdle(): boolean {
    return this.queue.length === 0 && this.inflight.size === 0;
  }

  private notifyIdle(): void {
    if (this.drainWaiters.length === 0 || !(this.isIdle() || this.current === 'closed')) return;
    const waiters = this.drainWaiters;
    this.drainWaiters = EMPTY_ARRAY;
    for (const w of waiters) w();
  }
}

const MAX_PACKET = 268_435_460;

/**
 * A DISCONNECT that fits the server's Maximum Packet Size: its Reason String or its User Properties, or
 * both, are left out when they would make it too large (MQTT-3.14.2-3, MQTT-3.14.2-4), keeping as much as
 * fits. The reason code and the Session Expiry Interval always go: they matter to the server.
 */
function withinMaximum(packet: DisconnectPacket, max: number): DisconnectPacket {
  const without = (...names: ('reasonString' | 'userProperties')[]): DisconnectPacket => {
    const properties = { ...packet.properties };
    for (const name of names) delete properties[name];
    return { ...packet, properties };
  };
  const candidates = [packet, without('reasonString'), without('userProperties')];
  return candidates.find((p) => packetSize(p) <= max) ?? without('reasonString', 'userProperties');
}

/** A level-5 packet's size on the wire, fixed header included (`topicAlias`: see encodeFromClient). */
function packetSize(packet: Packet, topicAlias = 0): number {
  const remaining = measureFromClient(packet, true, topicAlias);
  return headerLength(remaining) + remaining;
}

/**
 * The limits in force: at 3.1.1 (`connack` undefined) our own options and what the spec fixes; at MQTT 5
 * the CONNACK's properties lower them (an absent property is the spec's default, section 3.2.2.3).
 */
function limitsFrom(options: SessionOptions, connack: ConnackPacket['properties']): Limits {
  const p = connack ?? {};
  const receiveMaximum = p.receiveMaximum ?? 65535;
  const limits: Limits = {
    inflight: Math.min(options.inflightWindow, receiveMaximum),
    maxPacketSize: Math.min(options.maxPacketSize, p.maximumPacketSize ?? MAX_PACKET),
    // MQTT-3.2.2-21 of 5.0: the client uses the Server Keep Alive instead of its own.
    keepalive: p.serverKeepAlive ?? options.keepalive,
    receiveMaximum,
    maximumQoS: p.maximumQoS ?? 2,
    retainAvailable: p.retainAvailable ?? true,
    topicAliasMaximum: p.topicAliasMaximum ?? 0,
    wildcardSubscriptionAvailable: p.wildcardSubscriptionAvailable ?? true,
    subscriptionIdentifiersAvailable: p.subscriptionIdentifiersAvailable ?? connack !== undefined,
    sharedSubscriptionAvailable: p.sharedSubscriptionAvailable ?? connack !== undefined,
  };
  if (p.assignedClientIdentifier !== undefined) limits.assignedClientIdentifier = p.assignedClientIdentifier;
  return limits;
}

/**
 * `packets` (in the order they were written on one connection) with that connection's topic aliases
 * taken out. An alias with an empty topic means the topic it held at that point of the batch: the last
 * one given to it earlier in the batch, or else the one it held before the batch, which `aliases`
 * still has unless the batch gave the alias a new topic later (then the packet is dropped: `lost`).
 */
function unaliased(packets: PublishPacket[], aliases: OutgoingAliases): { packets: PublishPacket[]; lost: boolean } {
  const inBatch = new Map<number, string>();
  const remappedAt = new Map<number, number>();
  packets.forEach((p, i) => {
    const alias = p.properties?.topicAlias;
    if (alias !== undefined && p.topic !== '' && !remappedAt.has(alias)) remappedAt.set(alias, i);
  });
  const out: PublishPacket[] = [];
  let lost = false;
  packets.forEach((p, i) => {
    const props = p.properties;
    const alias = props?.topicAlias;
    if (props === undefined || alias === undefined) return out.push(p);
    let topic = p.topic;
    if (topic !== '') inBatch.set(alias, topic);
    else {
      const first = remappedAt.get(alias);
      topic = inBatch.get(alias) ?? (first === undefined || first < i ? aliases.topicOf(alias) : undefined) ?? '';
    }
    if (topic === '') return (lost = true);
    const { topicAlias: _, ...rest } = props;
    const packet: PublishPacket = { ...p, topic };
    if (Object.keys(rest).length > 0) packet.properties = rest;
    else delete packet.properties;
    return out.push(packet);
  });
  return { packets: out, lost };
}
