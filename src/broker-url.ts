import { describeValue, InvalidArgumentError, quote } from './errors.js';

/** Schemes whose transport is a plain byte stream: a path, query or fragment would be ignored. */
const STREAM_SCHEMES = ['mqtt:', 'tcp:', 'mqtts:', 'ssl:', 'tls:'];
const WEB_SCHEMES = ['ws:', 'wss:'];
const SCHEME = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * Parses and checks a broker URL; a bare `host:port` or `host` is taken as mqtt://. Each mistake
 * gets its own InvalidArgumentError (no host, a port out of range, an unknown scheme, a path an
 * mqtt:// URL would ignore), and no message repeats the URL's user info. With `anyScheme` (the
 * application brings its own transport) the scheme and path are the transport's business.
 */
export function parseUrl(url: string | URL, anyScheme = false): URL {
  let text: string;
  if (url instanceof URL) text = url.href;
  else if (typeof url === 'string') text = SCHEME.test(url) ? url : `mqtt://${url}`;
  else throw new InvalidArgumentError(`the broker URL must be a string or a URL, got ${describeValue(url)}`);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw invalidUrl(text, diagnose(text));
  }
  // Messages show `text` redacted, never parsed.href: a password with a '/' in it can parse as a port and a path.
  if (parsed.hostname === '') throw invalidUrl(text, 'it has no host');
  if (parsed.port === '0') throw invalidUrl(text, 'port 0 is out of range (1 to 65535)');
  if (anyScheme) return parsed;
  if (STREAM_SCHEMES.includes(parsed.protocol)) {
    const extra = (parsed.pathname === '/' ? '' : parsed.pathname) + parsed.search + parsed.hash;
    if (extra !== '') throw invalidUrl(text, `${parsed.protocol}// has no path, query or fragment (a path is for ws:// and wss://)`);
  } else if (!WEB_SCHEMES.includes(parsed.protocol)) {
    throw invalidUrl(text, `unsupported URL scheme "${parsed.protocol}" (supported: mqtt://, tcp://, mqtts://, ssl://, tls://, ws://, wss://)`);
  }
  return parsed;
}

/** Why the URL parser refused `text`, for the mistakes people make; looked for in the redacted text only. */
function diagnose(text: string): string {
  const authority = /^[^:]+:\/\/([^/?#]*)/.exec(redactUrl(text))?.[1] ?? '';
  const hostPort = authority.slice(authority.lastIndexOf('@') + 1);
  const m = /^(\[[^\]]*\]|[^:]*)(?::(.*))?$/.exec(hostPort);
  const host = m?.[1] ?? '';
  const port = m?.[2];
  if (host === '') return 'it has no host';
  if (port !== undefined && !/^\d*$/.test(port)) return `the port ${quote(port)} is not a number`;
  if (port !== undefined && Number(port) > 65535) return `port ${Number(port)} is out of range (1 to 65535)`;
  return 'it is not a valid URL';
}

function invalidUrl(text: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`invalid broker URL ${quote(redactUrl(text))}: ${why}`);
}

/**
 * A URL as a message may show it: everything up to the last '@' (the user info, and with it a
 * password even where a stray '/' or '@' in it confuses the parser) becomes `***`.
 */
export function redactUrl(url: string | URL): string {
  const text = typeof url === 'string' ? url : url.href;
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = SCHEME.exec(text)?.[0] ?? '';
  return `${scheme}***${text.slice(at)}`;
}

/**
 * A broker URL split into the address the client keeps (`client.url`, status events, logs, the
 * transport) and the MQTT credentials its user info carried, which go to CONNECT and nowhere else.
 */
export function splitCredentials(url: URL): { url: URL; username?: string; password?: string } {
  if (url.username === '' && url.password === '') return { url };
  const out: { url: URL; username?: string; password?: string } = { url: new URL(url.href) };
  out.url.username = '';
  out.url.password = '';
  if (url.username !== '') out.username = decodeURIComponent(url.username);
  if (url.password !== '') out.password = decodeURIComponent(url.password);
  return out;
}
