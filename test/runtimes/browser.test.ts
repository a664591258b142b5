/**
 * The browser entry in headless Chromium against a real Mosquitto: a page served from 127.0.0.1
 * loads an esbuild bundle (platform browser, conditions browser; `mqttwire` resolved through
 * package.json exports to the built dist/esm/index.web.js) of test/runtimes/browser/page.ts, which connects over ws:// with the page's own WebSocket, subscribes
 * at QoS 1, publishes at QoS 1, receives the message and ends.
 *
 * The broker is Mosquitto's own WebSocket listeners (`protocol websockets`, `socket_domain ipv4`), at
 * path /mqtt: plain (ws://), TLS with the test server certificate (wss://), and TLS with a certificate
 * of a CA nobody trusts. Chromium trusts the test server's key through
 * --ignore-certificate-errors-spki-list (honoured with a user data dir, which every launch here
 * has): the browser's own trust store is not ours to fill, and any other certificate still fails
 * its checks. Chromium is Debian's package (.ci/install-chromium.sh), driven by
 * playwright-core, which downloads nothing; a fresh profile dir per run, removed afterwards.
 *
 * Without /usr/bin/chromium (or MQTTWIRE_CHROMIUM) the suite is skipped with a notice; with
 * MQTTWIRE_REQUIRE_CHROMIUM=1 (CI) it fails instead. Bounded: 30 s for the whole test.
 */
import { createHash, X509Certificate } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build, type Plugin } from 'esbuild';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/index.js';
import { describeMosquitto, startMosquitto, type MosquittoHandle } from '../helpers/mosquitto.js';
import { mosquittoTlsListener, testPki } from '../helpers/tls-pki.js';
import type { BrowserResult } from './browser/page.js';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '../..');
const CHROMIUM = process.env.MQTTWIRE_CHROMIUM ?? '/usr/bin/chromium';
const chromiumAvailable = fs.existsSync(CHROMIUM);
const chromiumRequired = process.env.MQTTWIRE_REQUIRE_CHROMIUM === '1';
const TEST_MS = 30_000;

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

if (!chromiumAvailable && !chromiumRequired) {
  process.stderr.write(`[mqttwire] ${CHROMIUM} not found: skipping the browser test (bash .ci/install-chromium.sh)\n`);
}

/**
 * Bundles a page the way an application's bundler would: page.ts (and the browser example) import
 * the web entry by its source path (so they typecheck before a build); the plugin sends that import to `mqttwire` as
 * resolved from a consumer dir (node_modules/mqttwire -> this repo) through package.json's
 * exports with the `browser` condition, i.e. the built dist/esm/index.web.js (global-setup.ts
 * builds dist when it is stale).
 */
async function bundlePage(entry = path.join(HERE, 'browser', 'page.ts')): Promise<string> {
  const consumer = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-browser-app-'));
  try {
    fs.mkdirSync(path.join(consumer, 'node_modules'));
    fs.symlinkSync(ROOT, path.join(consumer, 'node_modules', 'mqttwire'), 'dir');
    const viaPackage: Plugin = {
      name: 'mqttwire-as-a-package',
      setup(b) {
        b.onResolve({ filter: /\/src\/index\.web\.js$/ }, async () => {
          const r = await b.resolve('mqttwire', { resolveDir: consumer, kind: 'import-statement' });
          return r.errors.length > 0 ? { errors: r.errors } : { path: r.path };
        });
      },
    };
    const result = await build({
      entryPoints: [entry],
      bundle: true,
      write: false,
      format: 'esm',
      platform: 'browser',
      conditions: ['browser'],
      target: 'es2022',
      metafile: true,
      logLevel: 'silent',
      plugins: [viaPackage],
    });
    const inputs = Object.keys(result.metafile.inputs);
    if (!inputs.some((p) => p.endsWith('dist/esm/index.web.js'))) {
      throw new Error(`mqttwire did not resolve to dist/esm/index.web.js through the browser condition; inputs: ${inputs.join(', ')}`);
    }
    const nodeInputs = inputs.filter((p) => p.startsWith('node:') || p.includes('node_modules/ws/'));
    if (nodeInputs.length > 0) throw new Error(`the browser bundle pulled in Node modules: ${nodeInputs.join(', ')}`);
    return result.outputFiles[0]!.text;
  } finally {
    fs.rmSync(consumer, { recursive: true, force: true });
  }
}

interface StaticSite {
  /** http://127.0.0.1:<port> */
  url: string;
  close(): Promise<void>;
}

/** The page and its bundle, from 127.0.0.1. */
async function serveStatic(files: Record<string, { type: string; body: string }>): Promise<StaticSite> {
  const server = http.createServer((req, res) => {
    const file = req.method === 'GET' ? files[new URL(req.url ?? '/', 'http://127.0.0.1').pathname] : undefined;
    if (file) res.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

if (!chromiumAvailable && chromiumRequired) {
  describe('browser entry in headless Chromium', () => {
    it('needs Chromium', () => {
      throw new Error(`MQTTWIRE_REQUIRE_CHROMIUM=1, but ${CHROMIUM} does not exist (bash .ci/install-chromium.sh)`);
    });
  });
}

/** base64 SHA-256 of a certificate's SubjectPublicKeyInfo: the form --ignore-certificate-errors-spki-list takes. */
function spkiHash(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

/**
 * A fresh headless Chromium (own profile dir, removed afterwards) for one test: `run` gets a page
 * and the time left; page console output and errors are printed if it throws. `trustKeys`: base64
 * SPKI hashes of server keys the browser accepts without a chain to its trust store.
 */
async function withChromium(trustKeys: string[], run: (page: Page, left: () => number) => Promise<void>): Promise<void> {
  const started = Date.now();
  const left = (): number => Math.max(1_000, TEST_MS - 3_000 - (Date.now() - started));
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-chromium-'));
  let context: BrowserContext | undefined;
  const logs: string[] = [];
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...CHROMIUM_ARGS, ...(trustKeys.length > 0 ? [`--ignore-certificate-errors-spki-list=${trustKeys.join(',')}`] : [])],
      timeout: 15_000,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    page.on('console', (m) => logs.push(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => logs.push(`pageerror: ${e.message}`));
    await run(page, left);
  } catch (err) {
    if (logs.length > 0) process.stderr.write(`[browser test] page output:\n${logs.join('\n')}\n`);
    throw err;
  } finally {
    await context?.close().catch(() => {});
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

(chromiumAvailable ? describeMosquitto : describe.skip)("browser entry in headless Chromium (Mosquitto's WebSocket listener)", () => {
  let broker: MosquittoHandle | undefined;
  let site: StaticSite | undefined;
  /** The test server certificate's key, the one key Chromium is told to trust. */
  let trusted = '';
  const wssUrl = (): string => `wss://127.0.0.1:${broker!.extraPorts[0]}/mqtt`;
  const untrustedWssUrl = (): string => `wss://127.0.0.1:${broker!.extraPorts[1]}/mqtt`;

  beforeAll(async () => {
    const pki = await testPki();
    trusted = spkiHash(pki.server.cert);
    broker = await startMosquitto({
      logTypes: ['error', 'warning', 'notice', 'information'],
      websockets: true,
      extraPorts: 2,
      files: {
        'ca.pem': pki.ca,
        'server.pem': pki.server.cert,
        'server.key': pki.server.key,
        'other-server.pem': pki.otherServer.cert,
        'other-server.key': pki.otherServer.key,
      },
      extraConfig: ({ dir, extraPorts }) =>
        mosquittoTlsListener(dir, extraPorts[0] as number, false, true) + mosquittoTlsListener(dir, extraPorts[1] as number, false, true, 'other-server'),
    });
    const [js, example] = await Promise.all([bundlePage(), bundlePage(path.join(ROOT, 'examples', 'browser', 'main.ts'))]);
    site = await serveStatic({
      '/': { type: 'text/html; charset=utf-8', body: '<!doctype html><meta charset="utf-8"><title>mqttwire</title><script type="module" src="/page.js"></script>' },
      '/page.js': { type: 'text/javascript; charset=utf-8', body: js },
      // examples/browser as its README says to run it: index.html next to dist/main.js.
      '/example/': { type: 'text/html; charset=utf-8', body: fs.readFileSync(path.join(ROOT, 'examples', 'browser', 'index.html'), 'utf8') },
      '/example/dist/main.js': { type: 'text/javascript; charset=utf-8', body: example },
    });
  }, 15_000);

  afterAll(async () => {
    await site?.close();
    await broker?.stop();
  });

  /** Loads the test page against `url` and returns what it reported. */
  async function runPage(page: Page, left: () => number, url: string, topic: string, clientId: string): Promise<BrowserResult> {
    const q = new URLSearchParams({ broker: url, topic, clientId });
    await page.goto(`${site!.url}/?${q}`, { timeout: left() });
    await page.waitForFunction(() => window.__result !== undefined, null, { timeout: left() });
    return (await page.evaluate(() => window.__result)) as BrowserResult;
  }

  it.each([
    ['ws://', (): string => `${broker!.wsUrl}/mqtt`],
    ['wss://', wssUrl],
  ])('connects over %s, subscribes and publishes at QoS 1, receives, ends', { timeout: TEST_MS }, async (scheme, url) => {
    await withChromium([trusted], async (page, left) => {
      const topic = `mqttwire/browser/${process.pid}/${Date.now()}`;
      const clientId = `mqttwire-browser-${scheme === 'ws://' ? 'ws' : 'wss'}-${process.pid}`;
      const result = await runPage(page, left, url(), topic, clientId);
      if (!result.ok) throw new Error(`the page failed: ${result.error}`);

      expect(result).toMatchObject({
        ok: true,
        clientId,
        topic,
        text: 'héllo from chromium ✓',
        qos: 1,
        granted: [1],
        closed: true,
        hasProcess: false,
        hasBuffer: false,
      });
      expect(result.schemeError).toMatch(/^INVALID_ARGUMENT: .*browsers can only use ws:\/\/ or wss:\/\/; pass options\.transport for anything else/);
      // The handshake offered subprotocol `mqtt`: Chromium fails a WebSocket whose server picks none
      // of the offered ones, so an open connection means Mosquitto accepted it.
      // The real broker saw this client connect and (with DISCONNECT) leave.
      await broker!.waitForLog(`as ${clientId}`, 2_000);
      await broker!.waitForLog(new RegExp(`Client ${clientId} (disconnected|closed its connection)`), 2_000);
    });
  });

  it('wss:// to a broker whose certificate the browser does not trust: connect rejects with a TransportError, no MQTT session', { timeout: TEST_MS }, async () => {
    await withChromium([trusted], async (page, left) => {
      const clientId = `mqttwire-browser-untrusted-${process.pid}`;
      const result = await runPage(page, left, untrustedWssUrl(), `mqttwire/browser/${process.pid}/untrusted`, clientId);
      // A browser tells a page nothing about why a WebSocket failed (no TLS detail, close code 1006),
      // so this is a transport error, not TLS_ERROR; with reconnect off, connect() rejects once.
      expect(result.ok).toBe(false);
      expect(result.error).toMatch(/^TransportError: WebSocket/);
      expect(broker!.log()).not.toContain(`as ${clientId}`);
    });
  });

  it('examples/browser: subscribes over wss:// from the page, lists what is published (as text), disconnects', { timeout: TEST_MS }, async () => {
    const filter = `mqttwire/example/${process.pid}/#`;
    const publisher = await connect(broker!.url, { reconnect: false });
    try {
      // Over wss://, as the example is meant to be used.
      await withChromium([trusted], async (page, left) => {
        const q = new URLSearchParams({ url: wssUrl(), filter });
        await page.goto(`${site!.url}/example/?${q}`, { timeout: left() });
        const items = page.locator('#messages li');
        await items.filter({ hasText: `subscribed to ${filter} (granted QoS 1)` }).waitFor({ timeout: left() });
        await publisher.publish(`mqttwire/example/${process.pid}/a`, '<b>héllo</b> from node', { qos: 1 });
        const line = items.filter({ hasText: '<b>héllo</b> from node' });
        await line.waitFor({ timeout: left() });
        expect(await line.textContent()).toMatch(new RegExp(`mqttwire/example/${process.pid}/a {2}\\[QoS 1\\] {2}<b>héllo</b> from node$`));
        expect(await page.locator('#messages b').count()).toBe(0); // printed as text, not markup
        // The page's client (a default id), not the publisher.
        const pageClient = new RegExp(`New client connected from 127\\.0\\.0\\.1:\\d+ as (?!${publisher.clientId})(mqttwire\\w+)`);
        const id = (await broker!.waitForLog(pageClient, 2_000)).match(pageClient)?.[1];
        expect(id).toBeDefined();
        await page.click('#toggle');
        await page.locator('#status', { hasText: 'disconnected' }).waitFor({ timeout: left() });
        await broker!.waitForLog(`Client ${id} disconnected.`, 2_000);
      });
    } finally {
      await publisher.end();
    }
  });
});
