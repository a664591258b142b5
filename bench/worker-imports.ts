/**
 * What the benches' worker processes load: mqttwire as it ships ($MQTTWIRE_BENCH_CLIENT, the file
 * URL of index.js compiled from src, see compile-client.ts) or src through tsx without it, and
 * MQTT.js ($MQTTWIRE_BENCH_MQTTJS, the URL its package resolves to, for workers compiled outside
 * the repository) or by name.
 */
type Mqttwire = typeof import('../src/index.js');
type NodeTcp = typeof import('../src/transport/node-tcp.js');
type MqttJs = typeof import('mqtt');

export async function loadMqttwire(): Promise<Mqttwire> {
  const compiled = process.env.MQTTWIRE_BENCH_CLIENT;
  return compiled ? ((await import(compiled)) as Mqttwire) : import('../src/index.js');
}

/** The Node TCP transport module (for its internal tcpTransport settings). */
export async function loadNodeTcp(): Promise<NodeTcp> {
  const compiled = process.env.MQTTWIRE_BENCH_CLIENT;
  return compiled ? ((await import(new URL('./transport/node-tcp.js', compiled).href)) as NodeTcp) : import('../src/transport/node-tcp.js');
}

export async function loadMqttjs(): Promise<MqttJs> {
  const url = process.env.MQTTWIRE_BENCH_MQTTJS;
  const mod = (url ? await import(url) : await import('mqtt')) as { default?: MqttJs };
  return mod.default ?? (mod as unknown as MqttJs);
}
