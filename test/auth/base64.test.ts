/**
 * Base64 for SCRAM (src/auth/base64.ts): the same text as Node's Buffer for any bytes, and a decoder
 * that accepts only canonical text (RFC 4648 with padding), as SCRAM's grammar requires.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeBase64, encodeBase64 } from '../../src/auth/base64.js';

describe('base64', () => {
  it('encodes any bytes as Buffer does, and decodes that text back to the bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), (bytes) => {
        const text = encodeBase64(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(decodeBase64(text)).toEqual(new Uint8Array(bytes));
      }),
      { numRuns: 2000 },
    );
  });

  it('RFC 4648 section 10 vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'Zg=='],
      ['fo', 'Zm8='],
      ['foo', 'Zm9v'],
      ['foob', 'Zm9vYg=='],
      ['fooba', 'Zm9vYmE='],
      ['foobar', 'Zm9vYmFy'],
    ];
    for (const [plain, encoded] of vectors) {
      expect(encodeBase64(new TextEncoder().encode(plain))).toBe(encoded);
      expect(new TextDecoder().decode(decodeBase64(encoded))).toBe(plain);
    }
  });

  it.each([
    { name: 'missing padding', text: 'Zg' },
    { name: 'a length that is not a multiple of 4', text: 'Zm9vY' },
    { name: 'whitespace', text: 'Zm9v Zm8=' },
    { name: 'a line break', text: 'Zm9v\nZm8=' },
    { name: 'padding in the middle', text: 'Zg==Zm8=' },
    { name: 'three padding characters', text: 'Z===' },
    { name: 'only padding', text: '====' },
    { name: 'the URL-safe alphabet', text: 'Zm-_' },
    { name: 'a non-ASCII character', text: 'Zm9\u00e9' },
    { name: 'non-zero bits under "=="', text: 'Zh==' },
    { name: 'non-zero bits under "="', text: 'Zm9=' },
  ])('refuses $name', ({ text }) => {
    expect(decodeBase64(text)).toBeUndefined();
  });

  it('the canonical spellings of the refused non-canonical ones decode (positive control)', () => {
    expect(decodeBase64('Zg==')).toEqual(new Uint8Array([0x66]));
    expect(decodeBase64('Zm8=')).toEqual(new Uint8Array([0x66, 0x6f]));
  });
});
