// MD4 (src/crypto/md4.ts) against the RFC 1320 §A.5 test suite, plus block-boundary lengths
// cross-checked with OpenSSL's MD4 when node runs with the legacy provider.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { md4 } from '../../../src/crypto/md4.js';
import { toHex, utf8 } from '../../../src/crypto/bytes.js';

describe('MD4 (RFC 1320)', () => {
  // RFC 1320 Appendix A.5 "Test suite".
  const suite: [string, string][] = [
    ['', '31d6cfe0d16ae931b73c59d7e0c089c0'],
    ['a', 'bde52cb31de33e46245e05fbdbd6fb24'],
    ['abc', 'a448017aaf21d8525fc10ae87aa6729d'],
    ['message digest', 'd9130a8164549fe818874806e1c7014b'],
    ['abcdefghijklmnopqrstuvwxyz', 'd79e1c308aa5bbcdeea8ed63df412da9'],
    ['ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', '043f8582f241db351ce627e153e7f0e4'],
    ['12345678901234567890123456789012345678901234567890123456789012345678901234567890', 'e33b4ddc9c38f2199c3e7b164fcc0536'],
  ];
  for (const [input, digest] of suite) {
    it(`MD4("${input.length > 20 ? `${input.slice(0, 20)}…` : input}")`, () => {
      expect(toHex(md4(utf8(input)))).toBe(digest);
    });
  }

  it('does not modify its input', () => {
    const input = utf8('message digest');
    md4(input);
    expect(new TextDecoder().decode(input)).toBe('message digest');
  });

  // OpenSSL's MD4 is only reachable with --openssl-legacy-provider; when it is, compare the
  // padding edge cases (55/56/63/64/65 octets) with it.
  let opensslMd4: ((b: Uint8Array) => string) | undefined;
  try {
    createHash('md4');
    opensslMd4 = (b) => createHash('md4').update(b).digest('hex');
  } catch {
    opensslMd4 = undefined;
  }
  it.skipIf(opensslMd4 === undefined)('matches OpenSSL MD4 around block boundaries', () => {
    for (const n of [55, 56, 57, 63, 64, 65, 119, 120, 128, 1000]) {
      const b = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      expect(toHex(md4(b))).toBe(opensslMd4!(b));
    }
  });
});
