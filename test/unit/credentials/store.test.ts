// CredentialStore: loading a swanctl-style directory built with strongSwan `pki` and openssl,
// key/certificate pairing, credential choice by IDr and CERTREQ (RFC 7296 §3.7), peer
// verification with identity check, load errors, and the strongSwan PSK best-match rule.
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CredentialStore } from '../../../src/credentials/store.js';
import { findSharedKey } from '../../../src/credentials/psk.js';
import { parseCertificate } from '../../../src/credentials/x509.js';
import { IdType } from '../../../src/ike/constants.js';
import { ConfigError } from '../../../src/ike/errors.js';
import type { IdentityPattern, IkeIdentity, SecretConfig } from '../../../src/policy/policy.js';
import { Pki } from './pki-helper.js';

let pki: Pki;
let dir: string;
const utf = (s: string): Uint8Array => new Uint8Array(Buffer.from(s));
const fqdn = (s: string): IkeIdentity => ({ type: IdType.ID_FQDN, data: utf(s) });
const email = (s: string): IkeIdentity => ({ type: IdType.ID_RFC822_ADDR, data: utf(s) });
const later = (): Date => new Date(Date.now() + 5_000);

function layout(name: string): string {
  const d = join(pki.dir, name);
  for (const sub of ['x509', 'x509ca', 'private', 'rsa', 'ecdsa', 'pkcs8']) mkdirSync(join(d, sub), { recursive: true });
  return d;
}

beforeAll(() => {
  pki = new Pki();
  dir = layout('swanctl');
  // CA 1 -> intermediate -> server (ECDSA, PEM key in private/)
  const ca1k = pki.key('ca1');
  const ca1 = pki.selfCa('ca1', 'CN=CA One', ca1k);
  const ik = pki.key('int');
  const int = pki.issue('int', ik, ca1, ca1k, 'CN=Intermediate One', { ca: true });
  const sk = pki.key('server');
  const server = pki.issue('server', sk, int, ik, 'CN=vpn.example.com', { san: ['vpn.example.com'], flags: ['serverAuth'] });
  // CA 2 -> server2 (RSA, DER key in rsa/)
  const ca2k = pki.key('ca2');
  const ca2 = pki.selfCa('ca2', 'CN=CA Two', ca2k);
  const s2k = pki.key('server2', 'rsa', 2048);
  const server2 = pki.issue('server2', s2k, ca2, ca2k, 'CN=vpn2.example.com', { san: ['vpn2.example.com'] });
  // server3 under CA 1 with an encrypted PKCS#8 key
  const s3k = pki.key('server3');
  const server3 = pki.issue('server3', s3k, ca1, ca1k, 'CN=vpn3.example.com', { san: ['vpn3.example.com'] });
  const enc = pki.openssl(['pkcs8', '-topk8', '-in', s3k, '-v2', 'aes-256-cbc', '-passout', 'pass:s3cret']);

  copyFileSync(ca1, join(dir, 'x509ca', 'ca1.pem'));
  writeFileSync(join(dir, 'x509ca', 'ca2.der'), pki.der(ca2));
  copyFileSync(server, join(dir, 'x509', 'server.pem'));
  copyFileSync(int, join(dir, 'x509', 'intermediate.pem'));
  writeFileSync(join(dir, 'x509', 'server2.der'), pki.der(server2));
  copyFileSync(server3, join(dir, 'x509', 'server3.pem'));
  copyFileSync(sk, join(dir, 'private', 'server.key'));
  writeFileSync(join(dir, 'rsa', 'server2.der'), pki.openssl(['pkey', '-in', s2k, '-outform', 'DER']));
  writeFileSync(join(dir, 'pkcs8', 'server3.pem'), enc);
});
afterAll(() => pki.cleanup());

const secrets: SecretConfig[] = [{ kind: 'private', name: 'private-s3', ids: [], file: 'server3.pem', secret: utf('s3cret'), where: 'test' }];

describe('CredentialStore.load', () => {
  it('pairs keys with certificates and builds chains', async () => {
    const store = await CredentialStore.load(dir, secrets, later());
    const creds = store.localCredentials();
    expect(creds.map((c) => c.cert.subjectText).sort()).toEqual(['CN=vpn.example.com', 'CN=vpn2.example.com', 'CN=vpn3.example.com']);
    const s1 = creds.find((c) => c.cert.subjectText === 'CN=vpn.example.com')!;
    expect(s1.chain.map((c) => c.subjectText)).toEqual(['CN=Intermediate One']); // root excluded
    expect(s1.privateKey.asymmetricKeyType).toBe('ec');
    expect(creds.find((c) => c.cert.subjectText === 'CN=vpn2.example.com')!.privateKey.asymmetricKeyType).toBe('rsa');
    expect(store.trustAnchors().map((c) => c.subjectText)).toEqual(['CN=CA One', 'CN=CA Two']);
    expect(store.caKeyIds()).toEqual(store.trustAnchors().map((c) => c.keyId));
    expect(store.trustAnchors(['ca2.der']).map((c) => c.subjectText)).toEqual(['CN=CA Two']);
    expect(store.trustAnchors(['CN=CA One']).map((c) => c.subjectText)).toEqual(['CN=CA One']);
    expect(store.warnings).toEqual([]);
  });

  it('chooses by IDr, then by CERTREQ key id, else the first', async () => {
    const store = await CredentialStore.load(dir, secrets, later());
    const [ca1, ca2] = store.trustAnchors();
    expect(store.localCredential(undefined, undefined, later())!.cert.subjectText).toBe('CN=vpn.example.com');
    expect(store.localCredential(fqdn('vpn3.example.com'), undefined, later())!.cert.subjectText).toBe('CN=vpn3.example.com');
    // Windows-style CERTREQ: many unknown hashes plus CA Two's.
    const noise = Array.from({ length: 37 }, (_, i) => new Uint8Array(20).fill(i));
    expect(store.localCredential(undefined, [...noise, ca2!.keyId], later())!.cert.subjectText).toBe('CN=vpn2.example.com');
    // The intermediate's key id counts too.
    const int = store.localCredential(undefined, undefined, later())!.chain[0]!;
    expect(store.localCredential(undefined, [int.keyId], later())!.cert.subjectText).toBe('CN=vpn.example.com');
    // Unknown CAs only (or none, like Apple): still a credential.
    expect(store.localCredential(undefined, noise, later())).toBeDefined();
    expect(store.localCredential(fqdn('nothing.example'), [ca1!.keyId], later())).toBeDefined();
  });

  it('verifyPeer: chain + identity', async () => {
    const store = await CredentialStore.load(dir, secrets, later());
    const ck = pki.key('client');
    const client = pki.der(pki.issue('client', ck, pki.path('ca2.pem'), pki.path('ca2.key'), 'CN=alice', { san: ['alice@example.com'] }));
    const ok = await store.verifyPeer([client], email('alice@example.com'), undefined, later());
    expect(ok.ok && ok.subject).toBe('CN=alice');
    expect(ok.ok && ok.publicKey.asymmetricKeyType).toBe('ec');
    expect(await store.verifyPeer([client], email('bob@example.com'), undefined, later())).toEqual({
      ok: false,
      reason: "certificate 'CN=alice' does not contain identity 'bob@example.com'",
    });
    expect(await store.verifyPeer([client], email('alice@example.com'), ['ca1.pem'], later())).toEqual({ ok: false, reason: "no trusted CA for issuer 'CN=CA Two'" });
    expect(await store.verifyPeer([], email('alice@example.com'))).toEqual({ ok: false, reason: 'peer sent no certificate' });
    // Client certificate with its intermediate in a CERT payload.
    const ck2 = pki.key('client2');
    const c2 = pki.der(pki.issue('client2', ck2, pki.path('int.pem'), pki.path('int.key'), 'CN=carol', { san: ['carol.example.com'] }));
    const r = await store.verifyPeer([c2, pki.der(pki.path('int.pem'))], fqdn('carol.example.com'), undefined, later());
    expect(r.ok).toBe(true);
  });

  it('load errors name the file', async () => {
    const bad1 = layout('orphan');
    copyFileSync(pki.path('ca1.pem'), join(bad1, 'x509ca', 'ca1.pem'));
    copyFileSync(pki.key('lonely'), join(bad1, 'private', 'lonely.key'));
    await expect(CredentialStore.load(bad1)).rejects.toThrow(new ConfigError('private key has no matching certificate in x509/ or x509ca/', join(bad1, 'private', 'lonely.key')));

    const bad2 = layout('badpass');
    copyFileSync(join(dir, 'x509', 'server3.pem'), join(bad2, 'x509', 'server3.pem'));
    copyFileSync(join(dir, 'pkcs8', 'server3.pem'), join(bad2, 'pkcs8', 'server3.pem'));
    const wrong: SecretConfig[] = [{ ...secrets[0]!, secret: utf('nope') }];
    await expect(CredentialStore.load(bad2, wrong)).rejects.toThrow(/pkcs8\/server3\.pem: wrong passphrase/);
    await expect(CredentialStore.load(bad2, [])).rejects.toThrow(/pkcs8\/server3\.pem: private key is encrypted/);

    const bad3 = layout('garbage');
    writeFileSync(join(bad3, 'x509', 'junk.pem'), 'not a certificate');
    await expect(CredentialStore.load(bad3)).rejects.toBeInstanceOf(ConfigError);
    await expect(CredentialStore.load(bad3)).rejects.toThrow(/x509\/junk\.pem: cannot parse certificate/);
  });

  it('an own certificate without key is a warning, not an error', async () => {
    const d = layout('nokey');
    copyFileSync(join(dir, 'x509', 'server.pem'), join(d, 'x509', 'server.pem'));
    const store = await CredentialStore.load(d);
    expect(store.localCredentials()).toEqual([]);
    expect(store.warnings[0]).toMatch(/no private key for 'CN=vpn.example.com'/);
  });

  it('fromMemory works for tests of other modules', () => {
    const ca = parseCertificate(pki.read(pki.path('ca1.pem')).toString());
    const store = CredentialStore.fromMemory({ anchors: [ca] });
    expect(store.caKeyIds()).toEqual([ca.keyId]);
  });
});

describe('PSK best match (strongSwan get_shared rule)', () => {
  const pat = (t: string, type: number = IdType.ID_FQDN): IdentityPattern =>
    t === '%any' ? { any: true, text: '%any' } : { any: false, text: t, id: { type, data: utf(t) } };
  const ike = (name: string, ids: IdentityPattern[]): SecretConfig => ({ kind: 'ike', name, ids, secret: utf(name), where: 'test' });
  const secretsList: SecretConfig[] = [
    ike('catch-all', []),
    ike('gw-only', [pat('gw.example.com')]),
    ike('wild-users', [pat('*@example.com', IdType.ID_RFC822_ADDR)]),
    ike('alice', [pat('gw.example.com'), pat('alice@example.com', IdType.ID_RFC822_ADDR)]),
    ike('alice-other-gw', [pat('other.example.com'), pat('alice@example.com', IdType.ID_RFC822_ADDR)]),
  ];
  const gw = fqdn('gw.example.com');
  it.each([
    ['alice: both ids perfect', gw, email('alice@example.com'), 'alice'],
    ['bob: wildcard beats secrets matching only our side', gw, email('bob@example.com'), 'wild-users'],
    ['unknown peer: the catch-all beats secrets that match only our id (other side decides first)', gw, fqdn('host.elsewhere'), 'catch-all'],
    ['no local id: other side decides', undefined, email('alice@example.com'), 'alice'],
  ] as const)('%s', (_n, local, remote, expected) => {
    expect(findSharedKey(local, remote, secretsList)?.name).toBe(expected);
  });
  it('secrets whose ids match neither side are skipped; no secret → undefined', () => {
    expect(findSharedKey(gw, fqdn('x'), [ike('alice-only', [pat('alice@example.com', IdType.ID_RFC822_ADDR)])])).toBeUndefined();
    const store = CredentialStore.empty();
    expect(store.sharedKey(gw, email('alice@example.com'), secretsList)).toEqual(utf('alice'));
  });
});
