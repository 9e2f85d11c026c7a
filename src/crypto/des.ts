// Single-DES ECB encryption of one block (FIPS 46-3), needed only for the MS-CHAPv2 response
// (RFC 2759 §8.5 ChallengeResponse, §8.6 DesEncrypt). OpenSSL 3 blocks `des-ecb` without the
// legacy provider, but `des-ede3-ecb` with the key K‖K‖K is E_K(D_K(E_K(x))) = E_K(x), i.e.
// single DES, and needs no process flag (crypto-costs.md §2, §3 item 9). Never use it for
// anything but MS-CHAPv2.
import { createCipheriv, getCiphers } from 'node:crypto';
import { asBuffer, concat } from './bytes.js';

const TRIPLE_DES_ECB = 'des-ede3-ecb';
let checked = false;

function assertAvailable(): void {
  if (checked) return;
  if (!getCiphers().includes(TRIPLE_DES_ECB)) {
    throw new Error(
      `DES unavailable: node's OpenSSL does not offer '${TRIPLE_DES_ECB}', which EAP-MSCHAPv2 needs ` +
        '(single DES is computed as 3DES with the key K||K||K); use a node build with 3DES enabled',
    );
  }
  checked = true;
}

/**
 * Expands a 7-octet (56-bit) key to the 8-octet DES key form: each output octet takes the next
 * 7 key bits in its high bits and an odd-parity bit in its low bit (RFC 2759 §8.6: "you will need
 * to insert the parity bits yourself"; DES ignores them, FIPS 46-3).
 */
export function expandDesKey(key7: Uint8Array): Uint8Array {
  if (key7.length !== 7) throw new RangeError(`DES key expansion needs 7 octets, got ${key7.length}`);
  const out = new Uint8Array(8);
  // Treat the 56 key bits as a big-endian bit string and cut it into 8 groups of 7 bits.
  for (let i = 0; i < 8; i++) {
    const bit = 7 * i;
    const at = bit >>> 3;
    const pair = ((key7[at] ?? 0) << 8) | (key7[at + 1] ?? 0);
    const seven = (pair >>> (9 - (bit & 7))) & 0x7f;
    let ones = 0;
    for (let v = seven; v !== 0; v >>>= 1) ones += v & 1;
    out[i] = (seven << 1) | (ones % 2 === 0 ? 1 : 0);
  }
  return out;
}

/** DES-ECB encryption of one 8-octet block under an 8-octet key (parity bits ignored). */
export function desEncryptBlock(key8: Uint8Array, block: Uint8Array): Uint8Array {
  if (key8.length !== 8) throw new RangeError(`DES key must be 8 octets, got ${key8.length}`);
  if (block.length !== 8) throw new RangeError(`DES block must be 8 octets, got ${block.length}`);
  assertAvailable();
  const key24 = concat(key8, key8, key8);
  try {
    const cipher = createCipheriv(TRIPLE_DES_ECB, asBuffer(key24), null);
    cipher.setAutoPadding(false);
    const out = Buffer.concat([cipher.update(asBuffer(block)), cipher.final()]);
    return new Uint8Array(out.buffer, out.byteOffset, 8).slice();
  } finally {
    key24.fill(0);
  }
}

/**
 * RFC 2759 §8.6 DesEncrypt(Clear, Key, Cypher): Clear (8 octets) encrypted with DES-ECB under
 * the 7-octet Key after parity expansion.
 */
export function desEncrypt(clear: Uint8Array, key7: Uint8Array): Uint8Array {
  const key8 = expandDesKey(key7);
  try {
    return desEncryptBlock(key8, clear);
  } finally {
    key8.fill(0);
  }
}
