/**
 * SCRAM's four messages as text (RFC 5802 section 7): building the client's two, parsing the
 * server's two strictly against the grammar. No crypto here, and no state.
 *
 *   client-first  n,,n=<user>,r=<client nonce>
 *   server-first  [m=...,]r=<client nonce><server nonce>,s=<salt>,i=<iterations>[,<extensions>]
 *   client-final  c=biws,r=<nonce>,p=<proof>
 *   server-final  v=<server signature> | e=<error>   [,<extensions>]
 */
import { AuthenticationError } from '../errors.js';
import { decodeBase64 } from './base64.js';

/**
 * The GS2 header: "n" (the client does not support channel binding), no authorization identity.
 * Its base64, "biws", is the c= attribute of client-final.
 */
export const GS2_HEADER = 'n,,';
const CHANNEL_BINDING = 'c=biws';

/** What server-first says, before any check that needs our state (nonce prefix, iteration bounds). */
export interface ServerFirst {
  nonce: string;
  salt: Uint8Array<ArrayBuffer>;
  /** The iteration count as the server wrote it (digits only, first not 0), and its value. */
  iterationsText: string;
  iterations: number;
}

/** The result of server-final: the server's signature to check (an e= error has been thrown). */
export interface ServerFinal {
  verifier: Uint8Array;
}

/** n=<saslname>: "," and "=" escaped as "=2C" and "=3D" (RFC 5802 section 5.1). */
export function clientFirstBare(username: string, nonce: string): string {
  return `n=${username.replace(/=/g, '=3D').replace(/,/g, '=2C')},r=${nonce}`;
}

export function clientFinalWithoutProof(nonce: string): string {
  return `${CHANNEL_BINDING},r=${nonce}`;
}

/** Server data as text: it must be UTF-8 (a byte-order mark is kept, and so refused by the grammar). */
export function serverText(data: Uint8Array, message: 'server-first-message' | 'server-final-message'): string {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(data);
  } catch {
    throw malformed(message, 'is not valid UTF-8');
  }
}

const PRINTABLE = /^[\x21-\x2b\x2d-\x7e]+$/;
const POSITIVE_NUMBER = /^[1-9][0-9]*$/;
/** attr-val: one letter, "=", one or more characters other than NUL (the "," is the separator). */
const EXTENSION = /^[A-Za-z]=[^\0]+$/;

export function parseServerFirst(text: string): ServerFirst {
  const what = 'server-first-message';
  const parts = text.split(',');
  if (parts[0]?.startsWith('m=')) throw malformed(what, 'carries a mandatory extension (m=), which this client does not support');
  const [r, s, i, ...extensions] = parts;
  const nonce = attribute(what, r, 'r', 'the nonce');
  if (!PRINTABLE.test(nonce)) throw malformed(what, 'has a nonce (r=) that is empty or not printable ASCII');
  const saltText = attribute(what, s, 's', 'the salt');
  const salt = decodeBase64(saltText);
  if (salt === undefined) throw malformed(what, 'has a salt (s=) that is not valid base64');
  if (salt.length === 0) throw malformed(what, 'has an empty salt (s=)');
  const iterationsText = attribute(what, i, 'i', 'the iteration count');
  if (!POSITIVE_NUMBER.test(iterationsText)) throw malformed(what, 'has an iteration count (i=) that is not a positive decimal number');
  checkExtensions(what, extensions);
  return { nonce, salt, iterationsText, iterations: Number(iterationsText) };
}

export function parseServerFinal(text: string): ServerFinal {
  const what = 'server-final-message';
  const [first, ...extensions] = text.split(',');
  if (first?.startsWith('e=')) {
    const error = first.slice(2);
    if (error === '' || error.includes('\0')) throw malformed(what, 'has an empty or invalid error (e=)');
    checkExtensions(what, extensions);
    throw new AuthenticationError('SCRAM_SERVER_ERROR', `the server refused the authentication: ${error}`, error);
  }
  const verifierText = attribute(what, first, 'v', 'the server signature (or an error, e=)');
  const verifier = decodeBase64(verifierText);
  if (verifier === undefined || verifier.length === 0) throw malformed(what, 'has a server signature (v=) that is empty or not valid base64');
  checkExtensions(what, extensions);
  return { verifier };
}

/** The value of `name=value` in `part`, which must be that attribute, in that place. */
function attribute(message: string, part: string | undefined, name: string, meaning: string): string {
  if (part === undefined || !part.startsWith(`${name}=`)) throw malformed(message, `lacks ${meaning} (${name}=) where the grammar puts it`);
  return part.slice(name.length + 1);
}

function checkExtensions(message: string, extensions: string[]): void {
  for (const e of extensions) if (!EXTENSION.test(e)) throw malformed(message, 'has an attribute that is not letter=value');
}

function malformed(message: string, what: string): AuthenticationError {
  return new AuthenticationError('SCRAM_MALFORMED', `the server's SCRAM ${message} ${what} (RFC 5802 section 7)`);
}
