// IKEv2 pseudo-random functions (RFC 7296 §3.3.2 Transform Type 2) and prf+ (RFC 7296 §2.13).
// HMAC PRFs: RFC 2104 with SHA-1 / SHA-2 (RFC 4868 §2.1); AES PRFs: RFC 4434, RFC 4615.
// node createHmac is the fastest path measured (crypto-costs.md §2).
import { createHmac } from 'node:crypto';
import type { Prf } from './suite.js';
import { PrfId } from '../ike/constants.js';
import { aesCmac, aesXcbcMac, prfAes128CmacKey, prfAes128XcbcKey } from './aes-mac.js';

function hmacPrf(id: number, name: string, hash: string, outputLength: number): Prf {
  return {
    id,
    name,
    // RFC 7296 §2.13: the preferred key length of an HMAC PRF is its output length.
    keyLength: outputLength,
    outputLength,
    compute(key: Uint8Array, data: Uint8Array): Uint8Array {
      return new Uint8Array(createHmac(hash, key).update(data).digest());
    },
  };
}

export const PRF_HMAC_MD5: Prf = hmacPrf(PrfId.HMAC_MD5, 'PRF_HMAC_MD5', 'md5', 16);
export const PRF_HMAC_SHA1: Prf = hmacPrf(PrfId.HMAC_SHA1, 'PRF_HMAC_SHA1', 'sha1', 20);
export const PRF_HMAC_SHA2_256: Prf = hmacPrf(PrfId.HMAC_SHA2_256, 'PRF_HMAC_SHA2_256', 'sha256', 32);
export const PRF_HMAC_SHA2_384: Prf = hmacPrf(PrfId.HMAC_SHA2_384, 'PRF_HMAC_SHA2_384', 'sha384', 48);
export const PRF_HMAC_SHA2_512: Prf = hmacPrf(PrfId.HMAC_SHA2_512, 'PRF_HMAC_SHA2_512', 'sha512', 64);

/** PRF_AES128_XCBC (RFC 4434): any key length, 16-byte output. */
export const PRF_AES128_XCBC: Prf = {
  id: PrfId.AES128_XCBC,
  name: 'PRF_AES128_XCBC',
  keyLength: 16,
  outputLength: 16,
  compute: (key, data) => aesXcbcMac(prfAes128XcbcKey(key), data),
};

/** PRF_AES128_CMAC (RFC 4615): any key length, 16-byte output. */
export const PRF_AES128_CMAC: Prf = {
  id: PrfId.AES128_CMAC,
  name: 'PRF_AES128_CMAC',
  keyLength: 16,
  outputLength: 16,
  compute: (key, data) => aesCmac(prfAes128CmacKey(key), data),
};

/**
 * PRFs whose key has a fixed length; for them SKEYSEED is keyed with the first half of the key
 * taken from Ni and the second from Nr (RFC 7296 §2.14).
 */
export function isFixedKeyPrf(prf: Prf): boolean {
  return prf.id === PrfId.AES128_XCBC || prf.id === PrfId.AES128_CMAC;
}

/**
 * prf+ (RFC 7296 §2.13): T1 = prf(K, S | 0x01), Tn = prf(K, Tn-1 | S | n), output T1 | T2 | ...
 * truncated to `length`. The counter is one octet, so at most 255 blocks exist; asking for more
 * is a programming error (no negotiated suite needs that much).
 */
export function prfPlus(prf: Prf, key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  if (!Number.isInteger(length) || length < 0) throw new RangeError(`invalid prf+ length ${length}`);
  const blocks = Math.ceil(length / prf.outputLength);
  if (blocks > 255) throw new RangeError(`prf+ cannot produce ${length} bytes with ${prf.name} (max ${255 * prf.outputLength})`);
  const out = new Uint8Array(blocks * prf.outputLength);
  // One input buffer reused for every round: [T(n-1)] | S | n.
  const input = new Uint8Array(prf.outputLength + seed.length + 1);
  let prev: Uint8Array = new Uint8Array(0);
  for (let n = 1; n <= blocks; n++) {
    input.set(prev, 0);
    input.set(seed, prev.length);
    input[prev.length + seed.length] = n;
    const t = prf.compute(key, input.subarray(0, prev.length + seed.length + 1));
    out.set(t, (n - 1) * prf.outputLength);
    prev = t;
  }
  input.fill(0);
  if (out.length === length) return out;
  const result = out.slice(0, length);
  out.fill(0);
  return result;
}
