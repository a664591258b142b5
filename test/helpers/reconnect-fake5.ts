/**
 * One scripted reconnect of a client on the fake broker, driven by its ManualTimers (the MQTT 5 suites
 * with `reconnect: { initialDelay: 10, maxDelay: 10 }`), and waiting for a status event.
 */
import type { MqttClient, StatusEvent } from '../../src/index.js';
import { within } from '../client/helpers.js';
import type { FakeBroker, FakeConnection } from './fake-broker.js';
import type { ManualTimers } from './manual-timers.js';

/** Resolves at the client's next status event of `type` (from now on), or fails after `ms`. */
export function nextStatus(c: MqttClient<5> | MqttClient, type: StatusEvent['type'], ms = 2000): Promise<void> {
  const events = c.status();
  const seen = (async () => {
    for await (const e of events) if (e.type === type) return;
    throw new Error(`the status stream ended before a ${type} event`);
  })();
  return within(seen, ms, `a ${type} event`).finally(() => void events.return?.());
}

/**
 * The broker side of `conn` closes; once the client says it is reconnecting, its clock passes the
 * backoff `delay` and the new connection is returned (its CONNECT not read yet).
 */
export async function dropAndReconnect(c: MqttClient<5>, conn: FakeConnection, timers: ManualTimers, fake: FakeBroker, delay = 10): Promise<FakeConnection> {
  const reconnecting = nextStatus(c, 'reconnecting');
  conn.destroy();
  await reconnecting;
  timers.advance(delay);
  return fake.nextConnection();
}
