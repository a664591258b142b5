/**
 * A throwaway PKI for TLS tests, made with the openssl CLI in a temp dir (EC P-256 keys: a few
 * hundred ms for all of it). Call `testPki()` as often as you like: one PKI per test process.
 *
 *   ca            the trusted test CA
 *   server        signed by `ca`, for DNS:localhost and IP:127.0.0.1
 *   client        signed by `ca`, for client-certificate listeners (extendedKeyUsage clientAuth)
 *   otherCa       an unrelated CA nobody trusts
 *   otherServer   signed by `otherCa`, same names as `server`
 *
 * PEM text throughout; the temp dir is gone once they are read (write files where you need them,
 * e.g. into the broker's dir through startMosquitto's `files`).
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface CertAndKey {
  cert: string;
  key: string;
}

export interface TestPki {
  ca: string;
  otherCa: string;
  server: CertAndKey;
  client: CertAndKey;
  otherServer: CertAndKey;
}

let pki: Promise<TestPki> | undefined;

export function testPki(): Promise<TestPki> {
  pki ??= makePki();
  return pki;
}

async function openssl(dir: string, args: string[]): Promise<void> {
  await run('openssl', args, { cwd: dir, timeout: 10_000 });
}

const EC = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

async function makeCa(dir: string, name: string, cn: string): Promise<void> {
  await openssl(dir, [
    'req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
}

/** One `req -x509 -CA` call (OpenSSL 3): key, request and signature at once, with a random serial. */
async function makeLeaf(dir: string, name: string, ca: string, cn: string, extensions: string[]): Promise<void> {
  await openssl(dir, [
    'req', '-x509', ...EC, '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${cn}`,
    '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, ...extensions.flatMap((e) => ['-addext', e]),
  ]);
}

async function makePki(): Promise<TestPki> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mqttwire-pki-'));
  try {
    const leaf = ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
    const serverExt = [...leaf, 'subjectAltName=DNS:localhost,IP:127.0.0.1', 'extendedKeyUsage=serverAuth'];
    const clientExt = [...leaf, 'extendedKeyUsage=clientAuth'];
    await Promise.all([makeCa(dir, 'ca', 'mqttwire test CA'), makeCa(dir, 'other-ca', 'mqttwire untrusted CA')]);
    await Promise.all([
      makeLeaf(dir, 'server', 'ca', 'localhost', serverExt),
      makeLeaf(dir, 'client', 'ca', 'mqttwire-client', clientExt),
      makeLeaf(dir, 'other-server', 'other-ca', 'localhost', serverExt),
    ]);
    const read = (name: string): string => fs.readFileSync(path.join(dir, name), 'utf8');
    const pair = (name: string): CertAndKey => ({ cert: read(`${name}.pem`), key: read(`${name}.key`) });
    return { ca: read('ca.pem'), otherCa: read('other-ca.pem'), server: pair('server'), client: pair('client'), otherServer: pair('other-server') };
  } finally {
    // Removed at once: vitest's workers may not get to run an exit hook.
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Mosquitto listener lines for a TLS port serving `server.pem`/`server.key` from the broker's dir
 * (give them via `files`; `certName` picks another pair, e.g. `other-server`). With
 * `requireCertificate`, clients must present a certificate of `ca.pem`; with `websockets`, the
 * listener speaks MQTT over WebSocket (wss://).
 */
export function mosquittoTlsListener(dir: string, port: number, requireCertificate = false, websockets = false, certName = 'server'): string {
  return [
    `listener ${port} 127.0.0.1`,
    ...(websockets ? ['protocol websockets', 'socket_domain ipv4'] : []),
    `cafile ${path.join(dir, 'ca.pem')}`,
    `certfile ${path.join(dir, `${certName}.pem`)}`,
    `keyfile ${path.join(dir, `${certName}.key`)}`,
    `require_certificate ${requireCertificate}`,
    '',
  ].join('\n');
}
