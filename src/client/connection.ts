import { FrameDecoder } from '../codec/decoder.js';
import { parseFromServer } from '../codec/parse.js';
import type { Packet } from '../codec/packets.js';
import { AuthenticationError, ConnectionClosedError, MqttError, MqttProtocolError } from '../errors.js';
import { describePacket, type Logger } from '../logger.js';
import type { Transport, TransportHandlers } from '../transport/transport.js';
import { PacketWriter, type QoS0Requeue } from '../writer.js';
import { LazyOutcome } from './lazy-outcome.js';

export interface ConnectionSettings {
  /** The largest packet we accept from the broker (checked from the fixed header). */
  maxPacketSize: number;
  protocolLevel: 3 | 4 | 5;
  log: Logger | undefined;
  /** Its flush() runs right before bytes go to the transport (the store makes its changes durable). */
  store: { flush(): void };
  /**
   * Takes QoS 0 PUBLISHes this connection never handed to its transport (it broke first) for the
   * next one (the session, with `queueQoS0`); see PacketWriter. Absent: they fail with the connection.
   */
  requeueQos0?: QoS0Requeue;
}

/** Where a connection's packets go (the session): each decoded packet, in order; a throw is a protocol error that breaks the connection. */
export interface PacketReceiver {
  receive(packet: Packet): void;
}

/** Who a connection answers to (the supervisor). */
export interface ConnectionOwner {
  /** The connection broke (transport closed or failed, bad bytes, a protocol error). Not called after drop(). */
  lost(err: MqttError, connection: Connection): void;
}

/**
 * One connection's parts: the transport, its decoder and its write batcher. A new connection is a
 * new object: events of a transport that was dropped land on its own (dropped) Connection and are
 * ignored, never on the next one.
 */
export class Connection {
  /** The callbacks to give the transport when opening it. */
  readonly handlers: TransportHandlers;
  /** Resolves when the transport is closed (or was never opened); made when someone asks (end() does). */
  private readonly closing = new LazyOutcome();
  bytesIn = 0;
  /** The packet writer, once the transport is open. */
  writer: PacketWriter | undefined;
  private transport: Transport | undefined;
  private readonly decoder: FrameDecoder;
  private paused = false;
  private dropped = false;
  /** Whether a whole packet has arrived: until then, what arrives must be a CONNACK (MQTT-3.2.0-1). */
  private answered = false;
  /** The server's first bytes, kept until its first packet is understood, to say what it sent instead. */
  private firstBytes: Uint8Array | undefined;

  /** `server` names the other end in errors (host:port, never credentials). */
  constructor(
    private readonly settings: ConnectionSettings,
    private readonly receiver: PacketReceiver,
    private readonly owner: ConnectionOwner,
    private readonly server: string,
  ) {
    this.decoder = new FrameDecoder({ maxPacketSize: settings.maxPacketSize, protocolLevel: settings.protocolLevel }, parseFromServer);
    this.handlers = {
      onData: (chunk) => this.onData(chunk),
      onDrain: () => this.writer?.onDrain(),
      onClose: (err) => this.onClose(err),
    };
  }

  /** Resolves when the transport is closed (or was never opened). */
  get closed(): Promise<void> {
    return this.closing.promise;
  }

  /** Bytes handed to the transport so far. */
  get bytesOut(): number {
    return this.writer?.bytesOut ?? 0;
  }

  /** The transport opened for this connection; one opened after drop() is closed at once. */
  attach(transport: Transport): void {
    if (this.dropped) {
      transport.destroy();
      return;
    }
    this.transport = transport;
    const log = this.settings.log;
    this.writer = new PacketWriter(transport, log ? (p) => log(`> ${describePacket(p)}`) : undefined, this.settings.store, this.settings.protocolLevel, this.settings.requeueQos0);
  }

  /** Stop reading (a subscription is full): TCP pushes back on the broker instead of us buffering. */
  pause(): void {
    if (this.paused || !this.transport) return;
    this.paused = true;
    this.transport.pause();
  }

  resume(): void {
    if (!this.paused || !this.transport) return;
    this.paused = false;
    this.transport.resume();
  }

  /** Closes gracefully once what is written so far has gone out (after DISCONNECT). */
  end(): void {
    this.writer?.flush();
    this.transport?.end();
  }

  /** Closes at once; pending writes fail with `err`. Idempotent. */
  drop(err: Error): void {
    if (this.dropped) return;
    this.dropped = true;
    if (this.settings.protocolLevel === 5) {
      // A mechanism that does not trust the broker says no more than 0x80 Unspecified error: 0x87 Not
      // authorized is the server's code (Table 3-10), and an impostor learns nothing from us.
      const code = err instanceof MqttProtocolError ? err.reasonCode : err instanceof AuthenticationError ? 0x80 : undefined;
      if (code !== undefined) this.sayWhy(code);
    }
    this.writer?.fail(err);
    this.transport?.destroy();
    this.closing.end();
  }

  /**
   * MQTT 5: before closing for a broker's protocol error, tell it why with a DISCONNECT carrying the
   * reason code (MQTT-4.13.1-1 of 5.0: 0x81 malformed, 0x82 protocol error, 0x93 Receive Maximum
   * exceeded, 0x94 bad topic alias, 0x95 packet too large). The write goes to the socket before it is
   * destroyed (a small write on an open socket is handed to the kernel at once).
   */
  private sayWhy(reasonCode: number): void {
    const writer = this.writer;
    if (!writer) return;
    try {
      writer.write({ type: 'disconnect', reasonCode });
      writer.flush();
    } catch {
      // The connection is going anyway; the DISCONNECT was a courtesy.
    }
  }

  private onData(chunk: Uint8Array): void {
    if (this.dropped) return;
    this.bytesIn += chunk.length;
    if (!this.answered) this.keepFirstBytes(chunk);
    try {
      const packets = this.decoder.push(chunk);
      for (const p of packets) {
        this.settings.log?.(`< ${describePacket(p)}`);
        this.receiver.receive(p);
        this.answered = true;
        if (this.dropped) return;
      }
      // Understood: the bytes kept to explain a server that is not one are not needed any more.
      if (this.answered) this.firstBytes = undefined;
    } catch (err) {
      if (this.dropped) return;
      const error = err instanceof MqttError ? err : new MqttProtocolError('DECODER_FAILED', String(err));
      this.owner.lost(this.answered ? error : this.notAConnack(error), this);
    }
  }

  private keepFirstBytes(chunk: Uint8Array): void {
    const kept = this.firstBytes ?? NO_BYTES;
    if (kept.length >= FIRST_BYTES) return;
    const more = new Uint8Array(Math.min(FIRST_BYTES, kept.length + chunk.length));
    more.set(kept);
    more.set(chunk.subarray(0, more.length - kept.length), kept.length);
    this.firstBytes = more;
  }

  /**
   * The server's first bytes were not understood. If they do not even start a CONNACK, it is most
   * likely not an MQTT server at all (an HTTP server, a TLS port): say what it sent, which a
   * protocol error about some other packet's flags would only hide.
   */
  private notAConnack(error: MqttError): MqttError {
    const first = this.firstBytes;
    if (!first) return error;
    const type = first[0]! >> 4;
    // A CONNACK, if a malformed one (or at MQTT 5 an AUTH, which may come first): its own error says more.
    if (type === 2 || (type === 15 && this.settings.protocolLevel === 5)) return error;
    return new MqttProtocolError('UNEXPECTED_PACKET', `the server at ${this.server} did not answer with an MQTT CONNACK; it sent ${showBytes(first)}`, 'MQTT-3.2.0-1');
  }

  private onClose(err: Error | undefined): void {
    this.closing.end();
    if (this.dropped) return;
    // A TLS failure before CONNACK keeps its TLS_ERROR (permanent: no retrying): with TLS 1.3 the
    // broker refuses a missing or bad client certificate only after the client's handshake is done.
    if (!this.answered && err instanceof MqttError && err.code === 'TLS_ERROR') return this.owner.lost(err, this);
    this.owner.lost(new ConnectionClosedError(err ? `connection lost: ${err.message}` : 'the broker closed the connection', { cause: err }), this);
  }
}

/** How many of the server's first bytes an error quotes, at most. */
const FIRST_BYTES = 64;
const NO_BYTES = new Uint8Array(0);

/** Printable ASCII as text (its first line, quoted), anything else as hex. */
function showBytes(bytes: Uint8Array): string {
  const printable = bytes.every((b) => (b >= 0x20 && b < 0x7f) || b === 0x0d || b === 0x0a || b === 0x09);
  if (printable) {
    const text = String.fromCharCode(...bytes);
    const line = text.split(/\r?\n/, 1)[0] as string;
    return JSON.stringify(line.length < text.length || bytes.length < FIRST_BYTES ? line : `${line}...`);
  }
  const hex = Array.from(bytes.subarray(0, 16), (b) => b.toString(16).padStart(2, '0')).join(' ');
  return `the bytes ${hex}${bytes.length > 16 ? ' ...' : ''}`;
}
