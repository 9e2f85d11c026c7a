// SKEYSEED, SK_* split, rekey SKEYSEED and CHILD_SA KEYMAT (RFC 7296 §2.13–§2.18) against the
// NIST CAVP IKEv2 KDF samples that NSS carries in security/nss/gtests/common/testvectors/
// (ike-sha1-vectors.h, ike-sha256-vectors.h: "ikeGxy" = SKEYSEED, "ikeV2Rekey", "ikePlus").
import { describe, expect, it } from 'vitest';
import { childKeymat, deriveIkeKeys, rekeySkeyseed, skeyseed } from '../../../src/ike/sa/keymat.js';
import { PRF_AES128_CMAC, PRF_AES128_XCBC, PRF_HMAC_SHA1, PRF_HMAC_SHA2_256, prfPlus } from '../../../src/crypto/prf.js';
import { concat, fromHex, toHex } from '../../../src/crypto/bytes.js';

describe('SKEYSEED = prf(Ni | Nr, g^ir)', () => {
  it('SHA-1 (NIST CAVP sample, NSS ike-sha1-vectors.h #6)', () => {
    const gir = fromHex('4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52');
    const out = skeyseed(PRF_HMAC_SHA1, fromHex('32b50d5f4a3763f3'), fromHex('9206a04b26564cb1'), gir);
    expect(toHex(out)).toBe('a9a7b222b59f8f48645f28a1db5b5f5d7479cba7');
  });

  it('SHA-256 (NIST CAVP sample, NSS ike-sha256-vectors.h #6 and #1)', () => {
    const gir = fromHex('0f4d257d7a58fc4545c7d7a88119eee5d5c9690c5b4c989171d3abbfd99d1d29');
    expect(toHex(skeyseed(PRF_HMAC_SHA2_256, fromHex('3f302be1abcb28e1'), fromHex('8c332ee006064c9b'), gir))).toBe(
      '5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe',
    );
    // #1: 32-byte g^ir with long nonces
    const ni =
      'b1dee62505b47b223bae14ce7a5b757402ad1587511618d09f94950d47f1d8d4ce86aca12d78db9854d86019ad735757ae79d8932ac0c7db842c85060150ca875ea5d47e3cfcb2a05922ebb7959d49b9797a2289676ee79a1d9a18b790f87e4771ddaf4be3376057a553162f68fe429aca73b07234543801ba2122b1bde82251770d05df813cf556a11ca4dc43ffcb85a97dbed16e2fda6985e07e31be6364899e63c507c7c616e5eb7765a53560f76772de43918ba07badfe85244dcdcd917cb065afb60e3b7e68b54dd94bfc7c31c8b752892781ed3cc4b7f28fbc0ab9af908f5ae1f09f893f80100a7b3135993161b51fbba3bbb24b9f88c6147de82cd6f0';
    const nr =
      'f0acfef2ad1f7add0eaafda78c1cf1097d9fc91cb04a7c145069ac426fd164cbe661b1dd2df0fb84e19512181f0d8ea50b7860845f332757a8e56d2a3b7be436b5718a2d49baa996a4616684a208c2d611cd65e605dca6e3d3f116859b4410fe13679696bb2e23c08a40c7e1316d54b4c9c0286701c221151b3642cb4112ca1a53e0e597a7e29c634caed86ca3c31973d37b4c346134fd6784cd99913feedf3d29d89a0a02a5a750f02f5738109dcc670bb27701fb59f78e83b76860c3fec079a1fc8c937ddb58ae7500422b7e49ce63759c65b6bc439381d56bcc159edede894b073841036ebfa050a5b3e7c876a3f18def26b1768a263ac66c9d83b680eb5e';
    const gir1 = fromHex('a1ff3dc6cf9b4c04709943cb4ca1f1789bcf360b03f1d027de3ae8ee039e9155');
    expect(toHex(skeyseed(PRF_HMAC_SHA2_256, fromHex(ni), fromHex(nr), gir1))).toBe(
      '750c5c94b9c2ec20b68033e024dadf0fa87e8b48c6561b21c72478451a06583d',
    );
  });

  it('AES128-XCBC with 8-byte nonces (NSS ike-aesxcbc-vectors.h #6, NSS self-generated)', () => {
    const gir = fromHex('4b2c1f971981a8ad8d0abeafabf38cf75fc8349c148142465ed9c8b516b8be52');
    expect(toHex(skeyseed(PRF_AES128_XCBC, fromHex('32b50d5f4a3763f3'), fromHex('9206a04b26564cb1'), gir))).toBe(
      '08b95345c9557240ddc98d6e1dfda875',
    );
  });

  it('fixed-key PRFs take the first 8 octets of each nonce (RFC 7296 §2.14)', () => {
    const ni = Uint8Array.from({ length: 32 }, (_, i) => i);
    const nr = Uint8Array.from({ length: 32 }, (_, i) => 100 + i);
    const gir = new Uint8Array(64).fill(7);
    const key = concat(ni.subarray(0, 8), nr.subarray(0, 8));
    expect(toHex(skeyseed(PRF_AES128_CMAC, ni, nr, gir))).toBe(toHex(PRF_AES128_CMAC.compute(key, gir)));
    // and not the variable-key rule applied to the whole Ni | Nr
    expect(toHex(skeyseed(PRF_AES128_CMAC, ni, nr, gir))).not.toBe(toHex(PRF_AES128_CMAC.compute(concat(ni, nr), gir)));
  });
});

describe('rekeySkeyseed = prf(SK_d (old), g^ir (new) | Ni | Nr) (RFC 7296 §2.18)', () => {
  it('SHA-1 (NIST CAVP sample, NSS ike-sha1-vectors.h #7)', () => {
    const out = rekeySkeyseed(
      PRF_HMAC_SHA1,
      fromHex('a14293677cc80ff8f9cc0eee30d895da9d8f4056'),
      fromHex('863f3c9d06efd39d2b907b97f8699e5dd5251ef64a2a176f36ee40c87d4f9330'),
      fromHex('32b50d5f4a3763f3'),
      fromHex('9206a04b26564cb1'),
    );
    expect(toHex(out)).toBe('63e81194946ebd05df7df5ebf5d8750056bf1f1d');
  });
  it('SHA-256 (NIST CAVP sample, NSS ike-sha256-vectors.h #7)', () => {
    const out = rekeySkeyseed(
      PRF_HMAC_SHA2_256,
      fromHex('0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec'),
      fromHex('25f3b12d6f282739256e39bf54eda53b60ffcf379bb7bcc90c27b4c4c578616c'),
      fromHex('3f302be1abcb28e1'),
      fromHex('8c332ee006064c9b'),
    );
    expect(toHex(out)).toBe('2d63f6debc92048b4fef3889c4c99ca67d6496e0fac14a2bca9a2d6566ff2398');
  });
});

describe('deriveIkeKeys (RFC 7296 §2.14)', () => {
  // NIST CAVP sample, NSS ike-sha256-vectors.h #8: the first 132 octets of
  // prf+(SKEYSEED, Ni | Nr | SPIi | SPIr); SK_d is the first 32 (and is the "old SK_d" of #7).
  const skeyseedValue = fromHex('5f00d1bd2c58ec224b1e6b71fa0f19a1faa7a193952c444411b47c1a9d8ba6fe');
  const ni = fromHex('3f302be1abcb28e1');
  const nr = fromHex('8c332ee006064c9b');
  const spiI = fromHex('40dac39e1e1a8640');
  const spiR = fromHex('8619a1cf9a6e4c07');
  const first132 =
    '0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ece98aca531188d16041b3bb936d2dbb3b4993a6e768a809160de45d0283f273a6cdf6854379e31be72b8d3d1fa990cf9c5b015ca9f918a7df6253c958114a09d4e1c19bdcd4db14b29d98db1a74ad405c588662c14a04d0d36aa4ab55e90f8986d12d4aad';

  it('splits SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr in that order and sizes', () => {
    const k = deriveIkeKeys(PRF_HMAC_SHA2_256, skeyseedValue, ni, nr, spiI, spiR, { integKeyLength: 32, encKeyLength: 32 });
    expect([k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr].map((x) => x.length)).toEqual([32, 32, 32, 32, 32, 32, 32]);
    const all = toHex(concat(k.skD, k.skAi, k.skAr, k.skEi, k.skEr, k.skPi, k.skPr));
    expect(all.slice(0, 264)).toBe(first132);
    expect(toHex(k.skD)).toBe('0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec');
  });

  it('AEAD suites have empty SK_a and salted SK_e', () => {
    const k = deriveIkeKeys(PRF_HMAC_SHA2_256, skeyseedValue, ni, nr, spiI, spiR, { integKeyLength: 0, encKeyLength: 36 });
    expect(k.skAi.length).toBe(0);
    expect(k.skAr.length).toBe(0);
    expect(k.skEi.length).toBe(36);
    expect(toHex(concat(k.skD, k.skEi, k.skEr, k.skPi)).slice(0, 264)).toBe(first132);
  });
});

describe('childKeymat (RFC 7296 §2.17)', () => {
  const prf = PRF_HMAC_SHA2_256;
  const skD = fromHex('0b137d669b0947d7d026d593f0305ad401ff0c471357d695778a9c7f4b4869ec');
  const ni = fromHex('3f302be1abcb28e1');
  const nr = fromHex('8c332ee006064c9b');

  it('takes enc then integ for i->r, then enc then integ for r->i, from prf+(SK_d, Ni | Nr)', () => {
    const sizes = { encKeyLength: 16, integKeyLength: 32 };
    const km = prfPlus(prf, skD, concat(ni, nr), 96);
    const c = childKeymat(prf, skD, ni, nr, undefined, sizes);
    expect(toHex(c.initiatorToResponder.enc)).toBe(toHex(km.subarray(0, 16)));
    expect(toHex(c.initiatorToResponder.integ)).toBe(toHex(km.subarray(16, 48)));
    expect(toHex(c.responderToInitiator.enc)).toBe(toHex(km.subarray(48, 64)));
    expect(toHex(c.responderToInitiator.integ)).toBe(toHex(km.subarray(64, 96)));
  });

  it('with PFS prepends the new g^ir to the seed', () => {
    const gir = new Uint8Array(32).fill(9);
    const withPfs = childKeymat(prf, skD, ni, nr, gir, { encKeyLength: 36, integKeyLength: 0 });
    const km = prfPlus(prf, skD, concat(gir, ni, nr), 72);
    expect(toHex(withPfs.initiatorToResponder.enc)).toBe(toHex(km.subarray(0, 36)));
    expect(withPfs.initiatorToResponder.integ.length).toBe(0);
    expect(toHex(withPfs.responderToInitiator.enc)).toBe(toHex(km.subarray(36, 72)));
    const without = childKeymat(prf, skD, ni, nr, undefined, { encKeyLength: 36, integKeyLength: 0 });
    expect(toHex(without.initiatorToResponder.enc)).not.toBe(toHex(withPfs.initiatorToResponder.enc));
  });
});
