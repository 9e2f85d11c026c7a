// IKE_SA and CHILD_SA keying material (RFC 7296 §2.13–§2.18): SKEYSEED, the SK_* split,
// SKEYSEED for an IKE_SA rekey, and CHILD_SA KEYMAT. All derivations go through prf+.
import type { Prf } from '../../crypto/suite.js';
import { isFixedKeyPrf, prfPlus } from '../../crypto/prf.js';
import { concat, wipe } from '../../crypto/bytes.js';
import type { IkeKeys } from './keymat-types.js';

export type { IkeKeys };

/**
 * SKEYSEED = prf(Ni | Nr, g^ir) (RFC 7296 §2.14). For PRFs with a fixed key length (AES-XCBC,
 * AES-CMAC) the key is the first half-key-length octets of Ni followed by those of Nr.
 */
export function skeyseed(prf: Prf, ni: Uint8Array, nr: Uint8Array, gir: Uint8Array): Uint8Array {
  let key: Uint8Array;
  if (isFixedKeyPrf(prf)) {
    const half = prf.keyLength / 2;
    if (ni.length < half || nr.length < half) throw new RangeError(`nonces too short for ${prf.name}`);
    key = concat(ni.subarray(0, half), nr.subarray(0, half));
  } else {
    key = concat(ni, nr);
  }
  const out = prf.compute(key, gir);
  wipe(key);
  return out;
}

/**
 * {SK_d | SK_ai | SK_ar | SK_ei | SK_er | SK_pi | SK_pr} = prf+(SKEYSEED, Ni | Nr | SPIi | SPIr)
 * (RFC 7296 §2.14). SK_d, SK_pi and SK_pr have the PRF's preferred key length; integKeyLength is
 * 0 for AEAD ciphers; encKeyLength includes the AEAD salt (RFC 5282 §7.1).
 */
export function deriveIkeKeys(
  prf: Prf,
  skeyseedValue: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  spiI: Uint8Array,
  spiR: Uint8Array,
  sizes: { integKeyLength: number; encKeyLength: number },
): IkeKeys {
  const p = prf.keyLength;
  const a = sizes.integKeyLength;
  const e = sizes.encKeyLength;
  const seed = concat(ni, nr, spiI, spiR);
  const km = prfPlus(prf, skeyseedValue, seed, 3 * p + 2 * a + 2 * e);
  let off = 0;
  const take = (n: number): Uint8Array => km.slice(off, (off += n));
  const keys: IkeKeys = {
    skD: take(p),
    skAi: take(a),
    skAr: take(a),
    skEi: take(e),
    skEr: take(e),
    skPi: take(p),
    skPr: take(p),
  };
  wipe(km);
  return keys;
}

/**
 * SKEYSEED for the new IKE_SA of a rekey: prf(SK_d (old), g^ir (new) | Ni | Nr) (RFC 7296 §2.18).
 * The key is SK_d, so the fixed-key-length rule of §2.14 does not apply.
 */
export function rekeySkeyseed(prf: Prf, oldSkD: Uint8Array, gir: Uint8Array, ni: Uint8Array, nr: Uint8Array): Uint8Array {
  const data = concat(gir, ni, nr);
  const out = prf.compute(oldSkD, data);
  wipe(data);
  return out;
}

export interface ChildKeys {
  /** Keys for the SA carrying initiator-to-responder traffic. */
  initiatorToResponder: { enc: Uint8Array; integ: Uint8Array };
  responderToInitiator: { enc: Uint8Array; integ: Uint8Array };
}

/**
 * KEYMAT = prf+(SK_d, Ni | Nr) or prf+(SK_d, g^ir (new) | Ni | Nr) with PFS (RFC 7296 §2.17).
 * Taken in the order: encryption key then integrity key, first for the initiator-to-responder SA,
 * then for the responder-to-initiator SA.
 */
export function childKeymat(
  prf: Prf,
  skD: Uint8Array,
  ni: Uint8Array,
  nr: Uint8Array,
  gir: Uint8Array | undefined,
  sizes: { encKeyLength: number; integKeyLength: number },
): ChildKeys {
  const e = sizes.encKeyLength;
  const a = sizes.integKeyLength;
  const seed = gir ? concat(gir, ni, nr) : concat(ni, nr);
  const km = prfPlus(prf, skD, seed, 2 * (e + a));
  wipe(seed);
  let off = 0;
  const take = (n: number): Uint8Array => km.slice(off, (off += n));
  const i2rEnc = take(e);
  const i2rInteg = take(a);
  const r2iEnc = take(e);
  const r2iInteg = take(a);
  wipe(km);
  return {
    initiatorToResponder: { enc: i2rEnc, integ: i2rInteg },
    responderToInitiator: { enc: r2iEnc, integ: r2iInteg },
  };
}
