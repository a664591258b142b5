/**
 * SASLprep (src/auth/saslprep.ts): RFC 4013's own examples, every code point of every RFC 3454
 * table we carry compared with an independent transcription of the RFC (@mongodb-js/saslprep),
 * whole strings compared with that implementation, and the two documented departures (unassigned
 * code points, U+200B).
 */
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvalidArgumentError } from '../../src/errors.js';
import { has, parseRanges, saslprep, type SaslprepOptions } from '../../src/auth/saslprep.js';
import { B1, C12, D1, D2, PROHIBITED } from '../../src/auth/saslprep-tables.js';

const require = createRequire(import.meta.url);
const mongodbSaslprep = require('@mongodb-js/saslprep') as (input: string, opts?: { allowUnassigned?: boolean }) => string;
// The package's transcription of RFC 3454's tables, as sets of code points (not in its exports map).
const reference = require(require.resolve('@mongodb-js/saslprep').replace(/node\.js$/, 'code-points-src.js')) as Record<
  'commonly_mapped_to_nothing' | 'non_ASCII_space_characters' | 'prohibited_characters' | 'bidirectional_r_al' | 'bidirectional_l',
  Set<number>
>;

const seed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : undefined;
const params = (numRuns: number): fc.Parameters<unknown> => ({ numRuns, ...(seed !== undefined ? { seed } : {}) });

const query: SaslprepOptions = { name: 'username', allowUnassigned: true, secret: false };
const stored: SaslprepOptions = { name: 'password', allowUnassigned: false, secret: true };

function refusal(input: string, options: SaslprepOptions): InvalidArgumentError {
  let caught: unknown;
  try {
    saslprep(input, options);
  } catch (err) {
    caught = err;
  }
  expect(caught, `saslprep(${JSON.stringify(input)}) should throw`).toBeInstanceOf(InvalidArgumentError);
  return caught as InvalidArgumentError;
}

describe('RFC 4013 section 3, the examples', () => {
  it.each([
    { n: 1, input: 'I\u00ADX', output: 'IX', why: 'SOFT HYPHEN mapped to nothing' },
    { n: 2, input: 'user', output: 'user', why: 'no transformation' },
    { n: 3, input: 'USER', output: 'USER', why: 'case preserved' },
    { n: 4, input: '\u00AA', output: 'a', why: 'output is NFKC' },
    { n: 5, input: '\u2168', output: 'IX', why: 'output is NFKC, will match #1' },
  ])('#$n: $why', ({ input, output }) => {
    expect(saslprep(input, query)).toBe(output);
    expect(saslprep(input, stored)).toBe(output);
  });

  it('#6: <U+0007> is an error, a prohibited character', () => {
    expect(refusal('\u0007', query).message).toBe('username contains U+0007, an ASCII control character (RFC 3454 table C.2.1), which SASLprep (RFC 4013) prohibits');
    expect(refusal('\u0007', stored).message).toBe('password contains an ASCII control character (RFC 3454 table C.2.1), which SASLprep (RFC 4013) prohibits');
  });

  it('#7: <U+0627><U+0031> is an error, the bidirectional check', () => {
    expect(refusal('\u0627\u0031', query).message).toBe(
      'username has right-to-left characters but does not start and end with one, which SASLprep (RFC 4013, RFC 3454 section 6) prohibits',
    );
    // The positive control: the same characters ending with a right-to-left one pass.
    expect(saslprep('\u0627\u0031\u0627', query)).toBe('\u0627\u0031\u0627');
  });
});

describe('the RFC 3454 tables, code point by code point', () => {
  const tables: [string, Uint32Array, Set<number>][] = [
    ['B.1', parseRanges(B1), reference.commonly_mapped_to_nothing],
    ['C.1.2', parseRanges(C12), reference.non_ASCII_space_characters],
    ['D.1', parseRanges(D1), reference.bidirectional_r_al],
    ['D.2', parseRanges(D2), reference.bidirectional_l],
  ];
  it.each(tables)('%s holds exactly the code points of the reference transcription', (_name, ours, theirs) => {
    const differ: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) if (has(ours, cp) !== theirs.has(cp)) differ.push(cp.toString(16));
    expect(differ).toEqual([]);
    expect(theirs.size).toBeGreaterThan(0);
  });

  it('C.1.2 to C.9 together hold the reference\'s prohibited code points, plus U+FFFFE and U+FFFFF, which it misses', () => {
    // RFC 3454 table C.4 lists "FFFFE-FFFFF; [NONCHARACTER CODE POINTS]"; the transcription skips that line.
    const ours = PROHIBITED.map(([, , ranges]) => parseRanges(ranges));
    const differ: string[] = [];
    for (let cp = 0; cp <= 0x10ffff; cp++) {
      if (ours.some((r) => has(r, cp)) !== reference.prohibited_characters.has(cp)) differ.push(cp.toString(16));
    }
    expect(differ).toEqual(['ffffe', 'fffff']);
  });

  it('decodes the compact notation: "1t-p 6-p" is 0041-005A 0061-007A', () => {
    expect([...parseRanges('1t-p 6-p')]).toEqual([0x41, 0x5a, 0x61, 0x7a]);
    expect([...parseRanges('\n4t ip\n')]).toEqual([0xad, 0xad, 0x34f, 0x34f]);
  });

  it('each table is sorted, with ranges that neither overlap nor touch', () => {
    for (const text of [B1, C12, D1, D2, ...PROHIBITED.map(([, , r]) => r)]) {
      const r = parseRanges(text);
      for (let i = 0; i < r.length; i += 2) {
        expect(r[i]!).toBeLessThanOrEqual(r[i + 1]!);
        if (i > 0) expect(r[i]!).toBeGreaterThan(r[i - 1]! + 1);
      }
    }
  });
});

describe('whole strings, against @mongodb-js/saslprep', () => {
  /** Its outcome: the prepared string, or 'error'; '' where it throws a TypeError on an empty result. */
  function theirs(input: string): string {
    try {
      return mongodbSaslprep(input, { allowUnassigned: true });
    } catch (err) {
      if (err instanceof TypeError) return '';
      return 'error';
    }
  }
  function ours(input: string): string {
    try {
      return saslprep(input, query);
    } catch (err) {
      if (!(err instanceof InvalidArgumentError)) throw err;
      return 'error';
    }
  }

  // Code points from every table and from none: letters of both directions, digits, marks,
  // spaces, compatibility characters, controls, private use, surrogates, unassigned.
  const interesting = [
    0x41, 0x61, 0x31, 0x20, 0x2c, 0xaa, 0xad, 0xa0, 0xbd, 0xe9, 0x301, 0x340, 0x5d0, 0x5be, 0x627, 0x661, 0x6dd, 0x70f, 0x200b, 0x200c, 0x200e, 0x200f,
    0x202a, 0x2028, 0x2168, 0x2ff0, 0x3000, 0xfb01, 0xfb1d, 0xfeff, 0xfe0f, 0xfffd, 0xe000, 0x7, 0x7f, 0x85, 0xd800, 0xdc00, 0x378, 0x1f600, 0x1d173,
    0xe0001, 0x10ffff, 0x2f868,
  ];
  const codePointArb = fc.oneof(fc.constantFrom(...interesting), fc.integer({ min: 0, max: 0x10ffff }));
  // U+FFFFE and U+FFFFF aside: the reference does not prohibit them (see above).
  const inputArb = fc
    .array(codePointArb, { minLength: 1, maxLength: 8 })
    .map((cps) => cps.map((cp) => (cp === 0xffffe || cp === 0xfffff ? 0x41 : cp)))
    .map((cps) => cps.map((cp) => String.fromCharCode(...(cp > 0xffff ? [0xd800 + ((cp - 0x10000) >> 10), 0xdc00 + ((cp - 0x10000) & 0x3ff)] : [cp]))).join(''));

  it('prepare any string to the same result, or both refuse it', () => {
    let refused = 0;
    fc.assert(
      fc.property(inputArb, (input) => {
        const result = ours(input);
        expect(result).toBe(theirs(input));
        if (result === 'error') refused++;
      }),
      params(20_000),
    );
    // Both outcomes were exercised.
    expect(refused).toBeGreaterThan(1000);
    expect(refused).toBeLessThan(19_000);
  });

  it('leave printable ASCII as it is', () => {
    fc.assert(
      fc.property(fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)) }), (input) => {
        expect(saslprep(input, stored)).toBe(input);
        expect(theirs(input)).toBe(input);
      }),
      params(500),
    );
  });
});

describe('what we decided where the RFCs leave room', () => {
  it('U+200B ZERO WIDTH SPACE, in both C.1.2 and B.1, becomes a space (RFC 4013 lists the space mapping first)', () => {
    expect(saslprep('a\u200Bb', query)).toBe('a b');
  });

  it('a password may hold characters added after Unicode 3.2 (emoji), which RFC 3454 table A.1 would refuse', () => {
    expect(saslprep('pass\u{1F600}', stored)).toBe('pass\u{1F600}');
  });

  it('a password may not hold a code point the runtime\'s Unicode leaves unassigned; a user name may', () => {
    expect(refusal('pass\u0378', stored).message).toBe('password contains a code point unassigned in Unicode, which SASLprep (RFC 4013) prohibits');
    expect(saslprep('user\u0378', query)).toBe('user\u0378');
  });

  it('the prohibition applies after NFKC: U+2474 PARENTHESIZED DIGIT ONE is "(1)", allowed; U+FE52 SMALL FULL STOP is "."', () => {
    expect(saslprep('\u2474', stored)).toBe('(1)');
    expect(saslprep('a\uFE52b', stored)).toBe('a.b');
  });

  it.each([
    { input: '\u05D0', ok: true, why: 'a right-to-left letter alone' },
    { input: '\u05D0\u0031\u05D1', ok: true, why: 'right-to-left around a European digit' },
    { input: 'a\u05D0', ok: false, why: 'mixed with a left-to-right letter' },
    { input: '\u05D0a\u05D0', ok: false, why: 'a left-to-right letter inside' },
    { input: '\u05D0 ', ok: false, why: 'ending with a neutral' },
    { input: '1\u05D0', ok: false, why: 'starting with a digit' },
    { input: '1 2', ok: true, why: 'no right-to-left character at all' },
  ])('the bidi rule: $why', ({ input, ok }) => {
    if (ok) expect(saslprep(input, query)).toBe(input);
    else expect(refusal(input, query).message).toMatch(/RFC 3454 section 6/);
  });

  it('a lone surrogate is a prohibited surrogate code point (C.5)', () => {
    expect(refusal('a\uD800', query).message).toMatch(/^username contains U\+D800, a surrogate code point \(RFC 3454 table C\.5\)/);
  });
});
