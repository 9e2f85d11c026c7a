// X.509 v3 certificates (RFC 5280 §4) as plain records for IKEv2 certificate authentication
// (RFC 7296 §2.15, §3.6, §3.7), decoded with our own DER reader: it yields byte-exact
// TBSCertificate/Name/SPKI slices and costs tens of µs, where asn1js+pkijs took 0.5–3 ms per
// certificate (measured; crypto-costs §3.4 recommends a TS reader for peer certificates). `keyId` is what CERTREQ
// carries: "the SHA-1 hash of the Subject Public Key Info element ... from each Trust Anchor
// certificate" (RFC 7296 §3.7) — strongSwan's KEYID_PUBKEY_INFO_SHA1, printed by
// `pki --keyid` as "keyid (SHA-1 of subjectPublicKeyInfo)"; not the subjectKeyIdentifier.
import { createHash, createPublicKey, type KeyObject } from 'node:crypto';
import { Asn1Error, Tag, children, decodeOid, decodeSmallInt, expectTag, readOne, type Tlv } from './der.js';
import { formatName } from './names.js';
import { OID } from './algorithms.js';

/** A certificate that cannot be used: malformed, or using something we do not support. */
export class CertificateError extends Error {
  override readonly name = 'CertificateError';
}

export type KeyType = 'rsa' | 'ecdsa' | 'ed25519';
export type Curve = 'P-256' | 'P-384' | 'P-521';

export const EKU = {
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
  /** id-kp-ipsecIKE (RFC 4945 §5.1.3.12), "IP Security IKE Intermediate" in Windows. */
  ikeIntermediate: '1.3.6.1.5.5.8.2.2',
} as const;

/** keyUsage bits (RFC 5280 §4.2.1.3), bit 0 = digitalSignature. */
export const KeyUsage = {
  digitalSignature: 1 << 0,
  nonRepudiation: 1 << 1,
  keyEncipherment: 1 << 2,
  keyCertSign: 1 << 5,
  cRLSign: 1 << 6,
} as const;

export interface SubjectAltNames {
  dns: string[];
  email: string[];
  /** 4 or 16 bytes each. */
  ip: Uint8Array[];
}

/** Extensions we understand well enough to honour when they are marked critical. */
const KNOWN_EXTENSIONS = new Set([
  '2.5.29.14', // subjectKeyIdentifier
  '2.5.29.15', // keyUsage
  '2.5.29.17', // subjectAltName
  '2.5.29.18', // issuerAltName
  '2.5.29.19', // basicConstraints
  '2.5.29.35', // authorityKeyIdentifier
  '2.5.29.37', // extKeyUsage
  '2.5.29.31', // cRLDistributionPoints (not checked: no revocation yet)
  '1.3.6.1.5.5.7.1.1', // authorityInfoAccess
  '2.5.29.32', // certificatePolicies (anyPolicy semantics)
]);

export class Certificate {
  /** Lazily imported node KeyObject (import costs 10–150 µs, crypto-costs §3.4/§3.6). */
  #publicKey: KeyObject | undefined;

  constructor(
    readonly der: Uint8Array,
    /** SHA-256 of the DER: cache key and what operators compare ("fingerprint"). */
    readonly fingerprint: Uint8Array,
    readonly tbsDer: Uint8Array,
    readonly signatureAlgorithmDer: Uint8Array,
    readonly signatureValue: Uint8Array,
    readonly subjectDer: Uint8Array,
    readonly issuerDer: Uint8Array,
    readonly subjectText: string,
    readonly issuerText: string,
    /** Serial number, hex (as in `openssl x509 -serial`, lower case). */
    readonly serial: string,
    readonly notBefore: Date,
    readonly notAfter: Date,
    readonly isCa: boolean,
    readonly pathLen: number | undefined,
    /** keyUsage bits, undefined when the extension is absent. */
    readonly keyUsage: number | undefined,
    /** extKeyUsage OIDs; empty when the extension is absent. */
    readonly ekus: string[],
    readonly sans: SubjectAltNames,
    readonly spkiDer: Uint8Array,
    /** SHA-1 of the SubjectPublicKeyInfo DER (RFC 7296 §3.7 CERTREQ, ID_KEY_ID). */
    readonly keyId: Uint8Array,
    /** SHA-1 of the subjectPublicKey BIT STRING contents (RFC 5280 §4.2.1.2 method 1). */
    readonly publicKeySha1: Uint8Array,
    readonly subjectKeyIdentifier: Uint8Array | undefined,
    readonly authorityKeyIdentifier: Uint8Array | undefined,
    readonly keyType: KeyType,
    readonly curve: Curve | undefined,
    /** Critical extensions we do not implement (RFC 5280 §4.2: such a certificate MUST be rejected). */
    readonly unknownCriticalExtensions: string[],
  ) {}

  get publicKey(): KeyObject {
    this.#publicKey ??= importSpki(this.spkiDer, this.keyType);
    return this.#publicKey;
  }

  /** Subject and issuer are the same Name (a root or a self-issued key rollover cert). */
  get selfIssued(): boolean {
    return Buffer.compare(this.subjectDer, this.issuerDer) === 0;
  }

  toString(): string {
    return this.subjectText;
  }
}

/**
 * Parses a certificate from DER or PEM. Any failure on attacker-supplied bytes is a
 * CertificateError; nothing else escapes.
 */
export function parseCertificate(derOrPem: Uint8Array | string): Certificate {
  let der: Uint8Array;
  if (typeof derOrPem === 'string' || looksLikePem(derOrPem)) {
    const text = typeof derOrPem === 'string' ? derOrPem : Buffer.from(derOrPem).toString('latin1');
    const block = readPemBlocks(text).find((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
    if (!block) throw new CertificateError('no CERTIFICATE block in PEM text');
    der = block.der;
  } else {
    der = derOrPem;
  }
  try {
    return parseDer(der);
  } catch (e) {
    if (e instanceof CertificateError) throw e;
    throw new CertificateError(`malformed certificate: ${(e as Error).message ?? String(e)}`);
  }
}

function parseDer(der: Uint8Array): Certificate {
  // Own structural walk first: exact slices and a strict "no trailing bytes" rule.
  const cert = expectTag(readOne(der, 'Certificate'), Tag.SEQUENCE, 'Certificate');
  const [tbs, sigAlg, sigValue, extra] = children(cert);
  if (extra) throw new Asn1Error('trailing element in Certificate');
  expectTag(tbs, Tag.SEQUENCE, 'TBSCertificate');
  expectTag(sigAlg, Tag.SEQUENCE, 'signatureAlgorithm');
  const sigBits = expectTag(sigValue, Tag.BIT_STRING, 'signatureValue').value;
  if (sigBits.length < 1 || sigBits[0] !== 0) throw new Asn1Error('signatureValue has unused bits');

  const fields = children(tbs!);
  let i = 0;
  if (fields[0]?.tag === 0xa0) i++; // [0] EXPLICIT version
  const serialTlv = expectTag(fields[i++], Tag.INTEGER, 'serialNumber');
  i++; // signature (must equal signatureAlgorithm; checked below)
  const issuer = expectTag(fields[i++], Tag.SEQUENCE, 'issuer');
  const validity = expectTag(fields[i++], Tag.SEQUENCE, 'validity');
  const subject = expectTag(fields[i++], Tag.SEQUENCE, 'subject');
  const spki = expectTag(fields[i++], Tag.SEQUENCE, 'subjectPublicKeyInfo');
  const innerSig = fields[fields[0]?.tag === 0xa0 ? 2 : 1]!;
  if (Buffer.compare(innerSig.bytes, sigAlg!.bytes) !== 0)
    throw new CertificateError('signature algorithm in TBSCertificate differs from signatureAlgorithm (RFC 5280 §4.1.1.2)');

  const { keyType, curve, publicKeyBits } = describeSpki(spki);
  const [notBefore, notAfter] = parseValidity(validity);

  let isCa = false;
  let pathLen: number | undefined;
  let keyUsage: number | undefined;
  let ekus: string[] = [];
  const sans: SubjectAltNames = { dns: [], email: [], ip: [] };
  let ski: Uint8Array | undefined;
  let aki: Uint8Array | undefined;
  const unknownCritical: string[] = [];
  const seen = new Set<string>();
  for (const f of fields.slice(i)) {
    // issuerUniqueID [1] and subjectUniqueID [2] are skipped; extensions are [3] EXPLICIT.
    if (f.tag !== 0xa3) continue;
    const [list] = children(f);
    for (const e of children(expectTag(list, Tag.SEQUENCE, 'Extensions'))) {
      const parts = children(expectTag(e, Tag.SEQUENCE, 'Extension'));
      const id = decodeOid(expectTag(parts[0], Tag.OID, 'extnID').value);
      let critical = false;
      let k = 1;
      if (parts[k]?.tag === Tag.BOOLEAN) critical = parts[k++]!.value[0] !== 0;
      const raw = expectTag(parts[k], Tag.OCTET_STRING, 'extnValue').value;
      if (seen.has(id)) throw new CertificateError(`duplicate extension ${id} (RFC 5280 §4.2)`);
      seen.add(id);
      switch (id) {
        case '2.5.29.19': {
          // BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }
          for (const c of children(expectTag(readOne(raw, 'basicConstraints'), Tag.SEQUENCE, 'basicConstraints'))) {
            if (c.tag === Tag.BOOLEAN) isCa = c.value[0] !== 0;
            else if (c.tag === Tag.INTEGER) pathLen = decodeSmallInt(c.value);
            else throw new Asn1Error('malformed basicConstraints');
          }
          break;
        }
        case '2.5.29.15':
          keyUsage = decodeKeyUsage(raw);
          break;
        case '2.5.29.37':
          ekus = children(expectTag(readOne(raw, 'extKeyUsage'), Tag.SEQUENCE, 'extKeyUsage')).map((o) => decodeOid(expectTag(o, Tag.OID, 'KeyPurposeId').value));
          break;
        case '2.5.29.17':
          for (const gn of children(expectTag(readOne(raw, 'subjectAltName'), Tag.SEQUENCE, 'subjectAltName'))) collectGeneralName(gn, sans);
          break;
        case '2.5.29.14':
          ski = new Uint8Array(expectTag(readOne(raw, 'subjectKeyIdentifier'), Tag.OCTET_STRING, 'subjectKeyIdentifier').value);
          break;
        case '2.5.29.35': {
          const kid = children(expectTag(readOne(raw, 'authorityKeyIdentifier'), Tag.SEQUENCE, 'authorityKeyIdentifier')).find((x) => x.tag === 0x80);
          if (kid) aki = new Uint8Array(kid.value);
          break;
        }
        default:
          if (critical && !KNOWN_EXTENSIONS.has(id)) unknownCritical.push(id);
      }
    }
  }

  const serialHex = Buffer.from(serialTlv.value).toString('hex').replace(/^(00)+(?=..)/, '');
  const ownDer = new Uint8Array(der); // detach from the caller's (possibly reused) buffer
  const slice = (t: Tlv): Uint8Array => ownDer.subarray(t.bytes.byteOffset - der.byteOffset, t.bytes.byteOffset - der.byteOffset + t.bytes.length);
  return new Certificate(
    ownDer,
    sha(ownDer, 'sha256'),
    slice(tbs!),
    slice(sigAlg!),
    new Uint8Array(sigBits.subarray(1)),
    slice(subject),
    slice(issuer),
    formatName(subject.bytes),
    formatName(issuer.bytes),
    serialHex,
    notBefore,
    notAfter,
    isCa,
    pathLen,
    keyUsage,
    ekus,
    sans,
    slice(spki),
    sha(spki.bytes, 'sha1'),
    sha(publicKeyBits, 'sha1'),
    ski,
    aki,
    keyType,
    curve,
    unknownCritical,
  );
}

/** GeneralName (RFC 5280 §4.2.1.6), IMPLICIT tags: [1] rfc822Name, [2] dNSName, [7] iPAddress. */
function collectGeneralName(gn: Tlv, sans: SubjectAltNames): void {
  switch (gn.tag) {
    case 0x81:
      sans.email.push(Buffer.from(gn.value).toString('latin1'));
      break;
    case 0x82:
      sans.dns.push(Buffer.from(gn.value).toString('latin1'));
      break;
    case 0x87:
      // 8 or 32 bytes are address+mask forms used only in name constraints.
      if (gn.value.length === 4 || gn.value.length === 16) sans.ip.push(new Uint8Array(gn.value));
      break;
    default:
      // otherName, directoryName, URI, ...: not used for IKE identities here.
      break;
  }
}

/** Validity ::= SEQUENCE { notBefore Time, notAfter Time } (RFC 5280 §4.1.2.5). */
function parseValidity(v: Tlv): [Date, Date] {
  const [a, b, extra] = children(v);
  if (!a || !b || extra) throw new Asn1Error('malformed validity');
  return [parseTime(a), parseTime(b)];
}

function parseTime(t: Tlv): Date {
  const s = Buffer.from(t.value).toString('latin1');
  // UTCTime YYMMDDHHMMSSZ (years 1950–2049), GeneralizedTime YYYYMMDDHHMMSS[.f]Z.
  const m =
    t.tag === Tag.UTC_TIME
      ? /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s)
      : t.tag === Tag.GENERALIZED_TIME
        ? /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.\d+)?Z$/.exec(s)
        : null;
  if (!m) throw new Asn1Error(`malformed time '${s.slice(0, 20)}'`);
  let year = Number(m[1]);
  if (t.tag === Tag.UTC_TIME) year += year < 50 ? 2000 : 1900;
  const [mo, d, h, mi, se] = [m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number];
  const date = new Date(Date.UTC(year, mo - 1, d, h, mi, se));
  if (date.getUTCMonth() !== mo - 1 || date.getUTCDate() !== d || h > 23 || mi > 59 || se > 59) throw new Asn1Error(`invalid time '${s}'`);
  return date;
}

/** KeyUsage ::= BIT STRING; bit 0 is the most significant bit of the first content octet. */
function decodeKeyUsage(raw: Uint8Array): number {
  const bits = expectTag(readOne(raw, 'keyUsage'), Tag.BIT_STRING, 'keyUsage').value;
  if (bits.length < 1) throw new CertificateError('malformed keyUsage');
  let out = 0;
  for (let byte = 1; byte < bits.length && byte <= 2; byte++) {
    for (let bit = 0; bit < 8; bit++) if (bits[byte]! & (0x80 >> bit)) out |= 1 << ((byte - 1) * 8 + bit);
  }
  return out;
}

/** Key type and curve from the SubjectPublicKeyInfo's AlgorithmIdentifier (RFC 5480, RFC 8410). */
function describeSpki(spki: Tlv): { keyType: KeyType; curve: Curve | undefined; publicKeyBits: Uint8Array } {
  const [alg, key] = children(spki);
  const [algOid, params] = children(expectTag(alg, Tag.SEQUENCE, 'SubjectPublicKeyInfo algorithm'));
  const bits = expectTag(key, Tag.BIT_STRING, 'subjectPublicKey').value;
  if (bits.length < 2 || bits[0] !== 0) throw new Asn1Error('malformed subjectPublicKey');
  const publicKeyBits = bits.subarray(1);
  const o = decodeOid(expectTag(algOid, Tag.OID, 'public key algorithm').value);
  if (o === OID.rsaEncryption || o === OID.rsassaPss) return { keyType: 'rsa', curve: undefined, publicKeyBits };
  if (o === OID.ed25519) return { keyType: 'ed25519', curve: undefined, publicKeyBits };
  if (o === OID.ecPublicKey) {
    if (params?.tag !== Tag.OID) throw new CertificateError('EC public key without a named curve (explicit parameters are not supported)');
    const c = decodeOid(params.value);
    const curve = c === OID.secp256r1 ? 'P-256' : c === OID.secp384r1 ? 'P-384' : c === OID.secp521r1 ? 'P-521' : undefined;
    if (!curve) throw new CertificateError(`unsupported elliptic curve ${c}`);
    return { keyType: 'ecdsa', curve, publicKeyBits };
  }
  throw new CertificateError(`unsupported public key algorithm ${o}`);
}

/**
 * Imports a SubjectPublicKeyInfo. For RSA and Ed25519 we go through JWK, which skips
 * OpenSSL's DECODER framework (crypto-costs §3.4: ~10 µs instead of 100–145 µs); EC keys
 * are validated on import whichever path is taken, so they use DER.
 */
export function importSpki(spkiDer: Uint8Array, keyType: KeyType): KeyObject {
  try {
    if (keyType === 'rsa') {
      const jwk = rsaJwk(spkiDer);
      if (jwk) return createPublicKey({ key: jwk, format: 'jwk' });
    } else if (keyType === 'ed25519') {
      const [, key] = children(readOne(spkiDer));
      const raw = key!.value.subarray(1);
      if (raw.length === 32) return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64u(raw) }, format: 'jwk' });
    }
    return createPublicKey({ key: Buffer.from(spkiDer), format: 'der', type: 'spki' });
  } catch (e) {
    throw new CertificateError(`unusable public key: ${(e as Error).message}`);
  }
}

function rsaJwk(spkiDer: Uint8Array): { kty: 'RSA'; n: string; e: string } | undefined {
  const [alg, key] = children(readOne(spkiDer));
  const [algOid] = children(alg!);
  // RSASSA-PSS-restricted keys keep their parameters only in DER form.
  if (decodeOid(algOid!.value) !== OID.rsaEncryption) return undefined;
  const rsaKey = readOne(key!.value.subarray(1), 'RSAPublicKey');
  const [n, e] = children(rsaKey);
  const strip = (v: Uint8Array): Uint8Array => {
    let k = 0;
    while (k < v.length - 1 && v[k] === 0) k++;
    return v.subarray(k);
  };
  return { kty: 'RSA', n: b64u(strip(expectTag(n, Tag.INTEGER, 'modulus').value)), e: b64u(strip(expectTag(e, Tag.INTEGER, 'exponent').value)) };
}

function b64u(b: Uint8Array): string {
  return Buffer.from(b).toString('base64url');
}

export interface PemBlock {
  label: string;
  der: Uint8Array;
  /** RFC 1421 headers (Proc-Type, DEK-Info) of legacy encrypted keys; empty otherwise. */
  headers: Record<string, string>;
  /** The block as it appeared, for handing encrypted legacy keys to node unchanged. */
  text: string;
}

/** Every `-----BEGIN X-----` … `-----END X-----` block of a PEM file (RFC 7468). */
export function readPemBlocks(text: string): PemBlock[] {
  const out: PemBlock[] = [];
  const re = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const headers: Record<string, string> = {};
    const lines: string[] = [];
    for (const line of m[2]!.split(/\r?\n/)) {
      const h = /^([A-Za-z-]+):\s*(.*)$/.exec(line.trim());
      if (h) headers[h[1]!] = h[2]!;
      else lines.push(line.trim());
    }
    const b64 = lines.join('');
    if (/[^A-Za-z0-9+/=]/.test(b64)) throw new CertificateError(`invalid base64 in PEM block ${m[1]}`);
    out.push({ label: m[1]!, der: new Uint8Array(Buffer.from(b64, 'base64')), headers, text: m[0] });
  }
  return out;
}

export function looksLikePem(b: Uint8Array): boolean {
  return Buffer.from(b.subarray(0, Math.min(b.length, 4096))).toString('latin1').includes('-----BEGIN ');
}

function sha(b: Uint8Array, alg: 'sha1' | 'sha256'): Uint8Array {
  return new Uint8Array(createHash(alg).update(b).digest());
}

export function isValidAt(cert: Certificate, now: Date): boolean {
  return now.getTime() >= cert.notBefore.getTime() && now.getTime() <= cert.notAfter.getTime();
}

/** PEM text of DER bytes (RFC 7468): base64 in lines of 64 characters between the labels. */
export function encodePem(label: string, der: Uint8Array | ArrayBuffer): string {
  const b64 = Buffer.from(der instanceof ArrayBuffer ? new Uint8Array(der) : der).toString('base64');
  return `-----BEGIN ${label}-----\n${b64.replace(/.{1,64}/g, '$&\n')}-----END ${label}-----\n`;
}
