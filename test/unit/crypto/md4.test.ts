// MD4 (src/crypto/md4.ts) against the RFC 1320 §A.5 test suite, plus block-boundary lengths
// cross-checked with OpenSSL's MD4 (legacy provider, in a child process).
import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
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

  // OpenSSL's MD4 is only reachable with the legacy provider, which the daemon must not need;
  // a child node process with --openssl-legacy-provider computes the reference for the padding
  // edge cases (55/56/63/64/65 octets …).
  it('matches OpenSSL MD4 around block boundaries', () => {
    const lengths = [55, 56, 57, 63, 64, 65, 119, 120, 128, 1000];
    const make = (n: number) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
    const script = `const c=require('node:crypto');const out=${JSON.stringify(lengths)}.map(n=>c.createHash('md4').update(Uint8Array.from({length:n},(_,i)=>(i*31+n)&0xff)).digest('hex'));process.stdout.write(JSON.stringify(out))`;
    const reference = JSON.parse(execFileSync(process.execPath, ['--openssl-legacy-provider', '-e', script], { encoding: 'utf8' })) as string[];
    expect(lengths.map((n) => toHex(md4(make(n))))).toEqual(reference);
  });
});
