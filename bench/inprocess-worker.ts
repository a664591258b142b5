/**
 * One process of `bench/inprocess.ts`: a publisher whose broker is a function in the same process.
 *
 *   node --expose-gc bench/inprocess-worker.ts <mqttwire|mqttjs> <qos 1|2> <acks per read> <rounds>
 *
 * The broker answers what the client writes (CONNACK, PUBACK, PUBREC then PUBCOMP, PINGRESP) and hands
 * the answers back `acks per read` packets at a time, one read per turn of the event loop
 * (setImmediate), the way a broker's acknowledgements arrive a few per read. No socket, no system
 * call: what is measured is the library's own CPU per message. Each round fires every publish at once
 * (20,000 at QoS 1, 10,000 at QoS 2, 64-byte payloads) and waits for the last to complete; a full GC
 * runs between rounds. Prints one `result {json}` line: CPU µs per message of every round.
 */
import { Duplex } from 'node:stream';
import type { Transport, TransportHandlers } from '../src/index.js';
import { payloadText } from './e2e-shared.js';
import { loadMqttjs, loadMqttwire } from './worker-imports.js';

const TOPIC = 'bench/inprocess/q';

/** The fake broker: parses whole packets from the client's writes and queues the answers. */
class Answerer {
  private pending: Uint8Array[] = [];
  private scheduled = false;

  constructor(
    private readonly acksPerRead: number,
    private readonly deliver: (chunk: Uint8Array) => void,
  ) {}

  /** Bytes the client wrote and no whole packet yet (MQTT.js writes a packet in several pieces). */
  private partial: Uint8Array = new Uint8Array(0);

  /** The client wrote `bytes`: answers every whole packet, keeps the rest for the next write. */
  written(bytes: Uint8Array): void {
    const data = this.partial.length === 0 ? bytes : Buffer.concat([this.partial, bytes]);
    let i = 0;
    while (i < data.length) {
      const first = data[i] as number;
      let j = i + 1;
      let length = 0;
      let multiplier = 1;
      let byte = 128;
      while (byte & 128 && j < data.length) {
        byte = data[j++] as number;
        length += (byte & 127) * multiplier;
        multiplier *= 128;
      }
      if (byte & 128 || j + length > data.length) break;
      const type = first >> 4;
      if (type === 1) this.answer([0x20, 2, 0, 0]);
      else if (type === 3) {
        const qos = (first >> 1) & 3;
        const topicLength = ((data[j] as number) << 8) | (data[j + 1] as number);
        const id = [data[j + 2 + topicLength] as number, data[j + 3 + topicLength] as number];
        if (qos === 1) this.answer([0x40, 2, ...id]);
        else if (qos === 2) this.answer([0x50, 2, ...id]);
      } else if (type === 6) this.answer([0x70, 2, data[j] as number, data[j + 1] as number]);
      else if (type === 12) this.answer([0xd0, 0]);
      i = j + length;
    }
    this.partial = data.subarray(i);
  }

  private answer(bytes: number[]): void {
    this.pending.push(Uint8Array.from(bytes));
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.read());
    }
  }

  private read(): void {
    this.scheduled = false;
    const batch = this.pending.splice(0, this.acksPerRead);
    if (batch.length > 0) this.deliver(Buffer.concat(batch));
    if (this.pending.length > 0) {
      this.scheduled = true;
      setImmediate(() => this.read());
    }
  }
}

function payloads(count: number): Buffer[] {
  return Array.from({ length: count }, (_, i) => Buffer.from(payloadText(i), 'latin1'));
}

/** Runs `rounds` rounds of `publishAll` and returns the CPU µs per message of each. */
async function rounds(count: number, n: number, publishAll: () => Promise<void>): Promise<number[]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const out: number[] = [];
  for (let r = 0; r < n; r++) {
    gc?.();
    const cpu0 = process.cpuUsage();
    await publishAll();
    const cpu = process.cpuUsage(cpu0);
    out.push((cpu.user + cpu.system) / count);
  }
  return out;
}

async function mqttwire(qos: 1 | 2, acksPerRead: number, n: number): Promise<number[]> {
  const { connect } = await loadMqttwire();
  const transport = async (_url: URL, handlers: TransportHandlers): Promise<Transport> => {
    const broker = new Answerer(acksPerRead, (chunk) => handlers.onData(chunk));
    return {
      write: (data) => {
        broker.written(data);
        return true;
      },
      end: () => setImmediate(() => handlers.onClose()),
      destroy: () => handlers.onClose(),
      pause: () => {},
      resume: () => {},
    };
  };
  const client = await connect('mqtt://in-process', { transport, clientId: 'inprocess-mqttwire', keepalive: 0 });
  const count = qos === 1 ? 20_000 : 10_000;
  const data = payloads(count);
  let errors = 0;
  const result = await rounds(count, n, async () => {
    const pending = new Array<Promise<unknown>>(count);
    for (let i = 0; i < count; i++) pending[i] = client.publish(TOPIC, data[i] as Buffer, { qos }).catch(() => errors++);
    await Promise.all(pending);
  });
  await client.end();
  if (errors > 0) throw new Error(`${errors} publishes failed`);
  return result;
}

async function mqttjs(qos: 1 | 2, acksPerRead: number, n: number): Promise<number[]> {
  const mqtt = await loadMqttjs();
  const stream = (): Duplex => {
    const duplex: Duplex = new Duplex({
      read() {},
      write(chunk: Buffer, _encoding, done) {
        broker.written(chunk);
        done();
      },
    });
    const broker = new Answerer(acksPerRead, (chunk) => duplex.push(chunk));
    return duplex;
  };
  const client = new mqtt.MqttClient(stream, { clientId: 'inprocess-mqttjs', keepalive: 0, reconnectPeriod: 0, protocolVersion: 4 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const count = qos === 1 ? 20_000 : 10_000;
  const data = payloads(count);
  let errors = 0;
  // As bench/e2e-worker.ts fires MQTT.js: a callback on the last publish only (acks come in order).
  const result = await rounds(count, n, () => {
    const last = count - 1;
    return new Promise<void>((resolve) => {
      for (let i = 0; i < last; i++) client.publish(TOPIC, data[i] as Buffer, { qos });
      client.publish(TOPIC, data[last] as Buffer, { qos }, (err) => {
        if (err) errors++;
        resolve();
      });
    });
  });
  // Not endAsync(): this stream never emits the socket's close, so it would not resolve.
  client.end(true);
  if (errors > 0) throw new Error(`${errors} publishes failed`);
  return result;
}

async function main(argv: string[]): Promise<void> {
  const [lib, qosText, acksText, roundsText] = argv;
  const qos = Number(qosText);
  const acksPerRead = Number(acksText ?? 3);
  const n = Number(roundsText ?? 12);
  if ((lib !== 'mqttwire' && lib !== 'mqttjs') || (qos !== 1 && qos !== 2) || !(acksPerRead >= 1) || !(n >= 1)) {
    throw new Error('usage: inprocess-worker.ts <mqttwire|mqttjs> <1|2> [acks per read] [rounds]');
  }
  const usPerMessage = lib === 'mqttwire' ? await mqttwire(qos, acksPerRead, n) : await mqttjs(qos, acksPerRead, n);
  process.stdout.write(`result ${JSON.stringify({ lib, qos, usPerMessage })}\n`);
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`inprocess-worker: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
