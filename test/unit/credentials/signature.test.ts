// AUTH signatures: RFC 7296 §3.8 method 1, RFC 4754 methods 9/10/11, RFC 7427 method 14,
// RFC 8420 Ed25519. Round trips, tampering, AlgorithmIdentifier bytes against RFC 7427
// Appendix A, and signatures made by `openssl dgst -sign` verified through verifyAuth.
import { createPrivateKey } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSignatureAlgorithm, parseSignatureAlgorithm, type SignatureScheme } from '../../../src/credentials/algorithms.js';
import type { LocalCredential } from '../../../src/credentials/store.js';
import { parseCertificate } from '../../../src/credentials/x509.js';
import { identitiesOf } from '../../../src/credentials/match.js';
import { AuthMethod, HashAlgorithm } from '../../../src/ike/constants.js';
import { IkeError } from '../../../src/ike/errors.js';
import { ourHashAlgorithms, signAuth, verifyAuth } from '../../../src/ike/auth/signature.js';
import { Pki } from './pki-helper.js';

const hex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h.replace(/\s+/g, ''), 'hex'));
const ALL = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512, HashAlgorithm.IDENTITY];

let pki: Pki;
const creds: Record<string, LocalCredential & { keyFile: string }> = {};
const octets = new Uint8Array(Buffer.from('IKE_SA_INIT response || Ni || prf(SK_pr, IDr\')'));

beforeAll(() => {
  pki = new Pki();
  const make = (name: string, type: 'rsa' | 'ecdsa' | 'ed25519', size?: number): void => {
    const keyFile = pki.key(name, type, size);
    const cert = parseCertificate(pki.read(pki.selfCa(name, `CN=${name}`, keyFile, type)).toString());
    creds[name] = { cert, chain: [], privateKey: createPrivateKey(pki.read(keyFile)), identities: identitiesOf(cert), keyFile };
  };
  make('rsa', 'rsa', 2048);
  make('p256', 'ecdsa', 256);
  make('p384', 'ecdsa', 384);
  make('ed', 'ed25519');
});
afterAll(() => pki.cleanup());

const c = (n: string): LocalCredential & { keyFile: string } => creds[n]!;

describe('signAuth/verifyAuth round trips', () => {
  it.each([
    ['RSA-2048, no RFC 7427 → method 1', 'rsa', undefined, {}, AuthMethod.RSA_SIG, 'sha1WithRSAEncryption (method 1)'],
    ['RSA-2048, RFC 7427 → sha256WithRSAEncryption', 'rsa', ALL, {}, AuthMethod.DIGITAL_SIGNATURE, 'sha256WithRSAEncryption'],
    ['RSA-2048, RFC 7427 + PSS', 'rsa', ALL, { rsaPss: true }, AuthMethod.DIGITAL_SIGNATURE, 'rsassa-pss(sha256,mgf1-sha256,salt=32)'],
    ['RSA-2048, peer offers only SHA-1', 'rsa', [HashAlgorithm.SHA1], {}, AuthMethod.DIGITAL_SIGNATURE, 'sha1WithRSAEncryption'],
    ['P-256, no RFC 7427 → method 9', 'p256', undefined, {}, AuthMethod.ECDSA_SHA256_P256, 'ecdsa-with-sha256 P-256 (method 9)'],
    ['P-384, no RFC 7427 → method 10', 'p384', undefined, {}, AuthMethod.ECDSA_SHA384_P384, 'ecdsa-with-sha384 P-384 (method 10)'],
    ['P-256, RFC 7427 → ecdsa-with-SHA256', 'p256', ALL, {}, AuthMethod.DIGITAL_SIGNATURE, 'ecdsa-with-sha256'],
    ['P-384, RFC 7427 → ecdsa-with-SHA384', 'p384', ALL, {}, AuthMethod.DIGITAL_SIGNATURE, 'ecdsa-with-sha384'],
    ['P-384, peer only SHA2-256', 'p384', [HashAlgorithm.SHA2_256], {}, AuthMethod.DIGITAL_SIGNATURE, 'ecdsa-with-sha256'],
    ['Ed25519, RFC 8420', 'ed', ALL, {}, AuthMethod.DIGITAL_SIGNATURE, 'ed25519'],
  ] as const)('%s', (_n, who, peer, opts, method, scheme) => {
    const cred = c(who);
    const { method: m, data } = signAuth(cred, octets, peer, opts);
    expect(m).toBe(method);
    expect(verifyAuth(cred.cert.publicKey, m, data, octets)).toEqual({ ok: true, scheme });
    const tampered = new Uint8Array(octets);
    tampered[5]! ^= 0x40;
    const bad = verifyAuth(cred.cert.publicKey, m, data, tampered);
    expect(bad.ok).toBe(false);
    // Another key does not verify either.
    const other = who === 'rsa' ? c('p256') : c('rsa');
    expect(verifyAuth(other.cert.publicKey, m, data, octets).ok).toBe(false);
  });

  it('ECDSA legacy methods carry r||s of fixed size (RFC 4754 §7: 64 / 96 bytes)', () => {
    expect(signAuth(c('p256'), octets, undefined).data.length).toBe(64);
    expect(signAuth(c('p384'), octets, undefined).data.length).toBe(96);
  });

  it('method 14 data starts with the AlgorithmIdentifier length and bytes (RFC 7427 §3)', () => {
    const { data } = signAuth(c('p256'), octets, [HashAlgorithm.SHA2_256]);
    expect(data[0]).toBe(12);
    expect(Buffer.from(data.subarray(1, 13)).toString('hex')).toBe('300a06082a8648ce3d040302');
    expect(data[13]).toBe(0x30); // DER Ecdsa-Sig-Value follows
  });

  it('Ed25519 without peer RFC 7427 support is an AUTHENTICATION_FAILED IkeError', () => {
    expect(() => signAuth(c('ed'), octets, undefined)).toThrow(IkeError);
    expect(() => signAuth(c('ed'), octets, [HashAlgorithm.SHA2_256])).toThrow(IkeError);
  });

  it('method 9 signature checked against a P-384 key is refused with a reason', () => {
    const { data } = signAuth(c('p256'), octets, undefined);
    const r = verifyAuth(c('p384').cert.publicKey, AuthMethod.ECDSA_SHA256_P256, data, octets);
    expect(r).toEqual({ ok: false, reason: 'AUTH method 9 is ECDSA on P-256, the certificate key is on P-384' });
  });

  it('unknown AlgorithmIdentifier → ok:false naming the OID', () => {
    const dsaWithSha256 = hex('300b0609608648016503040302'); // RFC 7427 A.2.2 dsa-with-sha256
    const data = new Uint8Array([dsaWithSha256.length, ...dsaWithSha256, 1, 2, 3]);
    expect(verifyAuth(c('rsa').cert.publicKey, 14, data, octets)).toEqual({
      ok: false,
      reason: 'Digital Signature: unsupported signature algorithm 2.16.840.1.101.3.4.3.2',
    });
    expect(verifyAuth(c('rsa').cert.publicKey, 14, new Uint8Array([40, 1, 2]), octets).ok).toBe(false);
    expect(verifyAuth(c('rsa').cert.publicKey, 3, new Uint8Array(4), octets).ok).toBe(false);
  });

  it('announces SHA2-256/384/512 and IDENTITY', () => {
    expect(ourHashAlgorithms()).toEqual([2, 3, 4, 5]);
  });
});

describe('RFC 7427 Appendix A AlgorithmIdentifiers', () => {
  // Hex dumps from RFC 7427 Appendix A (A.1.2–A.1.4 PKCS#1 1.5, A.3.2–A.3.4 ECDSA, A.4.3
  // RSASSA-PSS with SHA-256) and errata ID 4295 (which reproduces A.4.2, PSS with defaults).
  const appendix: [string, SignatureScheme, string][] = [
    ['A.1.1 sha1WithRSAEncryption', { kind: 'rsa-pkcs1', hash: 'sha1' }, '300d06092a864886f70d0101050500'],
    ['A.1.2 sha256WithRSAEncryption', { kind: 'rsa-pkcs1', hash: 'sha256' }, '300d06092a864886f70d01010b0500'],
    ['A.1.3 sha384WithRSAEncryption', { kind: 'rsa-pkcs1', hash: 'sha384' }, '300d06092a864886f70d01010c0500'],
    ['A.1.4 sha512WithRSAEncryption', { kind: 'rsa-pkcs1', hash: 'sha512' }, '300d06092a864886f70d01010d0500'],
    ['A.3.2 ecdsa-with-sha256', { kind: 'ecdsa', hash: 'sha256' }, '300a06082a8648ce3d040302'],
    ['A.3.3 ecdsa-with-sha384', { kind: 'ecdsa', hash: 'sha384' }, '300a06082a8648ce3d040303'],
    ['A.3.4 ecdsa-with-sha512', { kind: 'ecdsa', hash: 'sha512' }, '300a06082a8648ce3d040304'],
    [
      'A.4.3 RSASSA-PSS with SHA-256',
      { kind: 'rsa-pss', hash: 'sha256', mgf1Hash: 'sha256', saltLength: 32 },
      '3041 0609 2a86 4886 f70d 0101 0a30 34a0 0f30 0d06 0960 8648 0165 0304 0201 0500 a11c 301a 0609 2a86 4886 f70d 0101 0830 0d06 0960 8648 0165 0304 0201 0500 a203 0201 20',
    ],
    ['RFC 8420 §2 / RFC 8410 §3 Ed25519', { kind: 'ed25519' }, '300506032b6570'],
  ];
  it.each(appendix)('%s encodes and parses', (_n, scheme, h) => {
    expect(Buffer.from(encodeSignatureAlgorithm(scheme)).toString('hex')).toBe(h.replace(/\s+/g, ''));
    expect(parseSignatureAlgorithm(hex(h))).toEqual({ ok: true, scheme });
  });

  it('A.4.2 (RSASSA-PSS, default parameters spelled out; errata 4295) parses to SHA-1/MGF1-SHA-1/20', () => {
    const a42 =
      '303e 0609 2a86 4886 f70d 0101 0a30 31a0 0b30 0906 052b 0e03 021a 0500 a118 3016 0609 2a86 4886 f70d 0101 0830 0906 052b 0e03 021a 0500 a203 0201 14a3 0302 0101';
    expect(parseSignatureAlgorithm(hex(a42))).toEqual({ ok: true, scheme: { kind: 'rsa-pss', hash: 'sha1', mgf1Hash: 'sha1', saltLength: 20 } });
  });

  it('matches the signatureAlgorithm openssl writes into certificates', () => {
    const cases: [string, string[], SignatureScheme][] = [
      [c('rsa').keyFile, ['-sha256'], { kind: 'rsa-pkcs1', hash: 'sha256' }],
      [c('rsa').keyFile, ['-sha384'], { kind: 'rsa-pkcs1', hash: 'sha384' }],
      [c('p256').keyFile, ['-sha256'], { kind: 'ecdsa', hash: 'sha256' }],
      [c('p384').keyFile, ['-sha384'], { kind: 'ecdsa', hash: 'sha384' }],
      [c('rsa').keyFile, ['-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32', '-sigopt', 'rsa_mgf1_md:sha256'], { kind: 'rsa-pss', hash: 'sha256', mgf1Hash: 'sha256', saltLength: 32 }],
    ];
    for (const [key, args, scheme] of cases) {
      const der = pki.openssl(['req', '-new', '-x509', '-key', key, '-subj', '/CN=alg', '-days', '1', '-outform', 'DER', ...args]);
      const cert = parseCertificate(new Uint8Array(der));
      expect(Buffer.from(cert.signatureAlgorithmDer).toString('hex')).toBe(Buffer.from(encodeSignatureAlgorithm(scheme)).toString('hex'));
    }
  });
});

describe('signatures made by openssl verify through verifyAuth', () => {
  const sign = (key: string, args: string[]): Uint8Array => {
    const f = pki.path('octets.bin');
    writeFileSync(f, octets);
    return new Uint8Array(pki.openssl(['dgst', ...args, '-sign', key, f]));
  };
  const m14 = (scheme: SignatureScheme, sig: Uint8Array): Uint8Array => {
    const a = encodeSignatureAlgorithm(scheme);
    return new Uint8Array([a.length, ...a, ...sig]);
  };

  it('RSA PKCS#1 v1.5 SHA-1 as method 1', () => {
    expect(verifyAuth(c('rsa').cert.publicKey, 1, sign(c('rsa').keyFile, ['-sha1']), octets).ok).toBe(true);
  });
  it('RSA PKCS#1 v1.5 SHA-512 and PSS SHA-256 as method 14', () => {
    const pub = c('rsa').cert.publicKey;
    expect(verifyAuth(pub, 14, m14({ kind: 'rsa-pkcs1', hash: 'sha512' }, sign(c('rsa').keyFile, ['-sha512'])), octets).ok).toBe(true);
    const pss = sign(c('rsa').keyFile, ['-sha256', '-sigopt', 'rsa_padding_mode:pss', '-sigopt', 'rsa_pss_saltlen:32']);
    expect(verifyAuth(pub, 14, m14({ kind: 'rsa-pss', hash: 'sha256', mgf1Hash: 'sha256', saltLength: 32 }, pss), octets).ok).toBe(true);
  });
  it('ECDSA P-256 (DER) as method 14', () => {
    const sig = sign(c('p256').keyFile, ['-sha256']);
    expect(verifyAuth(c('p256').cert.publicKey, 14, m14({ kind: 'ecdsa', hash: 'sha256' }, sig), octets)).toEqual({ ok: true, scheme: 'ecdsa-with-sha256' });
  });
  it('Ed25519 as method 14', () => {
    const f = pki.path('octets.bin');
    writeFileSync(f, octets);
    const sig = new Uint8Array(pki.openssl(['pkeyutl', '-sign', '-inkey', c('ed').keyFile, '-rawin', '-in', f]));
    expect(verifyAuth(c('ed').cert.publicKey, 14, m14({ kind: 'ed25519' }, sig), octets)).toEqual({ ok: true, scheme: 'ed25519' });
  });
});
