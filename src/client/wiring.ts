import type { ConnackPacket, Packet, PublishPacket } from '../codec/packets.js';
import { ConnectionClosedError, type MqttError } from '../errors.js';
import type { SessionHost } from '../session/session.js';
import type { ReadControl, Router } from './router.js';
import type { Subscriptions } from './subscriptions.js';
import type { Supervisor } from './supervisor.js';

/**
 * How the parts made first reach those made after them: the session's host (the supervisor's
 * connection, the router), the router's read control and the supervisor's re-subscription. The
 * client assigns the three fields once all parts exist, before anything can call. One object with
 * methods per client rather than a closure per callback, at about 60 bytes each.
 */
export class Wiring implements SessionHost, ReadControl {
  supervisor!: Supervisor;
  router!: Router;
  subscriptions!: Subscriptions;

  write(packet: Packet, topicAlias?: number): void {
    this.supervisor.connection?.writer?.write(packet, topicAlias);
  }

  whenWritten(): Promise<void> {
    return this.supervisor.connection?.writer?.whenWritten() ?? Promise.reject(new ConnectionClosedError('not connected'));
  }

  deliver(packet: PublishPacket): void {
    this.router.route(packet);
  }

  fail(err: MqttError): void {
    this.supervisor.lost(err);
  }

  connected(connack: ConnackPacket): void {
    this.supervisor.connected(connack);
  }

  pause(): void {
    this.supervisor.pause();
  }

  resume(): void {
    this.supervisor.resume();
  }

  resubscribe(connack: ConnackPacket): void {
    this.subscriptions.resubscribe(connack);
  }
}
