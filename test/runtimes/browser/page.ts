/**
 * Runs in headless Chromium (test/runtimes/browser.test.ts bundles it with esbuild, platform
 * browser, conditions browser): the web entry over the page's own WebSocket to a real broker.
 * Reports on `window.__result` and on the console (one `MQTTWIRE_RESULT {json}` line).
 */
import { connect, MqttClient, type MqttError } from '../../../src/index.web.js';

export interface BrowserResult {
  ok: boolean;
  error?: string;
  /** code and message of `mqtt://` refused by the web entry. */
  schemeError?: string;
  clientId?: string;
  topic?: string;
  text?: string;
  qos?: number;
  granted?: number[];
  closed?: boolean;
  hasProcess?: boolean;
  hasBuffer?: boolean;
}

declare global {
  interface Window {
    __result?: BrowserResult;
  }
}

function timeout<T>(ms: number, what: string): Promise<T> {
  return new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms));
}

async function main(): Promise<BrowserResult> {
  const params = new URLSearchParams(location.search);
  const broker = params.get('broker');
  const topic = params.get('topic');
  const clientId = params.get('clientId') ?? undefined;
  if (!broker || !topic) throw new Error('the page needs ?broker=ws://...&topic=...');

  let schemeError = '';
  try {
    await new MqttClient('mqtt://127.0.0.1:1', { reconnect: false }).connect();
  } catch (err) {
    schemeError = `${(err as MqttError).code}: ${(err as Error).message}`;
  }

  const client = await connect(broker, { clientId, reconnect: false, connectTimeout: 5_000, ackTimeout: 5_000, keepalive: 10 });
  try {
    const sub = await client.subscribe(topic, { qos: 1 });
    const text = 'héllo from chromium ✓';
    await client.publish(topic, text, { qos: 1 });
    const received = await Promise.race([
      (async () => {
        for await (const msg of sub) return { topic: msg.topic, text: msg.text(), qos: msg.qos };
        throw new Error('the subscription ended without a message');
      })(),
      timeout<never>(5_000, 'waiting for the message'),
    ]);
    await client.end();
    await Promise.race([client.closed, timeout<never>(5_000, 'client.closed')]);
    return {
      ok: true,
      schemeError,
      clientId: client.clientId,
      ...received,
      granted: [...sub.granted],
      closed: client.state === 'closed',
      hasProcess: typeof (globalThis as { process?: unknown }).process !== 'undefined',
      hasBuffer: typeof (globalThis as { Buffer?: unknown }).Buffer !== 'undefined',
    };
  } catch (err) {
    client.destroy();
    throw err;
  }
}

main().then(
  (result) => {
    window.__result = result;
    console.log('MQTTWIRE_RESULT ' + JSON.stringify(result));
  },
  (err: unknown) => {
    const result: BrowserResult = { ok: false, error: err instanceof Error ? `${err.name}: ${err.message}\n${err.stack ?? ''}` : String(err) };
    window.__result = result;
    console.log('MQTTWIRE_RESULT ' + JSON.stringify(result));
  },
);
