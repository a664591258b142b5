import type { Timers } from './timers.js';

/**
 * Keepalive without a pump (MQTT-3.1.2-23): when the client has sent nothing for `intervalMs`
 * it sends PINGREQ, and a PINGRESP that does not come within `pingTimeoutMs` means the
 * connection is dead. One timer at a time; sending a packet only records the time, so the
 * publish path never touches a timer.
 */
export class Keepalive {
  /** When the last packet went out; CONNECT counts, so the first PINGREQ is due K after CONNECT (MQTT-3.1.2-23). */
  private lastSent: number | undefined;
  private checkTimer: unknown;
  private pongTimer: unknown;
  private pingSentAt = -1;
  private running = false;
  /** Round trip of the last PINGREQ/PINGRESP in ms, or undefined before the first. */
  lastRoundTrip: number | undefined;

  constructor(
    private readonly timers: Timers,
    private readonly intervalMs: number,
    private readonly pingTimeoutMs: number,
    private readonly sendPing: () => void,
    private readonly onDead: () => void,
  ) {}

  start(): void {
    if (this.intervalMs <= 0 || this.running) return;
    this.running = true;
    const now = this.timers.now();
    this.lastSent ??= now;
    this.schedule(Math.max(0, this.intervalMs - (now - this.lastSent)));
  }

  stop(): void {
    this.running = false;
    this.timers.clearTimeout(this.checkTimer);
    this.timers.clearTimeout(this.pongTimer);
    this.checkTimer = this.pongTimer = undefined;
    this.pingSentAt = -1;
    this.lastSent = undefined;
  }

  /** Called for every packet written: it resets the idle clock. */
  packetSent(): void {
    this.lastSent = this.timers.now();
  }

  pingResponse(): void {
    if (this.pingSentAt < 0) return;
    this.lastRoundTrip = this.timers.now() - this.pingSentAt;
    this.pingSentAt = -1;
    this.timers.clearTimeout(this.pongTimer);
    this.pongTimer = undefined;
  }

  private schedule(ms: number): void {
    this.checkTimer = this.timers.setTimeout(() => this.check(), ms);
  }

  private check(): void {
    if (!this.running) return;
    const idle = this.timers.now() - (this.lastSent ?? 0);
    if (idle < this.intervalMs) {
      this.schedule(this.intervalMs - idle);
      return;
    }
    if (this.pingSentAt < 0) {
      this.pingSentAt = this.timers.now();
      this.pongTimer = this.timers.setTimeout(() => {
        if (this.running) this.onDead();
      }, this.pingTimeoutMs);
      this.sendPing();
    }
    this.schedule(this.intervalMs);
  }
}
