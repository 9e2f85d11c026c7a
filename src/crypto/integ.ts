// IKE/ESP integrity algorithms (RFC 7296 §3.3.2 Transform Type 3): HMAC-MD5-96 / HMAC-SHA1-96
// (RFC 2403 / RFC 2404), HMAC-SHA2-256-128 / -384-192 / -512-256 (RFC 4868 §2), AES-XCBC-MAC-96
// (RFC 3566). The ICV is the MAC truncated to the left-most `icvLength` bytes.
import { createHmac } from 'node:crypto';
import { IntegId } from '../ike/constants.js';
import { aesXcbcMac } from './aes-mac.js';
import { concat } from './bytes.js';

export interface Integrity {
  readonly id: number;
  readonly name: string;
  /** Key length in bytes (RFC 4868 §2.1.1: equal to the hash output for HMAC-SHA2). */
  readonly keyLength: number;
  /** Truncated ICV length in bytes. */
  readonly icvLength: number;
  /** MAC over the concatenation of `parts`, truncated to icvLength. */
  mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array;
}

function hmacInteg(id: number, name: string, hash: string, keyLength: number, icvLength: number): Integrity {
  return {
    id,
    name,
    keyLength,
    icvLength,
    mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
      const h = createHmac(hash, key);
      for (const p of parts) h.update(p);
      const full = h.digest();
      return new Uint8Array(full.subarray(0, icvLength)); // copy: digest() may live in a shared slab
    },
  };
}

export const AUTH_HMAC_MD5_96 = hmacInteg(IntegId.HMAC_MD5_96, 'HMAC_MD5_96', 'md5', 16, 12);
export const AUTH_HMAC_SHA1_96 = hmacInteg(IntegId.HMAC_SHA1_96, 'HMAC_SHA1_96', 'sha1', 20, 12);
export const AUTH_HMAC_SHA2_256_128 = hmacInteg(IntegId.HMAC_SHA2_256_128, 'HMAC_SHA2_256_128', 'sha256', 32, 16);
export const AUTH_HMAC_SHA2_384_192 = hmacInteg(IntegId.HMAC_SHA2_384_192, 'HMAC_SHA2_384_192', 'sha384', 48, 24);
export const AUTH_HMAC_SHA2_512_256 = hmacInteg(IntegId.HMAC_SHA2_512_256, 'HMAC_SHA2_512_256', 'sha512', 64, 32);

export const AUTH_AES_XCBC_96: Integrity = {
  id: IntegId.AES_XCBC_96,
  name: 'AES_XCBC_96',
  keyLength: 16, // RFC 3566 §2.1: exactly 128 bits
  icvLength: 12,
  mac(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
    return aesXcbcMac(key, concat(...parts)).slice(0, 12);
  },
};
