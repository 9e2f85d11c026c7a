// PRF known answers: HMAC-SHA2 from RFC 4231 / RFC 4868 §2.7.1, HMAC-SHA1 from RFC 2202,
// AES-XCBC-PRF-128 from RFC 3566 §4.6 / RFC 4434 §2, AES-CMAC-PRF-128 from RFC 4493 §4 / RFC 4615 §4,
// and prf+ (RFC 7296 §2.13) from NIST CAVP IKEv2 KDF samples as carried by NSS.
import { describe, expect, it } from 'vitest';
import {
  PRF_AES128_CMAC,
  PRF_AES128_XCBC,
  PRF_HMAC_SHA1,
  PRF_HMAC_SHA2_256,
  PRF_HMAC_SHA2_384,
  PRF_HMAC_SHA2_512,
  prfPlus,
} from '../../../src/crypto/prf.js';
import { fromHex, toHex, utf8 } from '../../../src/crypto/bytes.js';
import type { Prf } from '../../../src/crypto/suite.js';

const rep = (byte: number, n: number): Uint8Array => new Uint8Array(n).fill(byte);
const seq = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

describe('HMAC PRFs', () => {
  const cases: { name: string; prf: Prf; key: Uint8Array; data: Uint8Array; out: string }[] = [
    // RFC 4231 §4.2 Test Case 1 (= RFC 4868 §2.7.1 PRF-1)
    { name: 'SHA-256 TC1', prf: PRF_HMAC_SHA2_256, key: rep(0x0b, 20), data: utf8('Hi There'), out: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
    { name: 'SHA-384 TC1', prf: PRF_HMAC_SHA2_384, key: rep(0x0b, 20), data: utf8('Hi There'), out: 'afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6' },
    { name: 'SHA-512 TC1', prf: PRF_HMAC_SHA2_512, key: rep(0x0b, 20), data: utf8('Hi There'), out: '87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854' },
    // RFC 4231 §4.4 Test Case 3 (= RFC 4868 §2.7.1 PRF-3)
    { name: 'SHA-256 TC3', prf: PRF_HMAC_SHA2_256, key: rep(0xaa, 20), data: rep(0xdd, 50), out: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
    { name: 'SHA-512 TC3', prf: PRF_HMAC_SHA2_512, key: rep(0xaa, 20), data: rep(0xdd, 50), out: 'fa73b0089d56a284efb0f0756c890be9b1b5dbdd8ee81a3655f83e33b2279d39bf3e848279a722c806b485a47e67c807b946a337bee8942674278859e13292fb' },
    // RFC 4231 §4.5 Test Case 4 (25-byte key)
    { name: 'SHA-384 TC4', prf: PRF_HMAC_SHA2_384, key: Uint8Array.from({ length: 25 }, (_, i) => i + 1), data: rep(0xcd, 50), out: '3e8a69b7783c25851933ab6290af6ca77a9981480850009cc5577c6e1f573b4e6801dd23c4a7d679ccf8a386c674cffb' },
    // RFC 4231 §4.7 Test Case 6 (131-byte key, hashed first)
    { name: 'SHA-256 TC6', prf: PRF_HMAC_SHA2_256, key: rep(0xaa, 131), data: utf8('Test Using Larger Than Block-Size Key - Hash Key First'), out: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54' },
    // RFC 2202 §3 Test Case 1 (HMAC-SHA-1)
    { name: 'SHA-1 TC1', prf: PRF_HMAC_SHA1, key: rep(0x0b, 20), data: utf8('Hi There'), out: 'b617318655057264e28bc0b6fb378c8ef146be00' },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const out = c.prf.compute(c.key, c.data);
      expect(toHex(out)).toBe(c.out);
      expect(out.length).toBe(c.prf.outputLength);
    });
  }
});

describe('PRF_AES128_XCBC', () => {
  // RFC 3566 §4.6 Test Cases #1–#5 (full 128-bit MAC = RFC 4434 PRF output for 16-byte keys)
  const key = seq(16);
  const cases: [number, string][] = [
    [0, '75f0251d528ac01c4573dfd584d79f29'],
    [3, '5b376580ae2f19afe7219ceef172756f'],
    [16, 'd2a246fa349b68a79998a4394ff7a263'],
    [20, '47f51b4564966215b8985c63055ed308'],
    [32, 'f54f0ec8d2b9f3d36807734bd5283fd4'],
  ];
  for (const [len, out] of cases) {
    it(`RFC 3566 §4.6 message of ${len} bytes`, () => expect(toHex(PRF_AES128_XCBC.compute(key, seq(len)))).toBe(out));
  }
  // RFC 4434 §2 test cases for the key length rules (10-byte key padded, 18-byte key compressed)
  it('RFC 4434 §2: 10-byte key is zero-padded', () => {
    expect(toHex(PRF_AES128_XCBC.compute(seq(10), seq(20)))).toBe('0fa087af7d866e7653434e602fdde835');
  });
  it('RFC 4434 §2: 18-byte key is replaced by XCBC(0^128, key)', () => {
    const k = new Uint8Array([...seq(16), 0xed, 0xcb]);
    expect(toHex(PRF_AES128_XCBC.compute(k, seq(20)))).toBe('8cd3c93ae598a9803006ffb67c40e9e4');
  });
});

describe('PRF_AES128_CMAC', () => {
  // RFC 4493 §4 Examples 1–4
  const key = fromHex('2b7e151628aed2a6abf7158809cf4f3c');
  const msg = fromHex(
    '6bc1bee22e409f96e93d7e117393172aae2d8a571e03ac9c9eb76fac45af8e5130c81c46a35ce411e5fbc1191a0a52eff69f2445df4f9b17ad2b417be66c3710',
  );
  const cases: [number, string][] = [
    [0, 'bb1d6929e95937287fa37d129b756746'],
    [16, '070a16b46b4d4144f79bdd9dd04a287c'],
    [40, 'dfa66747de9ae63030ca32611497c827'],
    [64, '51f0bebf7e3b9d92fc49741779363cfe'],
  ];
  for (const [len, out] of cases) {
    it(`RFC 4493 §4 message of ${len} bytes`, () => expect(toHex(PRF_AES128_CMAC.compute(key, msg.subarray(0, len)))).toBe(out));
  }
  // RFC 4615 §4 test vectors: 18-, 16- and 10-byte keys
  it('RFC 4615 §4: 18/16/10-byte keys', () => {
    expect(toHex(PRF_AES128_CMAC.compute(new Uint8Array([...seq(16), 0xed, 0xcb]), seq(20)))).toBe('84a348a4a45d235babfffc0d2b4da09a');
    expect(toHex(PRF_AES128_CMAC.compute(seq(16), seq(20)))).toBe('980ae87b5f4c9c5214f5b6a8455e4c2d');
    expect(toHex(PRF_AES128_CMAC.compute(seq(10), seq(20)))).toBe('290d9e112edb09ee141fcf64c0b72f3d');
  });
});

describe('prfPlus (RFC 7296 §2.13)', () => {
  // NIST CAVP IKEv2 KDF sample (SHA-256), NSS security/nss/gtests/common/testvectors/ike-sha256-vectors.h
  // vector 8 ("ikePlus"): key = SKEYSEED, seed = Ni | Nr | SPIi | SPIr, 132 bytes out.
  const sha256Key = fromHex('5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe');
  const sha256Seed = fromHex('3f302be1abcb28e1' + '8c332ee006064c9b' + '40dac39e1e1a8640' + '8619a1cf9a6e4c07');
  const sha256Out =
    '0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ece98aca531188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986d12d4aad';

  it('SHA-256, 132 / 32 / 15 bytes (NSS ike-sha256-vectors.h #8, #9, #10)', () => {
    expect(toHex(prfPlus(PRF_HMAC_SHA2_256, sha256Key, sha256Seed, 132))).toBe(sha256Out);
    expect(toHex(prfPlus(PRF_HMAC_SHA2_256, sha256Key, sha256Seed, 32))).toBe(sha256Out.slice(0, 64));
    expect(toHex(prfPlus(PRF_HMAC_SHA2_256, sha256Key, sha256Seed, 15))).toBe('0b137d669b0947d7d026d593f0305a');
  });

  it('SHA-1, 132 / 40 bytes (NIST CAVP sample via NSS ike-sha1-vectors.h #8, #9)', () => {
    const key = fromHex('a9a7b222b59f8f48645f28a1db5b5f5d7479cba7');
    const seed = fromHex('32b50d5f4a3763f3' + '9206a04b26564cb1' + '34c9e7c188868785' + '3ff77d760d2b2199');
    const out =
      'a14293677cc80ff8f9cc0eee30d895da9d8f405666e30ef0dfcb63c634a46002a2a63080e514a062768b76606f9fa5e992204fc5a670bde3f10d6b027113936a5c55b648a194ae587b0088d52204b702c979fa280870d2ed41efa9c549fd11198af1670b143d384bd275c5f594cf266b05ebadca855e4249520a441a81157435a7a56cc4';
    expect(toHex(prfPlus(PRF_HMAC_SHA1, key, seed, 132))).toBe(out);
    expect(toHex(prfPlus(PRF_HMAC_SHA1, key, seed, 40))).toBe(out.slice(0, 80));
  });

  it('AES128-XCBC, 132 bytes (NSS ike-aesxcbc-vectors.h #8, NSS self-generated)', () => {
    const key = fromHex('08b95345c9557240ddc98d6e1dfda875');
    const seed = fromHex('32b50d5f4a3763f3' + '9206a04b26564cb1' + '34c9e7c188868785' + '3ff77d760d2b2199');
    const out =
      'efa38ecee9fd05062f64b655105436d54b4728da66f3bc5768636170ff5017ab082342a683e7144a58d549c53d4575a2897d14c7c687040e86384065456b8dcd8aaea88b85b5e4d8ab2f61c015859337000550cda1750a15c1f90af0ddd296e0a7f291afe46295dd3108078bd8eadf09bc614c205a7c283907c3e6a384ad3f5373887e83';
    expect(toHex(prfPlus(PRF_AES128_XCBC, key, seed, 132))).toBe(out);
  });

  it('allows exactly 255 blocks and refuses one byte more', () => {
    const key = rep(1, 32);
    expect(prfPlus(PRF_HMAC_SHA2_256, key, new Uint8Array(0), 255 * 32).length).toBe(255 * 32);
    expect(() => prfPlus(PRF_HMAC_SHA2_256, key, new Uint8Array(0), 255 * 32 + 1)).toThrow(RangeError);
  });

  it('length 0 gives an empty result', () => {
    expect(prfPlus(PRF_HMAC_SHA2_256, rep(1, 32), rep(2, 8), 0).length).toBe(0);
  });
});
