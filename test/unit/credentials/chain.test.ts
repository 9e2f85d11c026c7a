// Path building/validation (RFC 5280 §6.1 subset) over certificates made by strongSwan `pki`
// and openssl, and identity matching (RFC 4945 §3.1) against their contents.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyChain } from '../../../src/credentials/chain.js';
import { certificateMatchesIdentity, identitiesOf } from '../../../src/credentials/match.js';
import { parseIp } from '../../../src/net/address.js';
import { parseCertificate, type Certificate } from '../../../src/credentials/x509.js';
import { IdType } from '../../../src/ike/constants.js';
import { Pki } from './pki-helper.js';

let pki: Pki;
let root: Certificate;
let rootKey: string;
let int1: Uint8Array;
let int2: Uint8Array;
let leaf: Uint8Array;
let leafCert: Certificate;
const DAY = 86_400_000;
// pki sets notBefore to the second of issuance: validate slightly later than that.
let now: Date;

beforeAll(() => {
  pki = new Pki();
  rootKey = pki.key('root');
  const rootFile = pki.selfCa('root', 'C=CH, O=Test, CN=Root CA', rootKey);
  root = parseCertificate(pki.der(rootFile));
  // root -> int1 -> int2 -> alice
  const k1 = pki.key('int1');
  const f1 = pki.issue('int1', k1, rootFile, rootKey, 'C=CH, O=Test, CN=Intermediate 1', { ca: true });
  const k2 = pki.key('int2', 'rsa', 2048);
  const f2 = pki.issue('int2', k2, f1, k1, 'C=CH, O=Test, CN=Intermediate 2', { ca: true });
  const kl = pki.key('alice');
  const fl = pki.issue('alice', kl, f2, k2, 'C=CH, O=Test, CN=alice', { san: ['alice@example.com', 'alice.example.com', '198.51.100.7'], lifetimeDays: 10 });
  int1 = pki.der(f1);
  int2 = pki.der(f2);
  leaf = pki.der(fl);
  leafCert = parseCertificate(leaf);
  now = new Date(Date.now() + 5_000);
});
afterAll(() => pki.cleanup());

describe('verifyChain', () => {
  it('verifies with two intermediates supplied out of order, extras ignored', () => {
    const junk = new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x00]);
    const r = verifyChain(leaf, [junk, int2, root.der, int1], [root], now);
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.path.map((c) => c.subjectText)).toEqual(['C=CH, O=Test, CN=alice', 'C=CH, O=Test, CN=Intermediate 2', 'C=CH, O=Test, CN=Intermediate 1', 'C=CH, O=Test, CN=Root CA']);
  });

  it('fails with the missing issuer named when an intermediate is absent', () => {
    const r = verifyChain(leaf, [int2], [root], now);
    expect(r).toEqual({ ok: false, reason: "no trusted CA for issuer 'C=CH, O=Test, CN=Intermediate 1'" });
  });

  it('expired leaf', () => {
    const later = new Date(now.getTime() + 20 * DAY);
    const r = verifyChain(leaf, [int1, int2], [root], later);
    const day = leafCert.notAfter.toISOString().slice(0, 10);
    expect(r).toEqual({ ok: false, reason: `certificate 'C=CH, O=Test, CN=alice' expired on ${day}` });
  });

  it('untrusted root', () => {
    const later = new Date(Date.now() + 5_000);
    const evilKey = pki.key('evil');
    const evilFile = pki.selfCa('evil', 'CN=Evil CA', evilKey);
    const mk = pki.key('mallory');
    const mallory = pki.der(pki.issue('mallory', mk, evilFile, evilKey, 'CN=mallory'));
    expect(verifyChain(mallory, [pki.der(evilFile)], [root], later)).toEqual({ ok: false, reason: "no trusted CA for issuer 'CN=Evil CA'" });
  });

  it('non-CA intermediate (issued with openssl, which does not check the issuer)', () => {
    const nk = pki.key('nonca');
    const ncFile = pki.issue('nonca', nk, pki.path('root.pem'), rootKey, 'C=CH, O=Test, CN=Not A CA');
    const bk = pki.key('bob');
    const csr = pki.openssl(['req', '-new', '-key', bk, '-subj', '/CN=bob']);
    const bob = pki.openssl(['x509', '-req', '-CA', ncFile, '-CAkey', nk, '-set_serial', '7', '-days', '5', '-outform', 'DER'], csr);
    expect(verifyChain(new Uint8Array(bob), [pki.der(ncFile)], [root], new Date(Date.now() + 5_000))).toEqual({ ok: false, reason: "intermediate 'C=CH, O=Test, CN=Not A CA' is not a CA" });
  });

  it('wrong signature', () => {
    const bad = new Uint8Array(leaf);
    bad[bad.length - 3]! ^= 0x01; // inside the signature value
    expect(verifyChain(bad, [int1, int2], [root], now)).toEqual({ ok: false, reason: "signature of 'C=CH, O=Test, CN=alice' does not verify" });
  });

  it('pathLenConstraint of the root is enforced', () => {
    const k = pki.key('r0');
    const r0File = pki.selfCa('r0', 'CN=Root pathlen 0', k, 'ecdsa', ['--pathlen', '0']);
    const ik = pki.key('i0');
    const iFile = pki.issue('i0', ik, r0File, k, 'CN=Int below pathlen 0', { ca: true });
    const lk = pki.key('l0');
    const l = pki.der(pki.issue('l0', lk, iFile, ik, 'CN=leaf0'));
    const r = verifyChain(l, [pki.der(iFile)], [parseCertificate(pki.der(r0File))], new Date(Date.now() + 5_000));
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe("CA 'CN=Root pathlen 0' allows 0 intermediate CA(s) below it, the path has 1");
  });

  it('refuses absurd depth', () => {
    const r = verifyChain(leaf, [int1, int2], [root], now, { maxDepth: 1 });
    expect(r.ok).toBe(false);
  });
});

describe('certificateMatchesIdentity', () => {
  const utf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
  it.each([
    ['DN, byte-equal', IdType.ID_DER_ASN1_DN, () => leafCert.subjectDer, true],
    ['DN, other', IdType.ID_DER_ASN1_DN, () => root.subjectDer, false],
    ['FQDN SAN', IdType.ID_FQDN, () => utf('alice.example.com'), true],
    ['FQDN SAN, case-insensitive', IdType.ID_FQDN, () => utf('Alice.Example.COM'), true],
    ['FQDN not in SAN', IdType.ID_FQDN, () => utf('bob.example.com'), false],
    ['email SAN', IdType.ID_RFC822_ADDR, () => utf('alice@example.com'), true],
    ['email not in SAN', IdType.ID_RFC822_ADDR, () => utf('bob@example.com'), false],
    ['IPv4 SAN', IdType.ID_IPV4_ADDR, () => parseIp('198.51.100.7')!, true],
    ['IPv4 not in SAN', IdType.ID_IPV4_ADDR, () => parseIp('198.51.100.8')!, false],
    ['key id (SHA-1 of SPKI)', IdType.ID_KEY_ID, () => leafCert.keyId, true],
  ] as const)('%s', (_n, type, data, expected) => {
    expect(certificateMatchesIdentity(leafCert, { type, data: data() })).toBe(expected);
  });

  it('DN given with different string types/case still matches (normalised comparison)', () => {
    // Same RDNs as the subject, but PrintableString + upper case where pki wrote UTF8String.
    const der = pki.openssl(['req', '-new', '-x509', '-key', pki.path('alice.key'), '-subj', '/C=CH/O=TEST/CN=ALICE', '-outform', 'DER', '-days', '1', '-utf8']);
    const other = parseCertificate(new Uint8Array(der));
    expect(Buffer.compare(other.subjectDer, leafCert.subjectDer)).not.toBe(0);
    expect(certificateMatchesIdentity(leafCert, { type: IdType.ID_DER_ASN1_DN, data: other.subjectDer })).toBe(true);
  });

  it('IP address held in a dNSName (Windows style) and emailAddress in the DN', () => {
    const k = pki.key('ipsrv');
    const der = pki.der(pki.issue('ipsrv', k, pki.path('root.pem'), rootKey, 'C=CH, CN=203.0.113.9, E=ops@example.net', { san: ['dns:203.0.113.9', 'dns:2001:db8::9'] }));
    const c = parseCertificate(der);
    expect(c.sans.ip).toEqual([]);
    expect(certificateMatchesIdentity(c, { type: IdType.ID_IPV4_ADDR, data: parseIp('203.0.113.9')! })).toBe(true);
    expect(certificateMatchesIdentity(c, { type: IdType.ID_IPV6_ADDR, data: parseIp('2001:db8:0::9')! })).toBe(true);
    expect(certificateMatchesIdentity(c, { type: IdType.ID_RFC822_ADDR, data: utf('OPS@example.net') })).toBe(true);
  });

  it('identitiesOf lists the subject DN first, then SANs', () => {
    const ids = identitiesOf(leafCert);
    expect(ids[0]).toEqual({ type: IdType.ID_DER_ASN1_DN, data: leafCert.subjectDer });
    expect(ids.slice(1).map((i) => i.type).sort()).toEqual([IdType.ID_IPV4_ADDR, IdType.ID_FQDN, IdType.ID_RFC822_ADDR].sort());
    for (const id of ids) expect(certificateMatchesIdentity(leafCert, id)).toBe(true);
  });
});
