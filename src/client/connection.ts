import { FrameDecoder } from '../codec/decoder.js';
import { parseFromServer } from '../codec/parse.js';
import type { Packet } from '../codec/packets.js';
import { ConnectionClosedError, MqttError, MqttProtocolError } from '../errors.js';
import { describePacket, type Logger } from '../logger.js';
import type { Transport, TransportHandlers } from '../transport/transport.js';
import { PacketWriter } from '../writer.js';

export interface ConnectionSettings {
  /** The largest packet we accept from the broker (checked from the fixed header). */
  maxPacketSize: number;
  protocolLevel: 3 | 4;
  log: Logger | undefined;
  /** Runs right before bytes go to the transport (the store makes its changes durable). */
  beforeWrite: () => void;
}

/** Where a connection's packets go (the session): each decoded packet, in order; a throw is a protocol error that breaks the connection. */
export interface PacketReceiver {
  receive(packet: Packet): void;
}

/** The connection broke (transport closed or failed, bad bytes, a protocol error). Not called after drop(). */
export type OnLost = (err: MqttError, connection: Connection) => void;

/**
 * One connection's parts: the transport, its decoder and its write batcher. A new connection is a
 * new object: events of a transport that was dropped land on its own (dropped) Connection and are
 * ignored, never on the next one.
 */
export class Connection {
  /** The callbacks to give the transport when opening it. */
  readonly handlers: TransportHandlers;
  /** Resolves when the transport is closed (or was never opened). */
  readonly closed: Promise<void>;
  bytesIn = 0;
  /** The packet writer, once the transport is open. */
  writer: PacketWriter | undefined;
  private transport: Transport | undefined;
  private readonly decoder: FrameDecoder;
  private paused = false;
  private dropped = false;
  /** Whether a whole packet has arrived: until then, what arrives must be a CONNACK (MQTT-3.2.0-1). */
  private answered = false;
  private markClosed!: () => void;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly receiver: PacketReceiver,
    private readonly onLost: OnLost,
  ) {
    this.decoder = new FrameDecoder({ maxPacketSize: settings.maxPacketSize, protocolLevel: settings.protocolLevel }, parseFromServer);
    this.closed = new Promise<void>((resolve) => (this.markClosed = resolve));
    this.handlers = {
      onData: (chunk) => this.onData(chunk),
      onDrain: () => this.writer?.onDrain(),
      onClose: (err) => this.onClose(err),
    };
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
    this.writer = new PacketWriter(transport, log ? (p) => log(`> ${describePacket(p)}`) : undefined, this.settings.beforeWrite);
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
    this.writer?.fail(err);
    this.transport?.destroy();
    this.markClosed();
  }

  private onData(chunk: Uint8Array): void {
    if (this.dropped) return;
    this.bytesIn += chunk.length;
    try {
      const packets = this.decoder.push(chunk);
      for (const p of packets) {
        this.settings.log?.(`< ${describePacket(p)}`);
        this.receiver.receive(p);
        this.answered = true;
        if (this.dropped) return;
      }
    } catch (err) {
      if (this.dropped) return;
      this.onLost(err instanceof MqttError ? err : new MqttProtocolError('DECODER_FAILED', String(err)), this);
    }
  }

  private onClose(err: Error | undefined): void {
    this.markClosed();
    if (this.dropped) return;
    // A TLS failure before CONNACK keeps its TLS_ERROR (permanent: no retrying): with TLS 1.3 the
    // broker refuses a missing or bad client certificate only after the client's handshake is done.
    if (!this.answered && err instanceof MqttError && err.code === 'TLS_ERROR') return this.onLost(err, this);
    this.onLost(new ConnectionClosedError(err ? `connection lost: ${err.message}` : 'the broker closed the connection', { cause: err }), this);
  }
}
