// Certificate parsing (RFC 5280 §4) of certificates made by strongSwan's `pki` and openssl,
// checked field by field against what those tools say about them.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CertificateError, EKU, KeyUsage, parseCertificate, readPemBlocks } from '../../../src/credentials/x509.js';
import { Pki } from './pki-helper.js';

let pki: Pki;
let caKey: string;
let caCert: string;
let rsaKey: string;
let rsaCert: string;

beforeAll(() => {
  pki = new Pki();
  caKey = pki.key('ca', 'ecdsa', 384);
  caCert = pki.selfCa('ca', 'C=CH, O=Test, CN=Test Root CA', caKey, 'ecdsa');
  rsaKey = pki.key('srv', 'rsa', 2048);
  rsaCert = pki.issue('srv', rsaKey, caCert, caKey, 'C=CH, O=Test, CN=vpn.example.com', {
    san: ['vpn.example.com', '192.0.2.1', '2001:db8::1', 'alice@example.com'],
    flags: ['serverAuth', 'ikeIntermediate'],
  });
});
afterAll(() => pki.cleanup());

describe('parseCertificate', () => {
  it('reads a pki-issued RSA end-entity certificate', () => {
    const c = parseCertificate(pki.read(rsaCert).toString());
    expect(c.subjectText).toBe('C=CH, O=Test, CN=vpn.example.com');
    expect(c.issuerText).toBe('C=CH, O=Test, CN=Test Root CA');
    expect(c.keyType).toBe('rsa');
    expect(c.curve).toBeUndefined();
    expect(c.isCa).toBe(false);
    expect(c.ekus).toEqual([EKU.serverAuth, EKU.ikeIntermediate]);
    expect(c.sans.dns).toEqual(['vpn.example.com']);
    expect(c.sans.email).toEqual(['alice@example.com']);
    expect(c.sans.ip.map((b) => Buffer.from(b).toString('hex'))).toEqual(['c0000201', '20010db8000000000000000000000001']);
    expect(c.publicKey.asymmetricKeyType).toBe('rsa');
    expect(c.publicKey.asymmetricKeyDetails?.modulusLength).toBe(2048);
    // Same serial and validity as openssl reports.
    const serial = pki.openssl(['x509', '-in', rsaCert, '-noout', '-serial']).toString().trim().split('=')[1]!;
    // Compared as numbers: either side may write a leading zero nibble.
    expect(BigInt(`0x${c.serial}`)).toBe(BigInt(`0x${serial}`));
    const end = pki.openssl(['x509', '-in', rsaCert, '-noout', '-enddate']).toString().trim().split('=')[1]!;
    expect(c.notAfter.getTime()).toBe(new Date(end).getTime());
  });

  it('reads a pki CA certificate (ECDSA P-384) and its flags', () => {
    const c = parseCertificate(pki.der(caCert));
    expect(c.isCa).toBe(true);
    expect(c.keyType).toBe('ecdsa');
    expect(c.curve).toBe('P-384');
    expect(c.selfIssued).toBe(true);
    expect(c.keyUsage! & KeyUsage.keyCertSign).toBeTruthy();
    expect(c.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
  });

  it('keyId is the SHA-1 of the SubjectPublicKeyInfo, as `pki --keyid` prints it (RFC 7296 §3.7)', () => {
    for (const file of [caCert, rsaCert]) {
      const out = pki.pki(['--keyid', '--in', file, '--type', 'x509', '--format', 'hex']).toString().trim().split('\n');
      // Line 1: SHA-1 of subjectPublicKey ("subjkey"), line 2: SHA-1 of subjectPublicKeyInfo ("keyid").
      const c = parseCertificate(pki.der(file));
      expect(Buffer.from(c.keyId).toString('hex')).toBe(out[1]);
      expect(Buffer.from(c.publicKeySha1).toString('hex')).toBe(out[0]);
    }
  });

  it('subjectDer/issuerDer/spkiDer are byte-exact slices (checked with openssl asn1parse offsets)', () => {
    const c = parseCertificate(pki.der(rsaCert));
    const spkiFromOpenssl = pki.openssl(['x509', '-in', rsaCert, '-noout', '-pubkey']);
    const spki = pki.openssl(['pkey', '-pubin', '-outform', 'DER'], spkiFromOpenssl);
    expect(Buffer.from(c.spkiDer).equals(spki)).toBe(true);
    const ca = parseCertificate(pki.der(caCert));
    expect(Buffer.from(c.issuerDer).equals(Buffer.from(ca.subjectDer))).toBe(true);
  });

  it('reads Ed25519 certificates', () => {
    const k = pki.key('ed', 'ed25519');
    const c = parseCertificate(pki.read(pki.selfCa('ed', 'CN=ed', k, 'ed25519')).toString());
    expect(c.keyType).toBe('ed25519');
    expect(c.publicKey.asymmetricKeyType).toBe('ed25519');
  });

  it('readPemBlocks returns every block of a bundle in order', () => {
    const bundle = pki.read(rsaCert).toString() + '\n' + pki.read(caCert).toString();
    const blocks = readPemBlocks(bundle);
    expect(blocks.map((b) => b.label)).toEqual(['CERTIFICATE', 'CERTIFICATE']);
    expect(parseCertificate(blocks[1]!.der).subjectText).toBe('C=CH, O=Test, CN=Test Root CA');
  });

  it('rejects garbage, truncations and trailing bytes with CertificateError only', () => {
    const der = pki.der(rsaCert);
    const bad: Uint8Array[] = [new Uint8Array(0), new Uint8Array([0x30]), new Uint8Array([0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), der.subarray(0, der.length - 1), new Uint8Array([...der, 0])];
    for (let i = 0; i < 300; i++) {
      // Deterministic byte flips and truncations over the whole certificate.
      const m = new Uint8Array(der);
      const pos = (i * 7919) % m.length;
      m[pos] = m[pos]! ^ (1 << (i % 8));
      bad.push(i % 3 === 0 ? m.subarray(0, pos + 1) : m);
    }
    let rejected = 0;
    for (const b of bad) {
      try {
        parseCertificate(b);
      } catch (e) {
        expect(e).toBeInstanceOf(CertificateError);
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(5);
  });
});
