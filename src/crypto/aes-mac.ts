// AES-XCBC-MAC (RFC 3566 §4) and AES-CMAC (RFC 4493 §2.4) over node's AES-128, plus the
// variable-key wrappers PRF_AES128_XCBC (RFC 4434 §2) and PRF_AES128_CMAC (RFC 4615 §3).
// Both MACs are CBC-MACs that differ only in how the last block is masked.
import { createCipheriv } from 'node:crypto';

const BLOCK = 16;
const ZERO_IV = new Uint8Array(BLOCK);

function aesEcb(key: Uint8Array, data: Uint8Array): Uint8Array {
  const c = createCipheriv('aes-128-ecb', key, null);
  c.setAutoPadding(false);
  return new Uint8Array(Buffer.concat([c.update(data), c.final()]));
}

/**
 * CBC-MAC with a masked last block: a complete last block is XORed with `full`, a partial one
 * (or an empty message) is padded with 10* and XORed with `partial`. Returns the 16-byte tag.
 */
function maskedCbcMac(cbcKey: Uint8Array, full: Uint8Array, partial: Uint8Array, msg: Uint8Array): Uint8Array {
  const complete = msg.length > 0 && msg.length % BLOCK === 0;
  const padded = new Uint8Array(complete ? msg.length : (Math.floor(msg.length / BLOCK) + 1) * BLOCK);
  padded.set(msg);
  if (!complete) padded[msg.length] = 0x80;
  const last = padded.length - BLOCK;
  const mask = complete ? full : partial;
  for (let i = 0; i < BLOCK; i++) padded[last + i] = (padded[last + i] ?? 0) ^ (mask[i] ?? 0);
  const c = createCipheriv('aes-128-cbc', cbcKey, ZERO_IV);
  c.setAutoPadding(false);
  const ct = Buffer.concat([c.update(padded), c.final()]);
  return new Uint8Array(ct.subarray(ct.length - BLOCK));
}

/** AES-XCBC-MAC-128 with a 16-byte key (RFC 3566 §4: K1, K2, K3 from E(K, 0x01..), E(K, 0x02..), E(K, 0x03..)). */
export function aesXcbcMac(key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (key.length !== BLOCK) throw new RangeError(`AES-XCBC-MAC needs a 16-byte key, got ${key.length}`);
  const consts = new Uint8Array(3 * BLOCK);
  consts.fill(0x01, 0, 16);
  consts.fill(0x02, 16, 32);
  consts.fill(0x03, 32, 48);
  const k = aesEcb(key, consts);
  return maskedCbcMac(k.subarray(0, 16), k.subarray(16, 32), k.subarray(32, 48), msg);
}

/** Doubling in GF(2^128) as RFC 4493 §2.3 uses it for the subkeys (Rb = 0x87). */
function dbl(b: Uint8Array): Uint8Array {
  const out = new Uint8Array(BLOCK);
  let carry = 0;
  for (let i = BLOCK - 1; i >= 0; i--) {
    const v = b[i] ?? 0;
    out[i] = ((v << 1) | carry) & 0xff;
    carry = v >>> 7;
  }
  if ((b[0] ?? 0) & 0x80) out[BLOCK - 1] = (out[BLOCK - 1] ?? 0) ^ 0x87;
  return out;
}

/** AES-CMAC with a 16-byte key (RFC 4493 §2.4). */
export function aesCmac(key: Uint8Array, msg: Uint8Array): Uint8Array {
  if (key.length !== BLOCK) throw new RangeError(`AES-CMAC needs a 16-byte key, got ${key.length}`);
  const l = aesEcb(key, new Uint8Array(BLOCK));
  const k1 = dbl(l);
  const k2 = dbl(k1);
  return maskedCbcMac(key, k1, k2, msg);
}

/**
 * The key rule shared by RFC 4434 §2 and RFC 4615 §3: a 16-byte key is used as is, a shorter one
 * is zero-padded (XCBC) or — for both when longer, and for CMAC when shorter — replaced by
 * MAC(0^128, key).
 */
export function prfAes128XcbcKey(key: Uint8Array): Uint8Array {
  if (key.length === BLOCK) return key;
  if (key.length < BLOCK) {
    const k = new Uint8Array(BLOCK);
    k.set(key);
    return k;
  }
  return aesXcbcMac(new Uint8Array(BLOCK), key);
}

export function prfAes128CmacKey(key: Uint8Array): Uint8Array {
  return key.length === BLOCK ? key : aesCmac(new Uint8Array(BLOCK), key);
}
