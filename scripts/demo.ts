/**
 * The README's first command: publish and subscribe at QoS 0, 1 and 2 and print what arrives.
 * With no --url it starts an embedded aedes broker in this process, so it needs no setup.
 *   npm run demo                      # embedded broker
 *   npm run demo -- --url mqtt://127.0.0.1:1883
 */
import { connect } from '../src/index.js';
import { startEmbeddedBroker } from '../src/cli/embedded-broker.js';

const urlArg = process.argv.indexOf('--url');
const embedded = urlArg < 0 ? await startEmbeddedBroker() : undefined;
const url = urlArg >= 0 ? process.argv[urlArg + 1] : embedded?.url;
if (!url) {
  console.error('usage: npm run demo -- [--url mqtt://host:port]');
  process.exit(2);
}
console.log(embedded ? `broker: embedded aedes at ${url}` : `broker: ${url}`);

try {
  await using client = await connect(url, { clientId: `mqttwire-demo-${process.pid}` });
  console.log(`connected as ${client.clientId}`);

  const sub = await client.subscribe('demo/#', { qos: 2 });
  console.log(`subscribed to demo/# (granted QoS ${sub.granted.join(',')})`);

  const received = (async () => {
    let n = 0;
    for await (const msg of sub) {
      console.log(`  received ${msg.topic} qos=${msg.qos}: ${msg.text()}`);
      if (++n === 3) break; // leaving the loop unsubscribes
    }
  })();

  for (const qos of [0, 1, 2] as const) {
    await client.publish(`demo/qos${qos}`, `hello at QoS ${qos}`, { qos });
    console.log(`published demo/qos${qos} (QoS ${qos} ${qos === 0 ? 'written' : qos === 1 ? 'PUBACK' : 'PUBCOMP'})`);
  }
  await received;
  console.log('done: 3 sent, 3 received');
} catch (err) {
  console.error(`demo failed: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await embedded?.close();
}
