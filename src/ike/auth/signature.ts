// AUTH payload signatures (RFC 7296 §2.15, §3.8): method 1 RSA (RSASSA-PKCS1-v1_5 with
// SHA-1), methods 9/10/11 ECDSA with the hash tied to the curve and r||s encoding (RFC 4754
// §3, §7), and method 14 Digital Signature (RFC 7427 §3) whose Authentication Data is
//
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | ASN.1 Length  | AlgorithmIdentifier ASN.1 object              |
//   +-+-+-+-+-+-+-+-+                                               +
//   ~                                                               ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Signature Value                           |
//   ~                                                               ~
//
// with ECDSA values DER-encoded (RFC 7427 §3) and Ed25519 signing the octets directly
// (RFC 8420 §2, hash IDENTITY). Keys are pre-parsed KeyObjects; nothing here parses PEM.
import { createPublicKey, type KeyObject } from 'node:crypto';
import { AuthMethod, HashAlgorithm, NotifyType } from '../constants.js';
import { IkeError } from '../errors.js';
import { concat } from '../../crypto/bytes.js';
import type { LocalCredential } from '../../credentials/store.js';
import {
  encodeSignatureAlgorithm,
  parseSignatureAlgorithm,
  schemeName,
  signWithScheme,
  verifyWithScheme,
  type HashName,
  type SignatureScheme,
} from '../../credentials/algorithms.js';

export interface SignOptions {
  /** Sign RSA with RSASSA-PSS (method 14 only); default PKCS#1 v1.5, which every client verifies. */
  rsaPss?: boolean;
}

const HASH_ID: Record<HashName, number> = {
  sha1: HashAlgorithm.SHA1,
  sha256: HashAlgorithm.SHA2_256,
  sha384: HashAlgorithm.SHA2_384,
  sha512: HashAlgorithm.SHA2_512,
};

/** ECDSA curve → (legacy method, hash of that method, r/s size in bytes) (RFC 4754 §3). */
const ECDSA_LEGACY: Record<string, { method: number; hash: HashName; size: number }> = {
  'P-256': { method: AuthMethod.ECDSA_SHA256_P256, hash: 'sha256', size: 32 },
  'P-384': { method: AuthMethod.ECDSA_SHA384_P384, hash: 'sha384', size: 48 },
  'P-521': { method: AuthMethod.ECDSA_SHA512_P521, hash: 'sha512', size: 66 },
};
const NODE_CURVE: Record<string, string> = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' };

let ed25519Supported: boolean | undefined;

/** Whether this node/OpenSSL can do Ed25519 (checked once, by importing RFC 8032 §7.1 TEST 1's public key). */
function hasEd25519(): boolean {
  if (ed25519Supported === undefined) {
    try {
      createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo' }, format: 'jwk' });
      ed25519Supported = true;
    } catch {
      ed25519Supported = false;
    }
  }
  return ed25519Supported;
}

/** The SIGNATURE_HASH_ALGORITHMS we announce (RFC 7427 §4): SHA2-256/384/512, IDENTITY for Ed25519. */
export function ourHashAlgorithms(): number[] {
  const out: number[] = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512];
  if (hasEd25519()) out.push(HashAlgorithm.IDENTITY);
  return out;
}

/** Picks the RFC 7427 scheme for our key given the hashes the peer announced, or undefined. */
function chooseScheme(cred: LocalCredential, peer: readonly number[], opts: SignOptions): SignatureScheme | undefined {
  const has = (h: HashName): boolean => peer.includes(HASH_ID[h]);
  switch (cred.cert.keyType) {
    case 'ed25519':
      return peer.includes(HashAlgorithm.IDENTITY) ? { kind: 'ed25519' } : undefined;
    case 'ecdsa': {
      // The hash that matches the curve's strength first (FIPS 186-4 §6.4 pairing), then the others.
      const own = ECDSA_LEGACY[cred.cert.curve ?? 'P-256']!.hash;
      const order: HashName[] = [own, 'sha512', 'sha384', 'sha256'];
      const h = order.find(has);
      return h ? { kind: 'ecdsa', hash: h } : undefined;
    }
    case 'rsa': {
      // SHA-256 is what everybody verifies; SHA-1 only when that is all the peer offers.
      const h = (['sha256', 'sha384', 'sha512', 'sha1'] as const).find(has);
      if (!h) return undefined;
      if (opts.rsaPss && h !== 'sha1') return { kind: 'rsa-pss', hash: h, mgf1Hash: h, saltLength: { sha1: 20, sha256: 32, sha384: 48, sha512: 64 }[h] };
      return { kind: 'rsa-pkcs1', hash: h };
    }
  }
}

/**
 * Signs the AUTH octets (RFC 7296 §2.15 "InitiatorSignedOctets"/"ResponderSignedOctets").
 * `peerHashAlgs` is the peer's SIGNATURE_HASH_ALGORITHMS list, undefined when it sent none.
 */
export function signAuth(
  cred: LocalCredential,
  octets: Uint8Array,
  peerHashAlgs: readonly number[] | undefined,
  opts: SignOptions = {},
): { method: number; data: Uint8Array } {
  if (peerHashAlgs) {
    const scheme = chooseScheme(cred, peerHashAlgs, opts);
    if (scheme) {
      const algId = encodeSignatureAlgorithm(scheme);
      const sig = signWithScheme(scheme, cred.privateKey, octets, 'der');
      return { method: AuthMethod.DIGITAL_SIGNATURE, data: concat(new Uint8Array([algId.length]), algId, sig) };
    }
  }
  switch (cred.cert.keyType) {
    case 'rsa':
      return { method: AuthMethod.RSA_SIG, data: signWithScheme({ kind: 'rsa-pkcs1', hash: 'sha1' }, cred.privateKey, octets) };
    case 'ecdsa': {
      const legacy = ECDSA_LEGACY[cred.cert.curve ?? '']!;
      return { method: legacy.method, data: signWithScheme({ kind: 'ecdsa', hash: legacy.hash }, cred.privateKey, octets, 'ieee-p1363') };
    }
    case 'ed25519':
      // Ed25519 exists only as RFC 7427 method 14 (RFC 8420 §2).
      throw new IkeError(NotifyType.AUTHENTICATION_FAILED, 'peer does not support RFC 7427/8420 signatures, which an Ed25519 certificate needs');
  }
}

export type AuthVerdict = { ok: true; scheme: string } | { ok: false; reason: string };

/** Verifies a peer's AUTH payload signature made with `method` over `octets`. */
export function verifyAuth(publicKey: KeyObject, method: number, data: Uint8Array, octets: Uint8Array): AuthVerdict {
  switch (method) {
    case AuthMethod.RSA_SIG: {
      const problem = verifyWithScheme({ kind: 'rsa-pkcs1', hash: 'sha1' }, publicKey, octets, data);
      return problem ? { ok: false, reason: `RSA signature (method 1): ${problem}` } : { ok: true, scheme: 'sha1WithRSAEncryption (method 1)' };
    }
    case AuthMethod.ECDSA_SHA256_P256:
    case AuthMethod.ECDSA_SHA384_P384:
    case AuthMethod.ECDSA_SHA512_P521: {
      const curve = Object.keys(ECDSA_LEGACY).find((c) => ECDSA_LEGACY[c]!.method === method)!;
      const legacy = ECDSA_LEGACY[curve]!;
      if (publicKey.asymmetricKeyType !== 'ec') return { ok: false, reason: `AUTH method ${method} needs an ECDSA key, the certificate has ${publicKey.asymmetricKeyType}` };
      const keyCurve = NODE_CURVE[publicKey.asymmetricKeyDetails?.namedCurve ?? ''];
      // RFC 4754 ties the method to the curve; a P-384 key cannot make a method-9 signature.
      if (keyCurve !== curve) return { ok: false, reason: `AUTH method ${method} is ECDSA on ${curve}, the certificate key is on ${keyCurve ?? 'another curve'}` };
      if (data.length !== 2 * legacy.size) return { ok: false, reason: `ECDSA ${curve} signature must be ${2 * legacy.size} bytes, got ${data.length}` };
      const problem = verifyWithScheme({ kind: 'ecdsa', hash: legacy.hash }, publicKey, octets, data, 'ieee-p1363');
      return problem ? { ok: false, reason: `ECDSA signature (method ${method}): ${problem}` } : { ok: true, scheme: `ecdsa-with-${legacy.hash} ${curve} (method ${method})` };
    }
    case AuthMethod.DIGITAL_SIGNATURE: {
      const len = data[0];
      if (len === undefined || len === 0 || data.length < 1 + len) return { ok: false, reason: 'Digital Signature AUTH data too short for its AlgorithmIdentifier' };
      const alg = parseSignatureAlgorithm(data.subarray(1, 1 + len));
      if (!alg.ok) return { ok: false, reason: `Digital Signature: ${alg.reason}` };
      const sig = data.subarray(1 + len);
      const problem = verifyWithScheme(alg.scheme, publicKey, octets, sig, 'der');
      return problem ? { ok: false, reason: `${schemeName(alg.scheme)}: ${problem}` } : { ok: true, scheme: schemeName(alg.scheme) };
    }
    default:
      return { ok: false, reason: `unsupported AUTH method ${method}` };
  }
}
