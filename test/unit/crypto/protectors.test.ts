// SK payload protectors: AES-CBC (RFC 3602 §4), AES-GCM-16 (McGrew & Viega GCM test cases in the
// RFC 4106 salt|IV split), ChaCha20-Poly1305 (RFC 7539 §2.8.2 and RFC 7634 Appendix B), 3DES-CBC;
// round trips and tampering for every catalogue protector; IKE padding (RFC 7296 §3.14, RFC 5282 §3).
import { describe, expect, it } from 'vitest';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { aesGcm16Protector, cbcProtector, chacha20Poly1305Protector, padPlaintext, unpadPlaintext } from '../../../src/crypto/protectors.js';
import { AUTH_HMAC_SHA2_256_128 } from '../../../src/crypto/integ.js';
import { skProtectorFor } from '../../../src/crypto/catalogue.js';
import { seededRng } from '../../../src/crypto/random.js';
import { concat, fromHex, toHex, utf8 } from '../../../src/crypto/bytes.js';
import { EncrId, IntegId } from '../../../src/ike/constants.js';
import type { SkProtector } from '../../../src/crypto/suite.js';

const aes128cbcSha256 = (): SkProtector =>
  cbcProtector({ name: 'AES_CBC_128', cipher: 'aes-128-cbc', keyLength: 16, blockLength: 16, integ: AUTH_HMAC_SHA2_256_128 });

describe('AES-CBC (RFC 3602 §4)', () => {
  const integKey = new Uint8Array(32).fill(0x42);
  const aad = fromHex('00112233445566778899aabbccddeeff0011223344556677');
  const cases = [
    // RFC 3602 §4 Case #1: Encrypting 16 bytes (1 block) using AES-CBC with 128-bit key
    { key: '06a9214036b8a15b512e03d534120006', iv: '3dafba429d9eb430b422da802c9fac41', pt: toHex(utf8('Single block msg')), ct: 'e353779c1079aeb82708942dbe77181a' },
    // RFC 3602 §4 Case #2: Encrypting 32 bytes (2 blocks) using AES-CBC with 128-bit key
    {
      key: 'c286696d887c9aa0611bbb3e2025a45a',
      iv: '562e17996d093d28ddb3ba695a2e6f58',
      pt: '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f',
      ct: 'd296cd94c2cccf8a3a863028b5e1dc0a7586602d253cfff91b8266bea6d61ab1',
    },
  ];
  for (const [n, c] of cases.entries()) {
    it(`Case #${n + 1}: ciphertext, ICV = HMAC-SHA-256-128(aad | iv | ct), and open`, () => {
      const p = aes128cbcSha256();
      const keys = { enc: fromHex(c.key), integ: integKey };
      const iv = fromHex(c.iv);
      const sealed = p.seal(keys, iv, aad, fromHex(c.pt));
      const ctLen = sealed.length - p.icvLength;
      expect(toHex(sealed.subarray(0, ctLen))).toBe(c.ct);
      // Independent MAC computation (noble) over the RFC 7296 §3.14 MAC input.
      const icv = hmac(sha256, integKey, concat(aad, iv, fromHex(c.ct))).subarray(0, 16);
      expect(toHex(sealed.subarray(ctLen))).toBe(toHex(icv));
      expect(toHex(p.open(keys, iv, aad, sealed) ?? new Uint8Array(0))).toBe(c.pt);
    });
  }
});

describe('AES-GCM-16 (McGrew & Viega GCM spec test cases; key material = key | salt, RFC 4106/5282)', () => {
  // Nonce cafebabefacedbaddecaf888 split into salt cafebabe and explicit IV facedbaddecaf888
  // (as in strongSwan test_vectors/aes_gcm.c and the Linux kernel's rfc4106 vectors).
  const pt64 =
    'd9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255';
  const pt60 = pt64.slice(0, 120);
  const aad20 = 'feedfacedeadbeeffeedfacedeadbeefabaddad2';
  const k128 = 'feffe9928665731c6d6a8f9467308308';
  const k192 = 'feffe9928665731c6d6a8f9467308308feffe9928665731c';
  const k256 = 'feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308';
  const cases = [
    // Test Case 3 (AES-128, no AAD)
    { bits: 128 as const, key: k128, aad: '', pt: pt64, out: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f59854d5c2af327cd64a62cf35abd2ba6fab4' },
    // Test Case 4 (AES-128, 20 bytes AAD)
    { bits: 128 as const, key: k128, aad: aad20, pt: pt60, out: '42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e0915bc94fbc3221a5db94fae95ae7121a47' },
    // Test Case 9 (AES-192, no AAD)
    { bits: 192 as const, key: k192, aad: '', pt: pt64, out: '3980ca0b3c00e841eb06fac4872a2757859e1ceaa6efd984628593b40ca1e19c7d773d00c144c525ac619d18c84a3f4718e2448b2fe324d9ccda2710acade2569924a7c8587336bfb118024db8674a14' },
    // Test Case 15 (AES-256, no AAD)
    { bits: 256 as const, key: k256, aad: '', pt: pt64, out: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015adb094dac5d93471bdec1a502270e3cc6c' },
    // Test Case 16 (AES-256, 20 bytes AAD)
    { bits: 256 as const, key: k256, aad: aad20, pt: pt60, out: '522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f66276fc6ece0f4e1768cddf8853bb2d551b' },
  ];
  for (const c of cases) {
    it(`AES-${c.bits} ${c.aad ? 'with' : 'without'} AAD`, () => {
      const p = aesGcm16Protector(c.bits);
      expect(p.encKeyLength).toBe(c.bits / 8 + 4);
      const keys = { enc: fromHex(c.key + 'cafebabe'), integ: new Uint8Array(0) };
      const iv = fromHex('facedbaddecaf888');
      const sealed = p.seal(keys, iv, fromHex(c.aad), fromHex(c.pt));
      expect(toHex(sealed)).toBe(c.out);
      expect(toHex(p.open(keys, iv, fromHex(c.aad), sealed) ?? new Uint8Array(0))).toBe(c.pt);
    });
  }
});

describe('ChaCha20-Poly1305 (RFC 7634)', () => {
  const key = '808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f';

  it('RFC 7634 Appendix B: the IKEv2 example', () => {
    const p = chacha20Poly1305Protector();
    const keys = { enc: fromHex(key + 'a0a1a2a3'), integ: new Uint8Array(0) };
    const iv = fromHex('1011121314151617');
    const aad = fromHex('c0c1c2c3c4c5c6c7d0d1d2d3d4d5d6d72e202500000000090000004529000029');
    const pt = fromHex('0000000c000040010000000a00'); // Notify payload + Pad Length 0
    const sealed = p.seal(keys, iv, aad, pt);
    expect(toHex(sealed)).toBe('610394701f8d017f7c12924889' + '6b71bfe25236efd7cdc67066906315b2');
    expect(toHex(p.open(keys, iv, aad, sealed) ?? new Uint8Array(0))).toBe(toHex(pt));
  });

  it('RFC 7539 §2.8.2 AEAD example, nonce split as salt 07000000 | IV 4041424344454647', () => {
    const p = chacha20Poly1305Protector();
    const keys = { enc: fromHex(key + '07000000'), integ: new Uint8Array(0) };
    const pt = utf8("Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.");
    const sealed = p.seal(keys, fromHex('4041424344454647'), fromHex('50515253c0c1c2c3c4c5c6c7'), pt);
    expect(toHex(sealed)).toBe(
      'd31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d63dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b3692ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc3ff4def08e4b7a9de576d26586cec64b6116' +
        '1ae10b594f09e26a7e902ecbd0600691',
    );
  });
});

describe('every catalogue protector', () => {
  const suites: { encr: { id: number; keyBits?: number }; integ?: number }[] = [
    { encr: { id: EncrId.AES_CBC, keyBits: 128 }, integ: IntegId.HMAC_SHA2_256_128 },
    { encr: { id: EncrId.AES_CBC, keyBits: 192 }, integ: IntegId.HMAC_SHA2_384_192 },
    { encr: { id: EncrId.AES_CBC, keyBits: 256 }, integ: IntegId.HMAC_SHA2_512_256 },
    { encr: { id: EncrId.AES_CBC, keyBits: 256 }, integ: IntegId.HMAC_SHA1_96 },
    { encr: { id: EncrId.AES_CBC, keyBits: 128 }, integ: IntegId.AES_XCBC_96 },
    { encr: { id: EncrId.AES_CBC, keyBits: 128 }, integ: IntegId.HMAC_MD5_96 },
    { encr: { id: EncrId['3DES'] }, integ: IntegId.HMAC_SHA1_96 },
    { encr: { id: EncrId.AES_GCM_16, keyBits: 128 } },
    { encr: { id: EncrId.AES_GCM_16, keyBits: 192 } },
    { encr: { id: EncrId.AES_GCM_16, keyBits: 256 } },
    { encr: { id: EncrId.CHACHA20_POLY1305 } },
  ];
  const rng = seededRng('protectors');
  const aad = rng.bytes(32);

  for (const s of suites) {
    const p = skProtectorFor(s.encr, s.integ);
    const keys = { enc: rng.bytes(p.encKeyLength), integ: rng.bytes(p.integKeyLength) };

    it(`${p.name}${s.integ !== undefined ? ` + INTEG ${s.integ}` : ''}: seal/open round trip for several sizes`, () => {
      for (const len of [0, 1, 15, 16, 17, 100, 1024]) {
        const plaintext = padPlaintext(p, rng.bytes(len), rng);
        const iv = rng.bytes(p.ivLength);
        const sealed = p.seal(keys, iv, aad, plaintext);
        expect(sealed.length).toBe(plaintext.length + p.icvLength);
        expect(toHex(p.open(keys, iv, aad, sealed) ?? new Uint8Array(1))).toBe(toHex(plaintext));
      }
    });

    it(`${p.name}: any flipped bit in aad, iv, ciphertext or ICV makes open return undefined`, () => {
      const plaintext = padPlaintext(p, rng.bytes(40), rng);
      const iv = rng.bytes(p.ivLength);
      const sealed = p.seal(keys, iv, aad, plaintext);
      const flip = (b: Uint8Array, i: number): Uint8Array => {
        const c = b.slice();
        c[i] = (c[i] ?? 0) ^ 0x01;
        return c;
      };
      for (const i of [0, sealed.length - p.icvLength - 1, sealed.length - 1]) expect(p.open(keys, iv, aad, flip(sealed, i))).toBeUndefined();
      expect(p.open(keys, flip(iv, 0), aad, sealed)).toBeUndefined();
      expect(p.open(keys, iv, flip(aad, 5), sealed)).toBeUndefined();
      const otherKeys = { enc: flip(keys.enc, 0), integ: keys.integ.length > 0 ? flip(keys.integ, 0) : keys.integ };
      expect(p.open(otherKeys, iv, aad, sealed)).toBeUndefined();
    });

    it(`${p.name}: short or misaligned input yields undefined, not an exception`, () => {
      const iv = rng.bytes(p.ivLength);
      for (const len of [0, 1, p.icvLength - 1, p.icvLength, p.icvLength + 3]) {
        expect(p.open(keys, iv, aad, rng.bytes(len))).toBeUndefined();
      }
    });

    it(`${p.name}: wrong key or IV sizes are programming errors and throw`, () => {
      const pt = padPlaintext(p, new Uint8Array(8), rng);
      expect(() => p.seal({ enc: keys.enc.subarray(1), integ: keys.integ }, rng.bytes(p.ivLength), aad, pt)).toThrow(/misuse/);
      expect(() => p.seal(keys, rng.bytes(p.ivLength + 1), aad, pt)).toThrow(/misuse/);
    });
  }

  it('CBC seal refuses plaintext that is not block aligned', () => {
    const p = aes128cbcSha256();
    expect(() => p.seal({ enc: new Uint8Array(16), integ: new Uint8Array(32) }, new Uint8Array(16), aad, new Uint8Array(15))).toThrow(/padded/);
  });
});

describe('IKE padding (RFC 7296 §3.14, RFC 5282 §3)', () => {
  const rng = seededRng('padding');
  it('pads to the block length with the Pad Length octet last, and unpads back', () => {
    for (const bl of [8, 16]) {
      for (let len = 0; len < 40; len++) {
        const inner = rng.bytes(len);
        const padded = padPlaintext({ blockLength: bl }, inner, rng);
        expect(padded.length % bl).toBe(0);
        expect(padded.length - len).toBeGreaterThanOrEqual(1);
        expect(padded.length - len).toBeLessThanOrEqual(bl);
        expect(padded[padded.length - 1]).toBe(padded.length - len - 1);
        expect(toHex(unpadPlaintext(padded) ?? new Uint8Array(1))).toBe(toHex(inner));
      }
    }
  });

  it('AEAD (block length 1): only a zero Pad Length octet is appended', () => {
    const inner = fromHex('0000000c000040010000000a');
    expect(toHex(padPlaintext({ blockLength: 1 }, inner, rng))).toBe('0000000c000040010000000a00');
  });

  it('accepts any padding byte values and rejects a pad length beyond the plaintext', () => {
    expect(toHex(unpadPlaintext(fromHex('aabbccddeeff0a0b02')) ?? new Uint8Array(0))).toBe('aabbccddeeff');
    expect(unpadPlaintext(fromHex('0102030408'))).toBeUndefined();
    expect(unpadPlaintext(new Uint8Array(0))).toBeUndefined();
    expect(toHex(unpadPlaintext(fromHex('06ff0006ab0006')) ?? new Uint8Array(1))).toBe('');
    expect(unpadPlaintext(fromHex('07070707070707'))).toBeUndefined();
  });
});
