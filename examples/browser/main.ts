/**
 * Subscribes over wss:// (or ws://) from a web page and prints every message that arrives.
 *
 *   npx esbuild examples/browser/main.ts --bundle --format=esm --outfile=examples/browser/dist/main.js
 *   npx http-server examples/browser     (or any static server), then open the page
 *
 * `?url=wss://...&filter=a/%23` in the page's address fills in the form and connects at once.
 * In an application, import from the package: `import { connect } from 'mqttwire'` — bundlers pick
 * the browser entry (WebSocket only, no Node built-ins) through the package's `browser` export
 * condition. This example imports that entry's source so it bundles without a build.
 */
import { connect, type MqttClient, type Subscription } from '../../src/index.web.js';

const form = document.querySelector<HTMLFormElement>('#form')!;
const urlInput = document.querySelector<HTMLInputElement>('#url')!;
const filterInput = document.querySelector<HTMLInputElement>('#filter')!;
const toggle = document.querySelector<HTMLButtonElement>('#toggle')!;
const statusLine = document.querySelector<HTMLElement>('#status')!;
const list = document.querySelector<HTMLOListElement>('#messages')!;

let client: MqttClient | undefined;

function print(text: string): void {
  const item = document.createElement('li');
  item.textContent = text; // text, never HTML: payloads come from anyone who can publish
  list.prepend(item);
  while (list.children.length > 500) list.lastElementChild?.remove();
}

async function start(url: string, filter: string): Promise<void> {
  toggle.textContent = 'Disconnect';
  statusLine.textContent = `connecting to ${url}`;
  const c = await connect(url, { keepalive: 30, reconnect: { initialDelay: 1_000, maxDelay: 15_000 } });
  client = c;
  statusLine.textContent = `connected to ${url}`;
  void (async () => {
    for await (const event of c.status()) statusLine.textContent = event.type;
  })();
  const sub: Subscription = await c.subscribe(filter, { qos: 1 });
  print(`subscribed to ${filter} (granted QoS ${sub.granted.join(', ')})`);
  for await (const msg of sub) {
    print(`${new Date().toLocaleTimeString()}  ${msg.topic}  [QoS ${msg.qos}${msg.retain ? ', retained' : ''}]  ${msg.text()}`);
  }
}

async function stop(): Promise<void> {
  const c = client;
  client = undefined;
  toggle.textContent = 'Connect';
  await c?.end();
  statusLine.textContent = 'disconnected';
}

form.addEventListener('submit', (event) => {
  event.preventDefault();
  if (client) {
    void stop();
    return;
  }
  start(urlInput.value.trim(), filterInput.value.trim()).catch((err: unknown) => {
    print(`error: ${err instanceof Error ? err.message : String(err)}`);
    void stop();
  });
});

const params = new URLSearchParams(location.search);
const fromQuery = params.get('url');
if (fromQuery) {
  urlInput.value = fromQuery;
  filterInput.value = params.get('filter') ?? filterInput.value;
  form.requestSubmit();
}
