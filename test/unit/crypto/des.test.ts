// Single DES through 3DES-EDE with K‖K‖K (src/crypto/des.ts): known answers from FIPS 81 and
// NIST SP 800-17, and the DES steps of RFC 2759 §9.2 (ChallengeResponse of the worked example).
import { describe, expect, it } from 'vitest';
import { desEncrypt, desEncryptBlock, expandDesKey } from '../../../src/crypto/des.js';
import { fromHex, toHex } from '../../../src/crypto/bytes.js';

describe('DES-ECB single block', () => {
  it('FIPS 81 Appendix B, ECB example (first block "Now is t")', () => {
    // FIPS PUB 81 Table B1: key 0123456789ABCDEF, plaintext 4E6F772069732074 → 3FA40E8A984D4815.
    expect(toHex(desEncryptBlock(fromHex('0123456789abcdef'), fromHex('4e6f772069732074')))).toBe('3fa40e8a984d4815');
    // ... and the next two blocks of the same example.
    expect(toHex(desEncryptBlock(fromHex('0123456789abcdef'), fromHex('68652074696d6520')))).toBe('6a271787ab8883f9');
    expect(toHex(desEncryptBlock(fromHex('0123456789abcdef'), fromHex('666f7220616c6c20')))).toBe('893d51ec4b563b53');
  });

  it('NIST SP 800-17 Table B.1 (variable plaintext KAT, key 01..01), first rows', () => {
    const key = fromHex('0101010101010101');
    expect(toHex(desEncryptBlock(key, fromHex('8000000000000000')))).toBe('95f8a5e5dd31d900');
    expect(toHex(desEncryptBlock(key, fromHex('4000000000000000')))).toBe('dd7f121ca5015619');
  });

  it('ignores parity bits (RFC 2759 §8.6: DES takes parity bits it ignores)', () => {
    const withParity = fromHex('0123456789abcdef');
    const flipped = withParity.map((b) => b ^ 1);
    expect(toHex(desEncryptBlock(flipped, fromHex('4e6f772069732074')))).toBe('3fa40e8a984d4815');
  });

  it('expands 7-octet keys with odd parity in the low bit', () => {
    const k = expandDesKey(fromHex('ffffffffffffff'));
    expect(toHex(k)).toBe('fefefefefefefefe');
    const z = expandDesKey(fromHex('00000000000000'));
    expect(toHex(z)).toBe('0101010101010101');
    // 56 bits 0x0123456789ABCD cut into 7-bit groups.
    const e = expandDesKey(fromHex('0123456789abcd'));
    for (const b of e) {
      let ones = 0;
      for (let v = b; v; v >>= 1) ones += v & 1;
      expect(ones % 2).toBe(1);
    }
    // Worked out by hand (7-bit groups 00 48 68 56 3c 26 57 4d, each shifted left, parity added).
    expect(toHex(e)).toBe('0191d0ad794cae9b');
  });

  it('RFC 2759 §9.2: the three DES blocks of ChallengeResponse', () => {
    // PasswordHash 44EBBA8D5312B8D611474411F56989AE zero-padded to 21 octets, Challenge D02E4386BCE91226.
    const zHash = fromHex('44EBBA8D5312B8D611474411F56989AE0000000000');
    const challenge = fromHex('D02E4386BCE91226');
    const parts = [0, 7, 14].map((o) => toHex(desEncrypt(challenge, zHash.subarray(o, o + 7))));
    expect(parts.join('').toUpperCase()).toBe('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
  });

  it('rejects wrong sizes', () => {
    expect(() => desEncryptBlock(new Uint8Array(7), new Uint8Array(8))).toThrow(RangeError);
    expect(() => desEncrypt(new Uint8Array(8), new Uint8Array(8))).toThrow(RangeError);
  });
});
