// Signature AlgorithmIdentifiers (RFC 5280 §4.1.1.2) shared by certificate verification and
// IKEv2 AUTH method 14 (RFC 7427 §3): decode one into a scheme, encode the ones we sign with,
// and sign/verify with node:crypto KeyObjects. PKCS#1 v1.5 and PSS: RFC 8017 §8, PSS
// parameters: RFC 4055 §3.1; ECDSA: RFC 5758 §3.2 / RFC 3279 §2.2.3; Ed25519: RFC 8410 §3.
import { constants, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto';
import { Asn1Error, Tag, children, decodeOid, decodeSmallInt, derNull, expectTag, oid, readOne, seq, smallInt, tlv } from './der.js';

export type HashName = 'sha1' | 'sha256' | 'sha384' | 'sha512';

export type SignatureScheme =
  | { kind: 'rsa-pkcs1'; hash: HashName }
  | { kind: 'rsa-pss'; hash: HashName; mgf1Hash: HashName; saltLength: number }
  | { kind: 'ecdsa'; hash: HashName }
  | { kind: 'ed25519' };

export const OID = {
  rsaEncryption: '1.2.840.113549.1.1.1',
  mgf1: '1.2.840.113549.1.1.8',
  rsassaPss: '1.2.840.113549.1.1.10',
  sha1WithRSAEncryption: '1.2.840.113549.1.1.5',
  sha256WithRSAEncryption: '1.2.840.113549.1.1.11',
  sha384WithRSAEncryption: '1.2.840.113549.1.1.12',
  sha512WithRSAEncryption: '1.2.840.113549.1.1.13',
  ecPublicKey: '1.2.840.10045.2.1',
  ecdsaWithSHA1: '1.2.840.10045.4.1',
  ecdsaWithSHA256: '1.2.840.10045.4.3.2',
  ecdsaWithSHA384: '1.2.840.10045.4.3.3',
  ecdsaWithSHA512: '1.2.840.10045.4.3.4',
  ed25519: '1.3.101.112',
  ed448: '1.3.101.113',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  sha384: '2.16.840.1.101.3.4.2.2',
  sha512: '2.16.840.1.101.3.4.2.3',
  secp256r1: '1.2.840.10045.3.1.7',
  secp384r1: '1.3.132.0.34',
  secp521r1: '1.3.132.0.35',
} as const;

const HASH_BY_OID = new Map<string, HashName>([
  [OID.sha1, 'sha1'],
  [OID.sha256, 'sha256'],
  [OID.sha384, 'sha384'],
  [OID.sha512, 'sha512'],
]);
const HASH_OID: Record<HashName, string> = { sha1: OID.sha1, sha256: OID.sha256, sha384: OID.sha384, sha512: OID.sha512 };

const PKCS1_BY_OID = new Map<string, HashName>([
  [OID.sha1WithRSAEncryption, 'sha1'],
  [OID.sha256WithRSAEncryption, 'sha256'],
  [OID.sha384WithRSAEncryption, 'sha384'],
  [OID.sha512WithRSAEncryption, 'sha512'],
]);
const ECDSA_BY_OID = new Map<string, HashName>([
  [OID.ecdsaWithSHA1, 'sha1'],
  [OID.ecdsaWithSHA256, 'sha256'],
  [OID.ecdsaWithSHA384, 'sha384'],
  [OID.ecdsaWithSHA512, 'sha512'],
]);

export type ParsedAlgorithm = { ok: true; scheme: SignatureScheme } | { ok: false; oid: string; reason: string };

/**
 * Decodes a signature AlgorithmIdentifier. Unknown algorithms and malformed parameters are
 * an ordinary `ok: false` (the caller turns that into an AUTH failure), never an exception.
 */
export function parseSignatureAlgorithm(der: Uint8Array): ParsedAlgorithm {
  let oidText = '?';
  try {
    const [algorithm, params, extra] = children(expectTag(readOne(der, 'AlgorithmIdentifier'), Tag.SEQUENCE, 'AlgorithmIdentifier'));
    oidText = decodeOid(expectTag(algorithm, Tag.OID, 'algorithm').value);
    if (extra) throw new Asn1Error('trailing element in AlgorithmIdentifier');
    const pkcs1 = PKCS1_BY_OID.get(oidText);
    if (pkcs1) {
      // RFC 4055 §5 wants NULL; absent parameters are accepted as an equivalent encoding.
      if (params && params.tag !== Tag.NULL) throw new Asn1Error('parameters of PKCS#1 v1.5 algorithm must be NULL');
      return { ok: true, scheme: { kind: 'rsa-pkcs1', hash: pkcs1 } };
    }
    const ecdsa = ECDSA_BY_OID.get(oidText);
    if (ecdsa) {
      // RFC 5758 §3.2: parameters MUST be absent. Some encoders add NULL; tolerate it.
      if (params && params.tag !== Tag.NULL) throw new Asn1Error('parameters of ECDSA algorithm must be absent');
      return { ok: true, scheme: { kind: 'ecdsa', hash: ecdsa } };
    }
    if (oidText === OID.ed25519) {
      if (params) throw new Asn1Error('parameters of Ed25519 must be absent (RFC 8410 §3)');
      return { ok: true, scheme: { kind: 'ed25519' } };
    }
    if (oidText === OID.rsassaPss) return { ok: true, scheme: parsePssParams(params) };
    return { ok: false, oid: oidText, reason: `unsupported signature algorithm ${oidText}` };
  } catch (e) {
    return { ok: false, oid: oidText, reason: `malformed AlgorithmIdentifier: ${(e as Error).message}` };
  }
}

/**
 * RSASSA-PSS-params (RFC 4055 §3.1, RFC 8017 A.2.3): every field has a DEFAULT (SHA-1,
 * MGF1-SHA-1, salt 20, trailer 1), so absent parameters or an empty SEQUENCE mean those.
 */
function parsePssParams(params: ReturnType<typeof readOne> | undefined): SignatureScheme {
  let hash: HashName = 'sha1';
  let mgf1Hash: HashName = 'sha1';
  let saltLength = 20;
  if (params && params.tag !== Tag.NULL) {
    for (const field of children(expectTag(params, Tag.SEQUENCE, 'RSASSA-PSS-params'))) {
      const [inner, more] = children(field);
      if (!inner || more) throw new Asn1Error('malformed RSASSA-PSS-params field');
      switch (field.tag) {
        case 0xa0:
          hash = hashAlgorithm(inner);
          break;
        case 0xa1: {
          const [mgfOid, mgfParams] = children(expectTag(inner, Tag.SEQUENCE, 'maskGenAlgorithm'));
          const mgf = decodeOid(expectTag(mgfOid, Tag.OID, 'maskGenAlgorithm').value);
          if (mgf !== OID.mgf1) throw new Asn1Error(`unsupported mask generation function ${mgf}`);
          if (!mgfParams) throw new Asn1Error('MGF1 without hash algorithm');
          mgf1Hash = hashAlgorithm(mgfParams);
          break;
        }
        case 0xa2:
          saltLength = decodeSmallInt(expectTag(inner, Tag.INTEGER, 'saltLength').value);
          break;
        case 0xa3:
          if (decodeSmallInt(expectTag(inner, Tag.INTEGER, 'trailerField').value) !== 1)
            throw new Asn1Error('trailerField must be 1 (RFC 4055 §3.1)');
          break;
        default:
          throw new Asn1Error(`unexpected tag 0x${field.tag.toString(16)} in RSASSA-PSS-params`);
      }
    }
  }
  return { kind: 'rsa-pss', hash, mgf1Hash, saltLength };
}

function hashAlgorithm(t: ReturnType<typeof readOne>): HashName {
  const [o, p] = children(expectTag(t, Tag.SEQUENCE, 'hash AlgorithmIdentifier'));
  const text = decodeOid(expectTag(o, Tag.OID, 'hash algorithm').value);
  if (p && p.tag !== Tag.NULL) throw new Asn1Error('hash algorithm parameters must be NULL or absent');
  const h = HASH_BY_OID.get(text);
  if (!h) throw new Asn1Error(`unsupported hash algorithm ${text}`);
  return h;
}

/**
 * DER AlgorithmIdentifier for a scheme, as listed in RFC 7427 Appendix A: PKCS#1 v1.5 with
 * NULL parameters (A.1), ECDSA without parameters (A.3), RSASSA-PSS with explicit parameters
 * whose hash AlgorithmIdentifiers carry NULL (A.4.3), Ed25519 without parameters (RFC 8410 §3).
 */
export function encodeSignatureAlgorithm(s: SignatureScheme): Uint8Array {
  switch (s.kind) {
    case 'rsa-pkcs1': {
      const o = { sha1: OID.sha1WithRSAEncryption, sha256: OID.sha256WithRSAEncryption, sha384: OID.sha384WithRSAEncryption, sha512: OID.sha512WithRSAEncryption }[s.hash];
      return seq(oid(o), derNull());
    }
    case 'ecdsa': {
      const o = { sha1: OID.ecdsaWithSHA1, sha256: OID.ecdsaWithSHA256, sha384: OID.ecdsaWithSHA384, sha512: OID.ecdsaWithSHA512 }[s.hash];
      return seq(oid(o));
    }
    case 'ed25519':
      return seq(oid(OID.ed25519));
    case 'rsa-pss': {
      const hashId = (h: HashName): Uint8Array => seq(oid(HASH_OID[h]), derNull());
      // DER omits fields equal to their DEFAULT (X.690 §11.5).
      const fields: Uint8Array[] = [];
      if (s.hash !== 'sha1') fields.push(tlv(0xa0, hashId(s.hash)));
      if (s.mgf1Hash !== 'sha1') fields.push(tlv(0xa1, seq(oid(OID.mgf1), hashId(s.mgf1Hash))));
      if (s.saltLength !== 20) fields.push(tlv(0xa2, smallInt(s.saltLength)));
      return seq(oid(OID.rsassaPss), seq(...fields));
    }
  }
}

/** Human-readable scheme, for logs ("ecdsa-with-sha256", "rsassa-pss(sha256,mgf1-sha256,salt=32)"). */
export function schemeName(s: SignatureScheme): string {
  switch (s.kind) {
    case 'rsa-pkcs1':
      return `${s.hash}WithRSAEncryption`;
    case 'rsa-pss':
      return `rsassa-pss(${s.hash},mgf1-${s.mgf1Hash},salt=${s.saltLength})`;
    case 'ecdsa':
      return `ecdsa-with-${s.hash}`;
    case 'ed25519':
      return 'ed25519';
  }
}

/** Which key types a scheme needs (node's asymmetricKeyType names). */
function keyFits(s: SignatureScheme, key: KeyObject): string | undefined {
  const t = key.asymmetricKeyType;
  switch (s.kind) {
    case 'rsa-pkcs1':
      return t === 'rsa' ? undefined : `${schemeName(s)} needs an RSA key, the certificate has ${t}`;
    case 'rsa-pss':
      return t === 'rsa' || t === 'rsa-pss' ? undefined : `${schemeName(s)} needs an RSA key, the certificate has ${t}`;
    case 'ecdsa':
      return t === 'ec' ? undefined : `${schemeName(s)} needs an EC key, the certificate has ${t}`;
    case 'ed25519':
      return t === 'ed25519' ? undefined : `ed25519 signature but the certificate has a ${t} key`;
  }
}

/**
 * Verifies `sig` over `data`. Returns a reason string on failure, undefined on success.
 * `ecdsaEncoding` is 'der' for X.509 and RFC 7427, 'ieee-p1363' (r||s) for RFC 4754.
 */
export function verifyWithScheme(
  s: SignatureScheme,
  key: KeyObject,
  data: Uint8Array,
  sig: Uint8Array,
  ecdsaEncoding: 'der' | 'ieee-p1363' = 'der',
): string | undefined {
  const mismatch = keyFits(s, key);
  if (mismatch) return mismatch;
  try {
    let ok: boolean;
    switch (s.kind) {
      case 'rsa-pkcs1':
        ok = nodeVerify(s.hash, data, { key, padding: constants.RSA_PKCS1_PADDING }, sig);
        break;
      case 'rsa-pss':
        // OpenSSL through node uses the message digest for MGF1 as well; a different MGF1
        // hash cannot be expressed, and nobody sends one.
        if (s.mgf1Hash !== s.hash) return `RSASSA-PSS with MGF1 hash ${s.mgf1Hash} different from ${s.hash} is not supported`;
        if (s.saltLength > 1024) return `RSASSA-PSS salt length ${s.saltLength} is not plausible`;
        ok = nodeVerify(s.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: s.saltLength }, sig);
        break;
      case 'ecdsa':
        ok = nodeVerify(s.hash, data, { key, dsaEncoding: ecdsaEncoding }, sig);
        break;
      case 'ed25519':
        ok = nodeVerify(null, data, key, sig);
        break;
    }
    return ok ? undefined : 'signature does not verify';
  } catch (e) {
    // OpenSSL rejects some malformed signatures by throwing rather than returning false.
    return `signature does not verify (${(e as Error).message})`;
  }
}

/** Signs with a pre-parsed private KeyObject. */
export function signWithScheme(s: SignatureScheme, key: KeyObject, data: Uint8Array, ecdsaEncoding: 'der' | 'ieee-p1363' = 'der'): Uint8Array {
  let out: Buffer;
  switch (s.kind) {
    case 'rsa-pkcs1':
      out = nodeSign(s.hash, data, { key, padding: constants.RSA_PKCS1_PADDING });
      break;
    case 'rsa-pss':
      out = nodeSign(s.hash, data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: s.saltLength });
      break;
    case 'ecdsa':
      out = nodeSign(s.hash, data, { key, dsaEncoding: ecdsaEncoding });
      break;
    case 'ed25519':
      out = nodeSign(null, data, key);
      break;
  }
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}
