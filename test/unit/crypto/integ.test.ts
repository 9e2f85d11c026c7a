// Truncated integrity ICVs: RFC 4868 §2.7.2 (HMAC-SHA-256-128 / -384-192 / -512-256), RFC 2404
// (HMAC-SHA-1-96, RFC 2202 §3 data), RFC 3566 §4.6 (AES-XCBC-MAC-96).
import { describe, expect, it } from 'vitest';
import {
  AUTH_AES_XCBC_96,
  AUTH_HMAC_SHA1_96,
  AUTH_HMAC_SHA2_256_128,
  AUTH_HMAC_SHA2_384_192,
  AUTH_HMAC_SHA2_512_256,
} from '../../../src/crypto/integ.js';
import { toHex, utf8 } from '../../../src/crypto/bytes.js';

const rep = (byte: number, n: number): Uint8Array => new Uint8Array(n).fill(byte);
const seq = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i);

describe('HMAC-SHA2 truncated (RFC 4868 §2.7.2)', () => {
  // RFC 4868 §2.7.2.1–.3 Test Case AUTH256-1 / AUTH384-1 / AUTH512-1: key of 0x0b, "Hi There"
  it('Test Case AUTH-1', () => {
    expect(toHex(AUTH_HMAC_SHA2_256_128.mac(rep(0x0b, 32), utf8('Hi There')))).toBe('198a607eb44bfbc69903a0f1cf2bbdc5');
    expect(toHex(AUTH_HMAC_SHA2_384_192.mac(rep(0x0b, 48), utf8('Hi There')))).toBe('b6a8d5636f5c6a7224f9977dcf7ee6c7fb6d0c48cbdee973');
    expect(toHex(AUTH_HMAC_SHA2_512_256.mac(rep(0x0b, 64), utf8('Hi There')))).toBe('637edc6e01dce7e6742a99451aae82df23da3e92439e590e43e761b33e910fb8');
  });
  // RFC 4868 §2.7.2 Test Case AUTH-2: key "Jefe" repeated to the key length
  it('Test Case AUTH-2', () => {
    const data = utf8('what do ya want for nothing?');
    expect(toHex(AUTH_HMAC_SHA2_256_128.mac(utf8('Jefe'.repeat(8)), data))).toBe('167f928588c5cc2eef8e3093caa0e87c');
    expect(toHex(AUTH_HMAC_SHA2_384_192.mac(utf8('Jefe'.repeat(12)), data))).toBe('2c7353974f1842fd66d53c452ca42122b28c0b594cfb184d');
    expect(toHex(AUTH_HMAC_SHA2_512_256.mac(utf8('Jefe'.repeat(16)), data))).toBe('cb370917ae8a7ce28cfd1d8f4705d6141c173b2a9362c15df235dfb251b15454');
  });
  // RFC 4868 §2.7.2 Test Case AUTH-3: key of 0xaa, 50 bytes of 0xdd
  it('Test Case AUTH-3, fed in several parts', () => {
    const d = rep(0xdd, 50);
    expect(toHex(AUTH_HMAC_SHA2_256_128.mac(rep(0xaa, 32), d.subarray(0, 7), d.subarray(7)))).toBe('cdcb1220d1ecccea91e53aba3092f962');
    expect(toHex(AUTH_HMAC_SHA2_384_192.mac(rep(0xaa, 48), d))).toBe('809f439be00274321d4a538652164b53554a508184a0c316');
    expect(toHex(AUTH_HMAC_SHA2_512_256.mac(rep(0xaa, 64), d))).toBe('2ee7acd783624ca9398710f3ee05ae41b9f9b0510c87e49e586cc9bf961733d8');
  });
});

describe('HMAC-SHA1-96 (RFC 2404, data of RFC 2202 §3 test case 1)', () => {
  it('is the first 96 bits of HMAC-SHA-1', () => {
    expect(toHex(AUTH_HMAC_SHA1_96.mac(rep(0x0b, 20), utf8('Hi There')))).toBe('b617318655057264e28bc0b6');
  });
});

describe('AES-XCBC-MAC-96 (RFC 3566 §4.6)', () => {
  const key = seq(16);
  const cases: [number, string][] = [
    [0, '75f0251d528ac01c4573dfd5'],
    [3, '5b376580ae2f19afe7219cee'],
    [16, 'd2a246fa349b68a79998a439'],
    [20, '47f51b4564966215b8985c63'],
    [32, 'f54f0ec8d2b9f3d36807734b'],
  ];
  for (const [len, mac] of cases) {
    it(`${len}-byte message`, () => expect(toHex(AUTH_AES_XCBC_96.mac(key, seq(len)))).toBe(mac));
  }
  // RFC 3566 §4.6 Test Case #7: 1000 bytes of zeros
  it('1000-byte message of zeros, given in two parts', () => {
    const z = new Uint8Array(1000);
    expect(toHex(AUTH_AES_XCBC_96.mac(key, z.subarray(0, 333), z.subarray(333)))).toBe('f0dafee895db30253761103b');
  });
});
