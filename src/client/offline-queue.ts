import type { QoS } from '../codec/packets.js';
import { QueueFullError } from '../errors.js';
import type { Counters } from './stats.js';

/** The client's resolved options are these settings (no copy of them per client). */
export interface OfflineQueueSettings {
  /** The most publishes queued while not connected. */
  offlineQueueLimit: number;
  /** Queue QoS 0 while not connected (true) or drop it, counted (false). */
  queueQoS0: boolean;
}

/**
 * The offline-queue policy: what publish() does while the client is not connected. The queue
 * itself is the session's (in order, with the store behind it); this decides what may enter it.
 * While connected the in-flight window is the backpressure (the promise waits its turn); offline
 * nothing drains the queue, so it is bounded.
 *
 * Returns true when the publish joins the queue, false when it is dropped (QoS 0 with queueQoS0
 * off, counted in offlineDropped); throws QueueFullError at the bound.
 */
export function admitOffline(qos: QoS, queued: number, settings: OfflineQueueSettings, counters: Counters): boolean {
  if (qos === 0 && !settings.queueQoS0) {
    counters.offlineDropped++;
    return false;
  }
  if (queued >= settings.offlineQueueLimit) {
    throw new QueueFullError(`the offline queue holds ${settings.offlineQueueLimit} messages (offlineQueueLimit); publish refused`);
  }
  return true;
}
