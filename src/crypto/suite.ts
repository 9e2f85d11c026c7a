// Interfaces every IKE/ESP algorithm implementation satisfies (RFC 7296 §3.3.2 transform
// types). The catalogue (catalogue.ts) maps IANA ids to implementations of these.

export interface Prf {
  readonly id: number;
  readonly name: string;
  /** Preferred key length in bytes (the length of SK_d, SK_pi, SK_pr: RFC 7296 §2.13). */
  readonly keyLength: number;
  readonly outputLength: number;
  compute(key: Uint8Array, data: Uint8Array): Uint8Array;
}

/**
 * ENCR (+ INTEG) normalised to one AEAD-like object (strongSwan aead_t). For AEAD ciphers
 * `aad` is the associated data of RFC 5282 §5.1; for classic ENCR+INTEG the ICV is the MAC
 * over aad || iv || ciphertext (RFC 7296 §3.14: header through the encrypted data).
 */
export interface SkProtector {
  readonly name: string;
  readonly ivLength: number;
  readonly blockLength: number;
  readonly icvLength: number;
  /** Bytes of SK_e / ESP encryption key, including the salt for AEAD (RFC 5282 §7.1). */
  readonly encKeyLength: number;
  /** Bytes of SK_a / ESP integrity key; 0 for AEAD. */
  readonly integKeyLength: number;
  /** Returns ciphertext || ICV. `plaintext` already carries IKE padding and the pad length byte. */
  seal(keys: SkKeys, iv: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Uint8Array;
  /** Returns the plaintext, or undefined when the ICV does not verify (then: drop silently). */
  open(keys: SkKeys, iv: Uint8Array, aad: Uint8Array, sealed: Uint8Array): Uint8Array | undefined;
}

export interface SkKeys {
  enc: Uint8Array;
  integ: Uint8Array; // empty for AEAD
}

export interface KeyExchange {
  readonly group: number;
  /** Exactly what goes in the KE payload (RFC 5903 x||y for ECP, 32 bytes for X25519, p-length for MODP). */
  readonly publicValue: Uint8Array;
  /** Validates the peer value (range, on-curve, low order) and returns the shared secret g^ir. Throws IkeError(INVALID_SYNTAX). */
  deriveShared(peerValue: Uint8Array): Uint8Array;
  wipe(): void;
}

export interface KeGroup {
  readonly id: number;
  readonly name: string;
  /** Length of a valid KE payload value in bytes. */
  readonly publicLength: number;
  create(): KeyExchange;
}

/** Kernel (XFRM) algorithm description for an ESP transform, as strongSwan's kernel_netlink names them. */
export interface KernelAlgorithm {
  family: 'aead' | 'crypt' | 'auth';
  name: string; // e.g. "rfc4106(gcm(aes))", "cbc(aes)", "hmac(sha256)"
  icvBits?: number; // AEAD ICV length
  truncBits?: number; // auth truncation length
}

/** What a negotiated ESP proposal means for the dataplane: algorithms and key sizes. */
export interface EspTransformSet {
  encr: { id: number; keyBits: number; kernel: KernelAlgorithm; keyLength: number /* bytes incl. salt */ };
  integ?: { id: number; kernel: KernelAlgorithm; keyLength: number };
  esn: boolean;
}
