import type { Timers } from './timers.js';

/** Who keeps the connection alive (the session): an object, not two closures per client. */
export interface KeepaliveHost {
  /** Time to send a PINGREQ. */
  sendPing(): void;
  /** No PINGRESP within the ping timeout: the connection is dead. */
  pingTimedOut(): void;
}

/**
 * Keepalive without a pump (MQTT-3.1.2-23): when the client has sent nothing for the interval
 * it sends PINGREQ, and a PINGRESP that does not come within `pingTimeoutMs` means the
 * connection is dead. One timer at a time; sending a packet only records the time, so the
 * publish path never touches a timer.
 *
 * While the client itself has stopped reading (`hold()`: a subscription is full), a missing
 * PINGRESP proves nothing: it may be sitting unread in our own socket buffer. Then no PINGRESP
 * deadline runs, but PINGREQs still go out at the interval (the broker must keep hearing from us,
 * MQTT-3.1.2-24), and `release()` gives the broker a fresh pingTimeout from the moment we read again.
 */
export class Keepalive {
  /** When the last packet went out; CONNECT counts, so the first PINGREQ is due K after CONNECT (MQTT-3.1.2-23). */
  private lastSent: number | undefined;
  private intervalMs = 0;
  private checkTimer: unknown;
  private pongTimer: unknown;
  /** PINGREQs written and not yet answered (a broker answers them in order). */
  private outstanding = 0;
  /** When the oldest unanswered PINGREQ went out, or -1 when its round trip is not worth recording. */
  private pingSentAt = -1;
  private running = false;
  private held = false;
  /** Round trip of the last PINGREQ/PINGRESP in ms, or undefined before the first. */
  lastRoundTrip: number | undefined;

  constructor(
    private readonly timers: Timers,
    private readonly pingTimeoutMs: number,
    private readonly host: KeepaliveHost,
  ) {}

  /** Starts with the interval in force on this connection (ms; 0 turns keepalive off). */
  start(intervalMs: number): void {
    if (intervalMs <= 0 || this.running) return;
    this.intervalMs = intervalMs;
    this.running = true;
    const now = this.timers.now();
    this.lastSent ??= now;
    this.schedule(Math.max(0, intervalMs - (now - this.lastSent)));
  }

  stop(): void {
    this.running = false;
    this.timers.clearTimeout(this.checkTimer);
    this.timers.clearTimeout(this.pongTimer);
    this.checkTimer = this.pongTimer = undefined;
    this.outstanding = 0;
    this.pingSentAt = -1;
    this.lastSent = undefined;
  }

  /** Called for every packet written: it resets the idle clock. */
  packetSent(): void {
    this.lastSent = this.timers.now();
  }

  pingResponse(): void {
    if (this.outstanding === 0) return;
    this.outstanding--;
    if (this.pingSentAt >= 0) this.lastRoundTrip = this.timers.now() - this.pingSentAt;
    this.pingSentAt = -1;
    if (this.outstanding > 0) return;
    this.timers.clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  /** We stopped reading: an unread PINGRESP is not a dead broker. */
  hold(): void {
    if (this.held) return;
    this.held = true;
    this.timers.clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
    // The answer will be read late: its round trip would measure our pause, not the network.
    this.pingSentAt = -1;
  }

  /** We read again: what is still unanswered gets a full pingTimeout from now. */
  release(): void {
    if (!this.held) return;
    this.held = false;
    if (this.running && this.outstanding > 0) this.armPong();
  }

  private schedule(ms: number): void {
    this.checkTimer = this.timers.setTimeout(() => this.check(), ms);
  }

  private armPong(): void {
    this.pongTimer = this.timers.setTimeout(() => {
      if (this.running) this.host.pingTimedOut();
    }, this.pingTimeoutMs);
  }

  private check(): void {
    if (!this.running) return;
    const idle = this.timers.now() - (this.lastSent ?? 0);
    if (idle < this.intervalMs) {
      this.schedule(this.intervalMs - idle);
      return;
    }
    // One PINGREQ at a time while reading; while held, one per interval so the broker keeps hearing from us.
    if (this.outstanding === 0 || this.held) {
      if (this.outstanding === 0 && !this.held) {
        this.pingSentAt = this.timers.now();
        this.armPong();
      }
      this.outstanding++;
      this.host.sendPing();
    }
    this.schedule(this.intervalMs);
  }
}
