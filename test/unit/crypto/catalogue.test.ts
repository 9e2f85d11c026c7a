// The transform catalogue: lookups, key sizes (RFC 5282 §7.1, RFC 7634 §2), XFRM names as
// strongSwan's kernel_netlink uses them, and clear errors for unknown ids.
import { describe, expect, it } from 'vitest';
import {
  CATALOGUE,
  encrKeyLength,
  espTransformSet,
  integKeyLength,
  isSupported,
  keGroupFor,
  prfFor,
  skProtectorFor,
  transformName,
} from '../../../src/crypto/catalogue.js';
import { EncrId, EsnId, IntegId, KeId, PrfId, TransformType } from '../../../src/ike/constants.js';

describe('catalogue', () => {
  it('has exactly one entry per (type, id)', () => {
    const keys = CATALOGUE.map((e) => `${e.type}:${e.id}`);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('answers isSupported for ids, key sizes and KE NONE', () => {
    expect(isSupported(TransformType.ENCR, EncrId.AES_CBC, 256)).toBe(true);
    expect(isSupported(TransformType.ENCR, EncrId.AES_CBC, 512)).toBe(false);
    expect(isSupported(TransformType.ENCR, EncrId.AES_CCM_16, 128)).toBe(false);
    expect(isSupported(TransformType.ENCR, EncrId.DES)).toBe(false);
    expect(isSupported(TransformType.KE, KeId.NONE)).toBe(true);
    expect(isSupported(TransformType.KE, KeId.MODP_768)).toBe(false);
    expect(isSupported(9, 1)).toBe(false);
  });

  it('marks 3DES, MD5, SHA-1 and MODP-1024/1536 legacy; 3DES and MD5 are explicit-only', () => {
    const legacy = CATALOGUE.filter((e) => e.legacy).map((e) => e.name).sort();
    expect(legacy).toEqual(['3DES_CBC', 'HMAC_MD5_96', 'HMAC_SHA1_96', 'MODP_1024', 'MODP_1536', 'PRF_HMAC_MD5', 'PRF_HMAC_SHA1'].sort());
    const explicitOnly = CATALOGUE.filter((e) => e.explicitOnly).map((e) => e.name).sort();
    expect(explicitOnly).toEqual(['3DES_CBC', 'HMAC_MD5_96', 'PRF_HMAC_MD5']);
  });

  it('gives key lengths in bytes including the AEAD salt', () => {
    expect(encrKeyLength(EncrId.AES_CBC, 128)).toBe(16);
    expect(encrKeyLength(EncrId.AES_GCM_16, 256)).toBe(36);
    expect(encrKeyLength(EncrId.CHACHA20_POLY1305)).toBe(36);
    expect(encrKeyLength(EncrId['3DES'])).toBe(24);
    expect(integKeyLength(IntegId.HMAC_SHA2_384_192)).toBe(48);
    expect(integKeyLength(IntegId.AES_XCBC_96)).toBe(16);
    expect(integKeyLength(undefined)).toBe(0);
    expect(() => encrKeyLength(EncrId.AES_CBC, 100)).toThrow(/unsupported key size 100/);
    expect(() => encrKeyLength(EncrId.AES_CBC)).toThrow(/unsupported key size/);
  });

  it('builds XFRM transform sets with strongSwan kernel_netlink names', () => {
    expect(espTransformSet({ id: EncrId.AES_GCM_16, keyBits: 256 }, undefined, false)).toEqual({
      encr: { id: EncrId.AES_GCM_16, keyBits: 256, kernel: { family: 'aead', name: 'rfc4106(gcm(aes))', icvBits: 128 }, keyLength: 36 },
      esn: false,
    });
    expect(espTransformSet({ id: EncrId.CHACHA20_POLY1305 }, undefined, true).encr.kernel.name).toBe('rfc7539esp(chacha20,poly1305)');
    const cbc = espTransformSet({ id: EncrId.AES_CBC, keyBits: 128 }, IntegId.HMAC_SHA2_256_128, true);
    expect(cbc.encr.kernel).toEqual({ family: 'crypt', name: 'cbc(aes)' });
    expect(cbc.integ).toEqual({ id: IntegId.HMAC_SHA2_256_128, kernel: { family: 'auth', name: 'hmac(sha256)', truncBits: 128 }, keyLength: 32 });
    expect(espTransformSet({ id: EncrId['3DES'] }, IntegId.HMAC_SHA1_96, false).integ?.kernel).toEqual({ family: 'auth', name: 'hmac(sha1)', truncBits: 96 });
    expect(espTransformSet({ id: EncrId.AES_CBC, keyBits: 256 }, IntegId.HMAC_SHA2_384_192, false).integ?.kernel.truncBits).toBe(192);
    expect(espTransformSet({ id: EncrId.AES_CBC, keyBits: 256 }, IntegId.HMAC_SHA2_512_256, false).integ?.kernel.truncBits).toBe(256);
    expect(() => espTransformSet({ id: EncrId.AES_CBC, keyBits: 256 }, undefined, false)).toThrow(/needs an integrity/);
  });

  it('factories return working objects and fail clearly on unknown ids', () => {
    expect(prfFor(PrfId.HMAC_SHA2_256).outputLength).toBe(32);
    expect(() => prfFor(99)).toThrow(/unsupported PRF transform id 99/);
    expect(skProtectorFor({ id: EncrId.AES_GCM_16, keyBits: 128 }).icvLength).toBe(16);
    expect(skProtectorFor({ id: EncrId.AES_CBC, keyBits: 256 }, IntegId.HMAC_SHA1_96).icvLength).toBe(12);
    expect(() => skProtectorFor({ id: EncrId.AES_CBC, keyBits: 256 })).toThrow(/needs an integrity/);
    expect(() => skProtectorFor({ id: 77 })).toThrow(/unsupported ENCR transform id 77/);
    expect(keGroupFor(KeId.ECP_256).publicLength).toBe(64);
    expect(keGroupFor(KeId.MODP_3072).publicLength).toBe(384);
  });

  it('names transforms like strongSwan logs', () => {
    expect(transformName(TransformType.ENCR, EncrId.AES_CBC, 256)).toBe('AES_CBC_256');
    expect(transformName(TransformType.ENCR, EncrId.AES_GCM_16, 128)).toBe('AES_GCM_16_128');
    expect(transformName(TransformType.ENCR, EncrId['3DES'])).toBe('3DES_CBC');
    expect(transformName(TransformType.INTEG, IntegId.HMAC_SHA1_96)).toBe('HMAC_SHA1_96');
    expect(transformName(TransformType.PRF, PrfId.HMAC_SHA1)).toBe('PRF_HMAC_SHA1');
    expect(transformName(TransformType.KE, KeId.CURVE25519)).toBe('CURVE_25519');
    expect(transformName(TransformType.ESN, EsnId.NO_ESN)).toBe('NO_EXT_SEQ');
    expect(transformName(TransformType.ENCR, 99, 128)).toBe('ENCR(99)_128');
    expect(transformName(TransformType.KE, 1234)).toBe('KE(1234)');
  });
});
