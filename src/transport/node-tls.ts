import type { ConnectionOptions } from 'node:tls';
import { TransportError } from '../errors.js';
import { loadBuiltin, loadNet, openNodeSocket, urlHost, wrapNodeSocket, type SocketErrorMapper } from './node-tcp.js';
import type { TlsData, TlsOptions, TransportFactory } from './transport.js';

/** mqtts://, ssl://, tls:// over node:tls (default port 8883). */
export const openTls: TransportFactory = async (url, handlers, options) => {
  const host = urlHost(url);
  const port = url.port ? Number(url.port) : 8883;
  const mapError = tlsErrorMapper(`${host}:${port}`);
  // Loaded now, not with the package: node:tls (and the crypto it pulls in) is the costliest built-in.
  const [{ connect }, { isIP }] = await Promise.all([loadBuiltin('node:tls', () => import('node:tls')), loadNet()]);
  const socket = connect({ host, port, ...nodeTlsOptions(host, options, isIP) });
  socket.setNoDelay(true);
  await openNodeSocket(socket, 'secureConnect', `TLS connect to ${host}:${port}`, options.signal, mapError);
  return wrapNodeSocket(socket, handlers, mapError);
};

/** Our TlsOptions as node:tls (and the ws package, which passes them on to it) take them. */
export function nodeTlsOptions(host: string, o: TlsOptions, isIP: (host: string) => number): ConnectionOptions {
  // Verification stays on unless the caller turned it off in so many words.
  const out: ConnectionOptions = { rejectUnauthorized: o.rejectUnauthorized !== false };
  // SNI must not carry an IP address (RFC 6066); node then checks the certificate against the IP.
  const servername = o.servername ?? (isIP(host) ? undefined : host);
  if (servername !== undefined) out.servername = servername;
  if (o.ca !== undefined) out.ca = nodeData(o.ca);
  if (o.cert !== undefined) out.cert = nodeData(o.cert);
  if (o.key !== undefined) out.key = nodeData(o.key);
  if (o.passphrase !== undefined) out.passphrase = o.passphrase;
  if (o.alpnProtocols !== undefined) out.ALPNProtocols = o.alpnProtocols;
  return out;
}

/** node:tls takes any Uint8Array at run time; its types say Buffer, so view the bytes as one (no copy). */
function nodeData(data: TlsData): string | Buffer | (string | Buffer)[] {
  const one = (d: string | Uint8Array): string | Buffer => (typeof d === 'string' ? d : Buffer.from(d.buffer, d.byteOffset, d.byteLength));
  return Array.isArray(data) ? data.map(one) : one(data);
}

// OpenSSL's X509 verification codes (UNABLE_TO_VERIFY_LEAF_SIGNATURE, CERT_HAS_EXPIRED,
// SELF_SIGNED_CERT_IN_CHAIN, ...) and node's ERR_TLS_CERT_ALTNAME_INVALID for a host name mismatch.
const VERIFICATION = /CERT|SIGNATURE|ISSUER|SELF_SIGNED|UNABLE_TO_VERIFY|HOSTNAME|ALTNAME|INVALID_CA|PATH_LENGTH|INVALID_PURPOSE/;

/**
 * TLS failures become TransportError code TLS_ERROR, which the client treats as permanent: a
 * certificate that does not verify today will not verify in a second either, so retrying would
 * only hammer the broker. Anything else (refused, reset, DNS) is left to the generic mapping.
 */
export function tlsErrorMapper(target: string): SocketErrorMapper {
  return (err) => {
    const code = err.code ?? '';
    if (code.startsWith('ERR_SSL_') || (code.startsWith('ERR_TLS_') && !VERIFICATION.test(code))) {
      return new TransportError(`TLS: handshake with ${target} failed: ${sslReason(err)}`, { cause: err, code: 'TLS_ERROR' });
    }
    if (VERIFICATION.test(code)) {
      return new TransportError(`TLS: certificate verification failed for ${target}: ${err.message}`, { cause: err, code: 'TLS_ERROR' });
    }
    return undefined;
  };
}

/** OpenSSL's own words ("tlsv13 alert certificate required"), without its file:line and error-stack noise. */
export function sslReason(err: Error): string {
  const reason = (err as { reason?: unknown }).reason;
  return typeof reason === 'string' && reason !== '' ? reason : err.message.trim();
}
