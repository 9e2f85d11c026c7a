// ESP transforms over node:crypto, keyed once per SA from the kernel algorithm names of SaSpec:
//   rfc4106(gcm(aes))               AES-GCM for ESP (RFC 4106): 4-byte salt ‖ 8-byte explicit IV
//   rfc7539esp(chacha20,poly1305)   ChaCha20-Poly1305 for ESP (RFC 7634 §2): same nonce layout
//   cbc(aes) / cbc(des3_ede)        with hmac(md5|sha1|sha256|sha384|sha512), truncated
//                                   (RFC 3602, RFC 2451, RFC 2404, RFC 4868)
//
// Both AEADs take AAD = SPI ‖ Seq# (8 bytes), or SPI ‖ Seq#hi ‖ Seq#lo (12 bytes) with ESN
// (RFC 4106 §5, RFC 7634 §2.1). Encrypt-then-MAC ICVs cover SPI ‖ Seq# ‖ IV ‖ ciphertext, and
// with ESN the high-order 32 bits appended to that input only — never sent (RFC 4303 §3.3.2.1,
// §2.2.1).
//
// AEAD explicit IVs are the 64-bit sequence number: unique per SA, which is all RFC 4106 §3.1
// and RFC 7634 §2 ask. CBC IVs must be unpredictable (RFC 3602 §2.2): random, drawn from a pool
// refilled in 4 KiB blocks so the per-packet cost is a copy, not a syscall.
import { createCipheriv, createDecipheriv, createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import type { KernelAlgorithm } from '../crypto/suite.js';

/** The per-SA transform: everything esp.ts needs to protect and unprotect one packet. */
export interface EspTransform {
  /** A short description, e.g. "AES_GCM_16_256" (never key material). */
  readonly name: string;
  /** Length of the explicit IV carried after the Seq# (RFC 4303 §2.3). */
  readonly ivLength: number;
  /** Payload ‖ Padding ‖ Pad Length ‖ Next Header is a multiple of this (RFC 4303 §2.4). */
  readonly blockSize: number;
  readonly icvLength: number;
  /**
   * Protects one packet in place: `out` holds the 8-byte ESP header; the transform writes
   * IV ‖ ciphertext(plaintext) ‖ ICV after it. `out.length` must be 8 + ivLength + plaintext.length
   * + icvLength. `seqHi` is the ESN high-order half, or undefined without ESN.
   * `iv` overrides the IV choice (known-answer tests only).
   */
  seal(out: Buffer, plaintext: Buffer, seq: number, seqHi: number | undefined, iv?: Uint8Array): void;
  /**
   * Verifies the ICV of a whole ESP packet (header included) and returns the decrypted
   * Payload ‖ Padding ‖ Pad Length ‖ Next Header, or undefined when the ICV does not verify.
   * The caller has checked the length is at least 8 + ivLength + icvLength.
   */
  open(packet: Buffer, seqHi: number | undefined): Buffer | undefined;
  /** Overwrites the key material this transform holds. */
  wipe(): void;
}

export class UnsupportedAlgorithmError extends Error {}

const TWO_32 = 0x1_0000_0000;

// --- CBC IV pool --------------------------------------------------------------------------

const POOL_SIZE = 4096;
const ivPool = Buffer.allocUnsafe(POOL_SIZE);
let ivPoolUsed = POOL_SIZE;

function randomIv(out: Buffer, offset: number, length: number): void {
  if (ivPoolUsed + length > POOL_SIZE) {
    randomFillSync(ivPool);
    ivPoolUsed = 0;
  }
  ivPool.copy(out, offset, ivPoolUsed, ivPoolUsed + length);
  // Never hand out the same random bytes twice.
  ivPool.fill(0, ivPoolUsed, ivPoolUsed + length);
  ivPoolUsed += length;
}

// --- helpers ------------------------------------------------------------------------------

function writeSeq64(out: Buffer, offset: number, seq: number): void {
  out.writeUInt32BE(Math.floor(seq / TWO_32), offset);
  out.writeUInt32BE(seq % TWO_32, offset + 4);
}

/** AAD for the AEAD transforms: the ESP header itself, or SPI ‖ Seq#hi ‖ Seq#lo with ESN. */
function aeadAad(packet: Buffer, seqHi: number | undefined): Buffer {
  if (seqHi === undefined) return packet.subarray(0, 8);
  const aad = Buffer.allocUnsafe(12);
  packet.copy(aad, 0, 0, 4);
  aad.writeUInt32BE(seqHi, 4);
  packet.copy(aad, 8, 4, 8);
  return aad;
}

// --- AEAD: AES-GCM (RFC 4106) and ChaCha20-Poly1305 (RFC 7634) ----------------------------

//  RFC 4106 §4 / RFC 7634 §2: the 12-byte nonce
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                             Salt                              |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |                     Initialization Vector                     |
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+

type AeadCipher = 'aes-128-gcm' | 'aes-192-gcm' | 'aes-256-gcm' | 'chacha20-poly1305';

class AeadTransform implements EspTransform {
  readonly ivLength = 8;
  readonly blockSize = 4; // counter-mode ciphers: only the 4-byte alignment of §2.4 applies
  private readonly key: Buffer;
  private readonly nonce: Buffer;

  constructor(
    readonly name: string,
    private readonly cipher: AeadCipher,
    keyAndSalt: Uint8Array,
    readonly icvLength: number,
  ) {
    // "KEYMAT ... the last four octets are the salt" (RFC 4106 §8.1, RFC 7634 §4).
    this.key = Buffer.from(keyAndSalt.subarray(0, keyAndSalt.length - 4));
    this.nonce = Buffer.alloc(12);
    this.nonce.set(keyAndSalt.subarray(keyAndSalt.length - 4), 0);
  }

  seal(out: Buffer, plaintext: Buffer, seq: number, seqHi: number | undefined, iv?: Uint8Array): void {
    if (iv) out.set(iv, 8);
    else writeSeq64(out, 8, seq);
    out.copy(this.nonce, 4, 8, 16);
    const c = createCipheriv(this.cipher as 'aes-256-gcm', this.key, this.nonce, { authTagLength: this.icvLength });
    c.setAAD(aeadAad(out, seqHi));
    const ct = c.update(plaintext);
    c.final();
    out.set(ct, 16);
    out.set(c.getAuthTag(), 16 + ct.length);
  }

  open(packet: Buffer, seqHi: number | undefined): Buffer | undefined {
    const icvAt = packet.length - this.icvLength;
    packet.copy(this.nonce, 4, 8, 16);
    const d = createDecipheriv(this.cipher as 'aes-256-gcm', this.key, this.nonce, { authTagLength: this.icvLength });
    d.setAAD(aeadAad(packet, seqHi));
    d.setAuthTag(packet.subarray(icvAt));
    const pt = d.update(packet.subarray(16, icvAt));
    try {
      d.final(); // OpenSSL compares the tag in constant time
    } catch {
      pt.fill(0);
      return undefined;
    }
    return pt;
  }

  wipe(): void {
    this.key.fill(0);
    this.nonce.fill(0);
  }
}

// --- CBC + HMAC (RFC 3602 / RFC 2451 with RFC 2404 / RFC 4868) ---------------------------

type CbcCipher = 'aes-128-cbc' | 'aes-192-cbc' | 'aes-256-cbc' | 'des-ede3-cbc';

class CbcHmacTransform implements EspTransform {
  private readonly encKey: Buffer;
  private readonly integKey: Buffer | undefined;
  private readonly seqHiBuf = Buffer.alloc(4);

  constructor(
    readonly name: string,
    private readonly cipher: CbcCipher,
    readonly blockSize: number,
    encKey: Uint8Array,
    private readonly hash: string | undefined,
    integKey: Uint8Array | undefined,
    readonly icvLength: number,
  ) {
    this.encKey = Buffer.from(encKey);
    this.integKey = integKey ? Buffer.from(integKey) : undefined;
  }

  get ivLength(): number {
    return this.blockSize;
  }

  private icv(packet: Buffer, end: number, seqHi: number | undefined): Buffer {
    const h = createHmac(this.hash as string, this.integKey as Buffer);
    h.update(packet.subarray(0, end));
    if (seqHi !== undefined) {
      this.seqHiBuf.writeUInt32BE(seqHi, 0);
      h.update(this.seqHiBuf);
    }
    return h.digest();
  }

  seal(out: Buffer, plaintext: Buffer, _seq: number, seqHi: number | undefined, iv?: Uint8Array): void {
    if (iv) out.set(iv, 8);
    else randomIv(out, 8, this.blockSize);
    const c = createCipheriv(this.cipher, this.encKey, out.subarray(8, 8 + this.blockSize));
    c.setAutoPadding(false); // ESP pads itself (RFC 4303 §2.4)
    const ct = c.update(plaintext);
    c.final();
    const ctAt = 8 + this.blockSize;
    out.set(ct, ctAt);
    if (this.icvLength > 0) {
      const mac = this.icv(out, ctAt + ct.length, seqHi);
      mac.copy(out, ctAt + ct.length, 0, this.icvLength);
    }
  }

  open(packet: Buffer, seqHi: number | undefined): Buffer | undefined {
    const icvAt = packet.length - this.icvLength;
    if (this.icvLength > 0) {
      // RFC 4303 §3.4.4: verify the ICV before decrypting.
      const mac = this.icv(packet, icvAt, seqHi);
      if (!timingSafeEqual(mac.subarray(0, this.icvLength), packet.subarray(icvAt))) return undefined;
    }
    const ivAt = 8;
    const d = createDecipheriv(this.cipher, this.encKey, packet.subarray(ivAt, ivAt + this.blockSize));
    d.setAutoPadding(false);
    const pt = d.update(packet.subarray(ivAt + this.blockSize, icvAt));
    d.final();
    return pt;
  }

  wipe(): void {
    this.encKey.fill(0);
    this.integKey?.fill(0);
  }
}

// --- construction from SaSpec algorithm names --------------------------------------------

const HMACS: Record<string, { hash: string; keyLength: number; defaultTruncBits: number }> = {
  'hmac(md5)': { hash: 'md5', keyLength: 16, defaultTruncBits: 96 },
  'hmac(sha1)': { hash: 'sha1', keyLength: 20, defaultTruncBits: 96 },
  'hmac(sha256)': { hash: 'sha256', keyLength: 32, defaultTruncBits: 128 },
  'hmac(sha384)': { hash: 'sha384', keyLength: 48, defaultTruncBits: 192 },
  'hmac(sha512)': { hash: 'sha512', keyLength: 64, defaultTruncBits: 256 },
};

const HASH_BITS: Record<string, number> = { md5: 128, sha1: 160, sha256: 256, sha384: 384, sha512: 512 };

export interface TransformSpec {
  enc: { alg: KernelAlgorithm; key: Uint8Array };
  integ?: { alg: KernelAlgorithm; key: Uint8Array };
}

/**
 * The ESP transform for an SA's algorithms. Throws UnsupportedAlgorithmError (naming the
 * algorithm, never the key) for names this dataplane does not implement or wrong key sizes.
 * CBC without an integrity algorithm is accepted here (RFC 3602 known-answer tests); the
 * dataplane refuses to install such an SA.
 */
export function createTransform(spec: TransformSpec): EspTransform {
  const { alg, key } = spec.enc;
  const aeadIcv = (): number => {
    const bits = alg.icvBits ?? 128;
    if (bits !== 64 && bits !== 96 && bits !== 128) throw new UnsupportedAlgorithmError(`${alg.name}: ICV of ${bits} bits`);
    return bits / 8;
  };
  if (alg.name === 'rfc4106(gcm(aes))') {
    if (spec.integ) throw new UnsupportedAlgorithmError(`${alg.name} with an integrity algorithm (${spec.integ.alg.name})`);
    const bits = (key.length - 4) * 8;
    if (bits !== 128 && bits !== 192 && bits !== 256) throw new UnsupportedAlgorithmError(`${alg.name}: key of ${key.length} bytes (16/24/32 + 4-byte salt expected)`);
    const icv = aeadIcv();
    return new AeadTransform(`AES_GCM_${icv}_${bits}`, `aes-${bits}-gcm` as AeadCipher, key, icv);
  }
  if (alg.name === 'rfc7539esp(chacha20,poly1305)') {
    if (spec.integ) throw new UnsupportedAlgorithmError(`${alg.name} with an integrity algorithm (${spec.integ.alg.name})`);
    if (key.length !== 36) throw new UnsupportedAlgorithmError(`${alg.name}: key of ${key.length} bytes (32 + 4-byte salt expected)`);
    if ((alg.icvBits ?? 128) !== 128) throw new UnsupportedAlgorithmError(`${alg.name}: ICV of ${alg.icvBits} bits (RFC 7634: 128)`);
    return new AeadTransform('CHACHA20_POLY1305', 'chacha20-poly1305', key, 16);
  }
  let cipher: CbcCipher;
  let block: number;
  let encName: string;
  if (alg.name === 'cbc(aes)') {
    if (key.length !== 16 && key.length !== 24 && key.length !== 32) throw new UnsupportedAlgorithmError(`${alg.name}: key of ${key.length} bytes`);
    cipher = `aes-${key.length * 8}-cbc` as CbcCipher;
    block = 16;
    encName = `AES_CBC_${key.length * 8}`;
  } else if (alg.name === 'cbc(des3_ede)') {
    if (key.length !== 24) throw new UnsupportedAlgorithmError(`${alg.name}: key of ${key.length} bytes`);
    cipher = 'des-ede3-cbc';
    block = 8;
    encName = '3DES_CBC';
  } else {
    throw new UnsupportedAlgorithmError(`encryption algorithm ${alg.name} is not supported by the userspace ESP dataplane`);
  }
  if (!spec.integ) return new CbcHmacTransform(encName, cipher, block, key, undefined, undefined, 0);
  const h = HMACS[spec.integ.alg.name];
  if (!h) throw new UnsupportedAlgorithmError(`integrity algorithm ${spec.integ.alg.name} is not supported by the userspace ESP dataplane`);
  if (spec.integ.key.length !== h.keyLength) throw new UnsupportedAlgorithmError(`${spec.integ.alg.name}: key of ${spec.integ.key.length} bytes (${h.keyLength} expected)`);
  const trunc = spec.integ.alg.truncBits ?? h.defaultTruncBits;
  if (trunc % 8 !== 0 || trunc < 96 || trunc > (HASH_BITS[h.hash] ?? 0)) throw new UnsupportedAlgorithmError(`${spec.integ.alg.name}: truncation to ${trunc} bits`);
  return new CbcHmacTransform(`${encName}/HMAC_${h.hash.toUpperCase()}_${trunc}`, cipher, block, key, h.hash, spec.integ.key, trunc / 8);
}
