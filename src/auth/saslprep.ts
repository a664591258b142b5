/**
 * SASLprep (RFC 4013), the stringprep profile (RFC 3454) that SCRAM applies to user names and
 * passwords, so that two spellings of one password (a no-break space for a space, a ligature for
 * its letters, a soft hyphen) give the same key on the client and on the server.
 *
 * The four steps, in the RFC's order:
 *   1. Map: non-ASCII spaces (C.1.2) to U+0020 SPACE, then "commonly mapped to nothing" (B.1) to
 *      nothing. U+200B ZERO WIDTH SPACE is in both tables; it becomes a space, as RFC 4013 lists
 *      the space mapping first (PostgreSQL and the MongoDB drivers do the same).
 *   2. Normalize: Unicode NFKC, with the runtime's String.prototype.normalize.
 *   3. Prohibit: the tables of RFC 4013 section 2.3 (C.1.2 to C.9), on the normalized string.
 *   4. Bidi: a string with a right-to-left character (D.1) has no left-to-right one (D.2), and
 *      starts and ends with a right-to-left character (RFC 3454 section 6).
 *
 * Two departures from Unicode 3.2, both forced by having only the runtime's Unicode tables:
 *   - Unassigned code points (stored strings, i.e. passwords): refused when the runtime's Unicode
 *     has them unassigned (\p{Cn}), not by RFC 3454's table A.1 of Unicode 3.2, which would also
 *     refuse every character added since 2002, emoji included. Queries (user names) allow them.
 *   - NFKC uses the runtime's Unicode version. For characters of Unicode 3.2 it gives the 3.2
 *     result except for five CJK compatibility ideographs (U+2F868, U+2F874, U+2F91F, U+2F95F,
 *     U+2F9BF) whose mappings Unicode corrected later (Corrigendum #4).
 */
import { InvalidArgumentError } from '../errors.js';
import { B1, C12, D1, D2, PROHIBITED } from './saslprep-tables.js';

export interface SaslprepOptions {
  /** What the string is, for error messages: 'username', 'password'. */
  name: string;
  /**
   * A query string (RFC 3454 section 7) may hold unassigned code points; a stored string may
   * not. RFC 5802 prepares the user name as a query and the password as a stored string.
   */
  allowUnassigned: boolean;
  /** A secret: error messages say what kind of character is refused, never which one. */
  secret: boolean;
}

/** Printable ASCII is left as it is by every step, so it needs no table. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;
const UNASSIGNED = /^\p{Cn}$/u;

/**
 * The prepared string, or an InvalidArgumentError that names the option and the rule broken.
 * The result may be empty (a string of characters mapped to nothing): the caller decides.
 */
export function saslprep(input: string, options: SaslprepOptions): string {
  if (PRINTABLE_ASCII.test(input)) return input;
  const t = tables();

  let mapped = '';
  for (const ch of input) {
    const cp = ch.codePointAt(0) as number;
    if (has(t.c12, cp)) mapped += ' ';
    else if (!has(t.b1, cp)) mapped += ch;
  }
  const prepared = mapped.normalize('NFKC');

  let rightToLeft = false;
  let leftToRight = false;
  for (const ch of prepared) {
    const cp = ch.codePointAt(0) as number;
    for (const p of t.prohibited) {
      if (has(p.ranges, cp)) throw refused(options, cp, `${p.what} (RFC 3454 table ${p.table})`);
    }
    if (!options.allowUnassigned && UNASSIGNED.test(ch)) throw refused(options, cp, 'a code point unassigned in Unicode');
    if (has(t.d1, cp)) rightToLeft = true;
    else if (has(t.d2, cp)) leftToRight = true;
  }
  if (rightToLeft) {
    if (leftToRight) throw bidi(options, 'mixes right-to-left and left-to-right characters');
    const first = prepared.codePointAt(0) as number;
    const last = lastCodePoint(prepared);
    if (!has(t.d1, first) || !has(t.d1, last)) throw bidi(options, 'has right-to-left characters but does not start and end with one');
  }
  return prepared;
}

function refused(options: SaslprepOptions, cp: number, what: string): InvalidArgumentError {
  const which = options.secret ? '' : `U+${cp.toString(16).toUpperCase().padStart(4, '0')}, `;
  return new InvalidArgumentError(`${options.name} contains ${which}${what}, which SASLprep (RFC 4013) prohibits`);
}

function bidi(options: SaslprepOptions, what: string): InvalidArgumentError {
  return new InvalidArgumentError(`${options.name} ${what}, which SASLprep (RFC 4013, RFC 3454 section 6) prohibits`);
}

function lastCodePoint(s: string): number {
  const low = s.charCodeAt(s.length - 1);
  if (low >= 0xdc00 && low <= 0xdfff && s.length >= 2) {
    const high = s.charCodeAt(s.length - 2);
    if (high >= 0xd800 && high <= 0xdbff) return s.codePointAt(s.length - 2) as number;
  }
  return low;
}

// ---------------------------------------------------------------------------------------------
// Tables: parsed on first use (printable ASCII never needs them), as sorted [first, last] pairs.

interface Tables {
  b1: Uint32Array;
  c12: Uint32Array;
  prohibited: { table: string; what: string; ranges: Uint32Array }[];
  d1: Uint32Array;
  d2: Uint32Array;
}

let parsed: Tables | undefined;

function tables(): Tables {
  parsed ??= {
    b1: parseRanges(B1),
    c12: parseRanges(C12),
    prohibited: PROHIBITED.map(([table, what, ranges]) => ({ table, what, ranges: parseRanges(ranges) })),
    d1: parseRanges(D1),
    d2: parseRanges(D2),
  };
  return parsed;
}

/** A table of saslprep-tables.ts ("1t-p 6-p": gaps and extents in base 36) as [first, last] pairs. */
export function parseRanges(text: string): Uint32Array {
  const items = text.trim().split(/\s+/);
  const out = new Uint32Array(items.length * 2);
  let next = 0;
  items.forEach((item, i) => {
    const [gap, extra = '0'] = item.split('-') as [string, string?];
    const first = next + parseInt(gap, 36);
    const last = first + parseInt(extra, 36);
    out[2 * i] = first;
    out[2 * i + 1] = last;
    next = last + 1;
  });
  return out;
}

/** Binary search of a sorted range list. */
export function has(ranges: Uint32Array, cp: number): boolean {
  let lo = 0;
  let hi = ranges.length / 2 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < (ranges[2 * mid] as number)) hi = mid - 1;
    else if (cp > (ranges[2 * mid + 1] as number)) lo = mid + 1;
    else return true;
  }
  return false;
}
