/**
 * MQTT 5 enhanced authentication (section 4.12) for the session: the Authentication Method and Data of
 * CONNECT, the AUTH 0x18 challenges before CONNACK, the verification of CONNACK's data, and
 * re-authentication (AUTH 0x19) on a live connection. No I/O: packets go out through the host; the
 * mechanism's answers are promises, and an answer that comes after its connection is gone is dropped.
 */
import type { AuthPacket, AuthProperties, ConnackPacket } from '../codec/packets.js';
import { AuthenticationError, MqttError, MqttProtocolError } from '../errors.js';

/**
 * An enhanced-authentication mechanism, the client's `auth` option. `scramSha256()` from
 * `mqttwire/scram` returns one; any object of this shape works (docs/auth.md).
 */
export interface Authenticator {
  /** The Authentication Method of CONNECT and of every AUTH (e.g. `'SCRAM-SHA-256'`). */
  readonly method: string;
  /** CONNECT's Authentication Data, read once per CONNECT when there is no `start()`, if the method has any. */
  readonly data?: Uint8Array;
  /** Answers the broker's challenge (the Authentication Data of its AUTH 0x18) with the data of our AUTH 0x18. */
  onChallenge(serverData: Uint8Array): Promise<Uint8Array>;
  /**
   * The broker says the exchange succeeded (CONNACK 0x00, or AUTH 0x00 after re-authentication), with
   * this Authentication Data: resolve if the broker has proven itself, reject (the connection closes) if not.
   */
  verifyFinal?(serverData: Uint8Array | undefined): Promise<void>;
  /** Begins a fresh exchange and returns its first data: for each CONNECT and for `reauthenticate()`'s AUTH 0x19 (without it, `data` is read). */
  start?(): Uint8Array;
}

/** What the exchange needs from the session. */
export interface AuthHost {
  /** Writes an AUTH packet on the current connection. */
  send(packet: AuthPacket): void;
  /** The connection must close with this error (the session's host.fail). */
  fail(err: MqttError): void;
}

const EMPTY = new Uint8Array(0);
/** Reason codes of AUTH (Table 3-13). */
const SUCCESS = 0x00;
const CONTINUE = 0x18;
const REAUTHENTICATE = 0x19;

/** One client's enhanced authentication, across its connections (a new exchange on each). */
export class AuthExchange {
  /** Bumped on every new connection: answers for an older one are dropped. */
  private generation = 0;
  /** The re-authentication under way (AUTH 0x19 sent, AUTH 0x00 awaited). */
  private reauth: { resolve(): void; reject(err: unknown): void } | undefined;

  constructor(
    private readonly auth: Authenticator,
    private readonly host: AuthHost,
  ) {}

  /** Whether a re-authentication is under way. */
  get reauthenticating(): boolean {
    return this.reauth !== undefined;
  }

  /**
   * A new connection: CONNECT's Authentication Method and Data, from a new exchange: `start()` where the
   * mechanism has it (so no nonce of an exchange a lost connection cut short is sent again), else `data`.
   */
  connectProperties(): AuthProperties {
    this.generation++;
    const data = this.auth.start ? this.auth.start() : this.auth.data;
    return data === undefined ? { authenticationMethod: this.auth.method } : { authenticationMethod: this.auth.method, authenticationData: data };
  }

  /** The connection is gone: a re-authentication under way fails with `err`, late answers are dropped. */
  reset(err: unknown): void {
    this.generation++;
    const reauth = this.reauth;
    this.reauth = undefined;
    reauth?.reject(err);
  }

  /**
   * An AUTH from the broker. `connected`: after CONNACK. Throws MqttProtocolError for one the spec does
   * not allow here (the connection then closes with DISCONNECT carrying its reason code).
   */
  onAuth(packet: AuthPacket, connected: boolean): void {
    const method = packet.properties?.authenticationMethod;
    if (method !== this.auth.method) {
      throw new MqttProtocolError('UNEXPECTED_PACKET', `the broker sent AUTH with Authentication Method ${JSON.stringify(method ?? null)}; CONNECT named ${JSON.stringify(this.auth.method)}`, 'MQTT-4.12.0-5');
    }
    const data = packet.properties?.authenticationData;
    if (packet.reasonCode === CONTINUE && (!connected || this.reauth)) {
      this.answer(this.auth.onChallenge(data ?? EMPTY), (reply) => this.host.send({ type: 'auth', reasonCode: CONTINUE, properties: { authenticationMethod: this.auth.method, authenticationData: reply } }));
      return;
    }
    if (packet.reasonCode === SUCCESS && connected && this.reauth) {
      const reauth = this.reauth;
      this.answer(this.verify(data), () => {
        this.reauth = undefined;
        reauth.resolve();
      });
      return;
    }
    const when = connected ? (this.reauth ? 'during re-authentication' : 'with no re-authentication under way') : 'before CONNACK';
    throw new MqttProtocolError('UNEXPECTED_PACKET', `the broker sent AUTH with reason code 0x${packet.reasonCode.toString(16).padStart(2, '0')} ${when}`, connected ? undefined : 'MQTT-4.12.0-2');
  }

  /**
   * CONNACK 0x00: checks its Authentication Method (MQTT-4.12.0-5), then verifies its data; `accept`
   * runs once the mechanism is satisfied (at once for a mechanism without verifyFinal).
   */
  onConnack(packet: ConnackPacket, accept: () => void): void {
    const method = packet.properties?.authenticationMethod;
    if (method !== this.auth.method) {
      throw new MqttProtocolError('UNEXPECTED_PACKET', `the broker's CONNACK has Authentication Method ${JSON.stringify(method ?? null)}; CONNECT named ${JSON.stringify(this.auth.method)}`, 'MQTT-4.12.0-5');
    }
    if (!this.auth.verifyFinal) return accept();
    this.answer(this.verify(packet.properties?.authenticationData), accept);
  }

  /** Sends AUTH 0x19 with a fresh exchange's data; settles with the broker's AUTH 0x00 (or the failure). */
  reauthenticate(): Promise<void> {
    const auth = this.auth;
    const data = auth.start ? auth.start() : auth.data;
    const done = new Promise<void>((resolve, reject) => (this.reauth = { resolve, reject }));
    const properties: AuthProperties = data === undefined ? { authenticationMethod: auth.method } : { authenticationMethod: auth.method, authenticationData: data };
    this.host.send({ type: 'auth', reasonCode: REAUTHENTICATE, properties });
    return done;
  }

  private verify(data: Uint8Array | undefined): Promise<void> {
    return this.auth.verifyFinal ? this.auth.verifyFinal(data) : Promise.resolve();
  }

  /** Runs `then` with the mechanism's answer if its connection is still the current one; a failure closes it. */
  private answer<T>(work: Promise<T>, then: (value: T) => void): void {
    const generation = this.generation;
    work.then(
      (value) => {
        if (generation !== this.generation) return;
        try {
          then(value);
        } catch (err) {
          // E.g. an answer too large to encode: the exchange cannot go on, and nothing may be lost silently.
          this.host.fail(err instanceof MqttError ? err : new AuthenticationError('AUTHENTICATION_FAILED', `the ${this.auth.method} exchange failed: ${String(err)}`));
        }
      },
      (err: unknown) => {
        if (generation !== this.generation) return;
        this.host.fail(err instanceof MqttError ? err : new AuthenticationError('AUTHENTICATION_FAILED', `the ${this.auth.method} mechanism failed: ${String(err)}`));
      },
    );
  }
}
