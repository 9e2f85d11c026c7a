// SkProtector implementations for the Encrypted payload (RFC 7296 §3.14): classic CBC ciphers
// with a separate integrity MAC (AES-CBC RFC 3602, 3DES-CBC RFC 2451), AES-GCM with a 16-byte ICV
// (RFC 5282 §3–§5) and ChaCha20-Poly1305 (RFC 7634 §2–§3), all over node:crypto ciphers.
import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { SkKeys, SkProtector } from './suite.js';
import type { Integrity } from './integ.js';
import { ctEqual } from './bytes.js';

function check(cond: boolean, what: string): void {
  // Wrong key/IV sizes come from our own code, never from the peer: fail loudly.
  if (!cond) throw new Error(`SkProtector misuse: ${what}`);
}

/** ENCR_AES_CBC / ENCR_3DES + an INTEG transform: ICV = MAC(aad | iv | ciphertext) (RFC 7296 §3.14). */
export function cbcProtector(p: {
  name: string;
  cipher: string; // node cipher name, e.g. "aes-256-cbc", "des-ede3-cbc"
  keyLength: number;
  blockLength: number;
  integ: Integrity;
}): SkProtector {
  const { cipher, keyLength, blockLength, integ } = p;
  const ivLength = blockLength; // RFC 3602 §3 / RFC 2451: IV is one block
  return {
    name: p.name,
    ivLength,
    blockLength,
    icvLength: integ.icvLength,
    encKeyLength: keyLength,
    integKeyLength: integ.keyLength,
    seal(keys: SkKeys, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
      check(keys.enc.length === keyLength && keys.integ.length === integ.keyLength, 'key length');
      check(iv.length === ivLength, 'IV length');
      check(plaintext.length > 0 && plaintext.length % blockLength === 0, 'plaintext not padded to the block length');
      const c = createCipheriv(cipher, keys.enc, iv);
      c.setAutoPadding(false);
      const ct = Buffer.concat([c.update(plaintext), c.final()]);
      const icv = integ.mac(keys.integ, aad, iv, ct);
      const out = new Uint8Array(ct.length + icv.length);
      out.set(ct, 0);
      out.set(icv, ct.length);
      return out;
    },
    open(keys: SkKeys, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
      check(keys.enc.length === keyLength && keys.integ.length === integ.keyLength, 'key length');
      check(iv.length === ivLength, 'IV length');
      const ctLen = sealed.length - integ.icvLength;
      // A peer can send any length: malformed sizes are an authentication failure, not a crash.
      if (ctLen <= 0 || ctLen % blockLength !== 0) return undefined;
      const ct = sealed.subarray(0, ctLen);
      const expected = integ.mac(keys.integ, aad, iv, ct);
      if (!ctEqual(expected, sealed.subarray(ctLen))) return undefined;
      const d = createDecipheriv(cipher, keys.enc, iv);
      d.setAutoPadding(false);
      return new Uint8Array(Buffer.concat([d.update(ct), d.final()]));
    },
  };
}

/**
 * AEAD with a 4-byte salt at the end of the key material and an 8-byte explicit IV; the nonce is
 * salt | IV (RFC 5282 §4 for GCM, RFC 7634 §2 for ChaCha20-Poly1305). ICV is 16 bytes.
 */
function saltedAead(p: { name: string; cipher: string; keyLength: number /* without salt */ }): SkProtector {
  const { cipher, keyLength } = p;
  const SALT = 4;
  const IV = 8;
  const ICV = 16;
  const nonceOf = (enc: Uint8Array, iv: Uint8Array): Uint8Array => {
    const n = new Uint8Array(SALT + IV);
    n.set(enc.subarray(keyLength), 0);
    n.set(iv, SALT);
    return n;
  };
  return {
    name: p.name,
    ivLength: IV,
    // RFC 5282 §3: no block alignment is needed; the Pad Length octet is still present.
    blockLength: 1,
    icvLength: ICV,
    encKeyLength: keyLength + SALT,
    integKeyLength: 0,
    seal(keys: SkKeys, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array {
      check(keys.enc.length === keyLength + SALT, 'key length');
      check(iv.length === IV, 'IV length');
      const c = createCipheriv(cipher as 'aes-256-gcm', keys.enc.subarray(0, keyLength), nonceOf(keys.enc, iv), { authTagLength: ICV });
      c.setAAD(aad);
      const ct = Buffer.concat([c.update(plaintext), c.final()]);
      const tag = c.getAuthTag();
      const out = new Uint8Array(ct.length + ICV);
      out.set(ct, 0);
      out.set(tag, ct.length);
      return out;
    },
    open(keys: SkKeys, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined {
      check(keys.enc.length === keyLength + SALT, 'key length');
      check(iv.length === IV, 'IV length');
      if (sealed.length < ICV) return undefined;
      const ctLen = sealed.length - ICV;
      const d = createDecipheriv(cipher as 'aes-256-gcm', keys.enc.subarray(0, keyLength), nonceOf(keys.enc, iv), { authTagLength: ICV });
      d.setAuthTag(sealed.subarray(ctLen));
      d.setAAD(aad);
      const pt = d.update(sealed.subarray(0, ctLen));
      try {
        d.final(); // throws when the tag does not verify
      } catch {
        pt.fill(0);
        return undefined;
      }
      return new Uint8Array(pt);
    },
  };
}

/** ENCR_AES_GCM_16 with 128/192/256-bit keys (RFC 5282). */
export function aesGcm16Protector(keyBits: 128 | 192 | 256): SkProtector {
  return saltedAead({ name: `AES_GCM_16_${keyBits}`, cipher: `aes-${keyBits}-gcm`, keyLength: keyBits / 8 });
}

/** ENCR_CHACHA20_POLY1305 (RFC 7634): 256-bit key. */
export function chacha20Poly1305Protector(): SkProtector {
  return saltedAead({ name: 'CHACHA20_POLY1305_256', cipher: 'chacha20-poly1305', keyLength: 32 });
}

// The padding helpers live in padding.ts (imported by src/ike/protect/sk.ts); re-exported here.
export { padPlaintext, unpadPlaintext } from './padding.js';
