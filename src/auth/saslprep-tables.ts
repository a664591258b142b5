/**
 * The tables of RFC 3454 (stringprep, Unicode 3.2) that SASLprep (RFC 4013) uses. Each was
 * produced from Unicode 3.2's data and checked against the RFC's appendix; the tests compare every
 * code point of each with an independent transcription of the RFC (@mongodb-js/saslprep).
 *
 * Encoding, to keep the bundle small (D.2 alone has 360 ranges): ranges in order, separated by
 * white space, each `gap` or `gap-extra` in base 36, where gap = first code point - (last code
 * point of the previous range + 1) (the first range counts from -1) and extra = last - first.
 * So '1t-p 6-p' is 0041-005A 0061-007A. parseRanges() in saslprep.ts decodes it.
 *
 * Table A.1 (code points unassigned in Unicode 3.2) is deliberately absent: see saslprep.ts.
 */

/** B.1: commonly mapped to nothing. */
export const B1 = '4t ip 43a 4-2 1kt-2 2a 17rz-f 6n';

/** C.1.2: non-ASCII space characters (SASLprep maps them to U+0020 SPACE). */
export const C12 = '4g 4bj 1vj-b z 1b 334';

/** The prohibition tables of RFC 4013 section 2.3, with what each holds (for error messages). */
export const PROHIBITED: ReadonlyArray<readonly [table: string, what: string, ranges: string]> = [
  ['C.1.2', 'a non-ASCII space character', C12],
  ['C.2.1', 'an ASCII control character', '0-v 2n'],
  ['C.2.2', 'a non-ASCII control character', '3k-v 18d 1d 3cu 1kt-1 q-1 1i-3 6-5 17yn 6x-3 15di-7'],
  ['C.3', 'a private-use character', '188w-4xr jpc0-1ekd 2-1ekd'],
  ['C.4', 'a non-character code point', `
1e4w-v em-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1 1eke-1
1eke-1 1eke-1 1eke-1 1eke-1
`],
  ['C.5', 'a surrogate code point', '16o0-1kv'],
  ['C.6', 'a character inappropriate for plain text', '1ek9-4'],
  ['C.7', 'a character inappropriate for canonical representation', '9gw-b'],
  ['C.8', 'a character that changes display properties or is deprecated', 'n4-1 5os-1 q-4 1n-5'],
  ['C.9', 'a tagging character', 'jny9 u-2n'],
];

/** D.1: characters with bidirectional property R or AL (RandALCat). */
export const D1 = `
14u 1 2 c-q 5-4 12 3 1-p 5-a y-2 1-2s 7 7-1 j-4 1-d 2 1-q 2b-11 b 4t9 179p 1-9 1-c 1-4 1 1-1 1-1
1-2z x-a2 i-1r 2-1h 14-c 37-4 1-3q
`;

/** D.2: characters with bidirectional property L (LCat). */
export const D2 = `
1t-p 6-p 1b a 4 5-m 1-u 1-88 1-h s-2l 2-8 2-6 e-1 e-4 9 3v b 1-2 1 1-j 1-17 1-11 a-3m 7-1w 1-11
2-1 6-f x-11 2-6 1-12 1 op 1-1g 3-3 8-3 3 7-9 2-c h-1 1-7 2-1 2-l 1-6 1 3-3 4-2 6-1 2-1 a 4-1 1-2
4-b 2-6 a-5 4-1 2-l 1-6 1-1 1-1 1-1 4-2 o-3 1 7-9 2-2 e 1-6 1 1-2 1-l 1-6 1-1 1-4 3-3 8 1-1 3 f
5-9 i-1 1-7 2-1 2-l 1-6 1-1 2-3 3-1 1 6-1 2-1 a 4-1 1-2 4-a i 1-5 3-2 1-3 3-1 1 1-1 3-1 3-2 3-7
1-2 4-1 1-1 3-2 1-2 a f-b e-2 1-7 1-2 1-m 1-9 1-4 7-3 r-1 4-9 i-1 1-7 1-2 1-m 1-9 1-4 4 1-4 2-1
1-1 9-1 7 1-1 4-9 i-1 1-7 1-2 1-m 1-f 4-2 5-2 1-2 a 8-1 4-9 i-1 1-h 3-n 1-8 1 2-6 8-2 6-7 i-2 c-1b
1-1 c-6 8-c 11-1 1 2-1 1 2 6-3 1-6 1-2 1 1 2-1 1-3 1-1 9 2-4 1 9-9 2-1 y-n 2-q 1 1 5-9 1-x k 5 2-3
1e-7 1-5 2 1c-x 1-4 1-1 1 4 6 7-n 20-11 a-14 2 4-2h 5-1v 5-29 6-6 1-1q 1 1-3 2-6 1 1-3 2-12 1 1-3
2-u 1 1-3 2-6 1 1-3 2-6 1-6 1-m 1-u 1 1-3 2-6 1-12 1-i 6-r z-2c c-hh a-p 5-28 f-c 1-3 e-h 3-1 9-h
e-c 1-2 f-1i 7-7 1-1 b-6 1 3-9 12-9 6-2f 8-14 11z-4b 4-2h 6-l 2-5 2-11 2-5 2-7 1 1 1 1-u 2-1g 1-6
1 3-2 1-6 3-3 2-5 4-c 5-2 1-6 h 2q d 3m 4 2-9 1 3-4 6 1 1 1-3 1-2 1-6 3-2 5-4 m-z c2-1w q 7a-25
26z-2 p-8 7-4 2-4 4-2d 6-2 1-2h 1-3 5-13 4-2l 1-13 1k-18 3-z s-r 3-1d f-b 4-1a 1-3a 4-2q 2-u 1-52t
22-g4l 2i-wc 1gz-8mb 2k-6r1 2-1m 45-6 c-4 sp-p 6-p b-2g 3-5 2-5 2-5 2-2 mb-u 1-3 c-q 51-11 2-11
148i-6t a-12 3-1o 3-8 g-1 7-t 4-1b f6-2c 1-1y 1-1 2 2-1 2-3 1-b 1 1-3 1-1 1-1s 1-3 2-7 1-6 1-r 1-3
1-4 1 3-6 1-9d 4-81 7xy-wye g15-f1 gvz6-1ekd 2-1ekd
`;
