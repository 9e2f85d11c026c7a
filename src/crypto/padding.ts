// IKE padding of the Encrypted payload plaintext (RFC 7296 §3.14): Padding | Pad Length so that
// the total is a multiple of the cipher block; for AEAD ciphers (RFC 5282 §3, RFC 7634 §2) the
// block length is 1 and only the Pad Length octet is added.
import type { SkProtector } from './suite.js';
import type { Rng } from './random.js';

/**
 * Adds IKE padding and the Pad Length octet (RFC 7296 §3.14) so that the result is a multiple of
 * the protector's block length. The padding bytes may hold any value; we use random ones. For AEAD
 * (block length 1) this appends just the Pad Length octet 0 (RFC 5282 §3).
 */
export function padPlaintext(protector: Pick<SkProtector, 'blockLength'>, inner: Uint8Array, rng: Rng): Uint8Array {
  const bl = protector.blockLength;
  const padLen = (bl - ((inner.length + 1) % bl)) % bl;
  const out = new Uint8Array(inner.length + padLen + 1);
  out.set(inner, 0);
  if (padLen > 0) out.set(rng.bytes(padLen), inner.length);
  out[out.length - 1] = padLen;
  return out;
}

/**
 * Strips padding after a successful `open`: the last octet is the pad length; the padding bytes
 * themselves are not checked (RFC 7296 §3.14: any value). Returns undefined when the pad length
 * points outside the plaintext (a malformed message; treat as INVALID_SYNTAX or drop).
 */
export function unpadPlaintext(plaintext: Uint8Array): Uint8Array | undefined {
  if (plaintext.length === 0) return undefined;
  const padLen = plaintext[plaintext.length - 1] ?? 0;
  if (padLen + 1 > plaintext.length) return undefined;
  return plaintext.subarray(0, plaintext.length - 1 - padLen);
}
