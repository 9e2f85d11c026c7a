// First-start CA and server certificate (field-facts §2.1.5, §2.2): required EKUs, SANs and
// key usage, read back with our parser and double-checked with `openssl x509 -text` and
// `openssl verify`; idempotence and renewal; client certificate issuance.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureDefaultCredentials, issueClientCertificate } from '../../../src/credentials/bootstrap.js';
import { verifyChain } from '../../../src/credentials/chain.js';
import { parseIp } from '../../../src/net/address.js';
import { CredentialStore } from '../../../src/credentials/store.js';
import { EKU, KeyUsage, parseCertificate } from '../../../src/credentials/x509.js';
import { IdType } from '../../../src/ike/constants.js';

let state: string;
const opts = { hostnames: ['vpn.example.com', 'gw.example.org'], addresses: ['203.0.113.5', '2001:db8::5'] };
const openssl = (args: string[]): string => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();
const DAY = 86_400_000;

beforeAll(() => {
  state = mkdtempSync(join(tmpdir(), 'ikegate-boot-'));
});
afterAll(() => rmSync(state, { recursive: true, force: true }));

describe('ensureDefaultCredentials', () => {
  it('creates a CA and a server certificate Windows and Apple accept', async () => {
    const r = await ensureDefaultCredentials(state, opts);
    expect(r.created).toBe(true);
    expect(r.caCertPath).toBe(join(state, 'swanctl', 'x509ca', 'ikegate-ca.pem'));
    expect(r.serverCertPath).toBe(join(state, 'swanctl', 'x509', 'server.pem'));
    for (const k of ['ikegate-ca.key', 'server.key']) expect(statSync(join(state, 'swanctl', 'private', k)).mode & 0o777).toBe(0o600);

    const ca = parseCertificate(readFileSync(r.caCertPath, 'utf8'));
    const server = parseCertificate(readFileSync(r.serverCertPath, 'utf8'));
    expect(ca.isCa).toBe(true);
    expect(ca.keyUsage! & KeyUsage.keyCertSign).toBeTruthy();
    expect(server.isCa).toBe(false);
    expect(server.subjectText).toBe('CN=vpn.example.com');
    expect(server.keyType).toBe('ecdsa');
    expect(server.curve).toBe('P-256');
    expect(server.ekus).toEqual([EKU.serverAuth, EKU.ikeIntermediate]);
    expect(server.keyUsage).toBe(KeyUsage.digitalSignature);
    expect(server.sans.dns).toEqual(['vpn.example.com', 'gw.example.org', '203.0.113.5', '2001:db8::5']);
    expect(server.sans.ip).toEqual([parseIp('203.0.113.5'), parseIp('2001:db8::5')]);
    expect(verifyChain(server.der, [], [ca], new Date()).ok).toBe(true);

    const text = openssl(['x509', '-in', r.serverCertPath, '-noout', '-text']);
    expect(text).toContain('TLS Web Server Authentication, 1.3.6.1.5.5.8.2.2');
    expect(text).toContain('DNS:vpn.example.com, DNS:gw.example.org, DNS:203.0.113.5, DNS:2001:db8::5, IP Address:203.0.113.5, IP Address:2001:DB8:0:0:0:0:0:5');
    expect(text).toMatch(/X509v3 Key Usage: critical\s+Digital Signature\s/);
    expect(text).toContain('ecdsa-with-SHA256');
    expect(openssl(['verify', '-CAfile', r.caCertPath, '-purpose', 'sslserver', r.serverCertPath])).toContain(': OK');
    const fp = openssl(['x509', '-in', r.caCertPath, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1];
    expect(r.caFingerprintSha256).toBe(fp);
  });

  it('is idempotent', async () => {
    const before = readFileSync(join(state, 'swanctl', 'x509', 'server.pem'), 'utf8');
    const r = await ensureDefaultCredentials(state, opts);
    expect(r.created).toBe(false);
    expect(readFileSync(r.serverCertPath, 'utf8')).toBe(before);
  });

  it('renews the server certificate within 30 days of expiry or when names change, keeping the CA', async () => {
    const ca = readFileSync(join(state, 'swanctl', 'x509ca', 'ikegate-ca.pem'), 'utf8');
    const old = parseCertificate(readFileSync(join(state, 'swanctl', 'x509', 'server.pem'), 'utf8'));
    const r = await ensureDefaultCredentials(state, { ...opts, now: new Date(old.notAfter.getTime() - 10 * DAY) });
    expect(r.created).toBe(true);
    expect(readFileSync(r.caCertPath, 'utf8')).toBe(ca);
    const renewed = parseCertificate(readFileSync(r.serverCertPath, 'utf8'));
    expect(renewed.serial).not.toBe(old.serial);
    const r2 = await ensureDefaultCredentials(state, { ...opts, hostnames: [...opts.hostnames, 'new.example.net'] });
    expect(r2.created).toBe(true);
    expect(parseCertificate(readFileSync(r2.serverCertPath, 'utf8')).sans.dns).toContain('new.example.net');
  });

  it('its output loads into the CredentialStore (the CA key pairs with the anchor)', async () => {
    const store = await CredentialStore.load(join(state, 'swanctl'));
    const cred = store.localCredential({ type: IdType.ID_IPV4_ADDR, data: parseIp('203.0.113.5')! });
    expect(cred?.cert.subjectText).toBe('CN=vpn.example.com');
    expect(cred?.chain).toEqual([]);
    expect(store.trustAnchors()).toHaveLength(1);
  });

  it('issues client certificates the store accepts', async () => {
    const issued = await issueClientCertificate(state, { name: 'alice@example.com' });
    const cert = parseCertificate(issued.certPem);
    expect(cert.ekus).toEqual([EKU.clientAuth, EKU.ikeIntermediate]);
    expect(cert.sans.email).toEqual(['alice@example.com']);
    expect(cert.subjectText).toBe('CN=alice@example.com');
    const store = await CredentialStore.load(join(state, 'swanctl'));
    const v = await store.verifyPeer([cert.der], { type: IdType.ID_RFC822_ADDR, data: new Uint8Array(Buffer.from('alice@example.com')) });
    expect(v.ok).toBe(true);
    const host = parseCertificate((await issueClientCertificate(state, { name: 'laptop.example.com' })).certPem);
    expect(host.sans.dns).toEqual(['laptop.example.com']);
  });

  it('supports RSA-3072', async () => {
    const d = mkdtempSync(join(tmpdir(), 'ikegate-boot-rsa-'));
    try {
      const r = await ensureDefaultCredentials(d, { hostnames: ['rsa.example.com'], addresses: [], keyType: 'rsa-3072' });
      const c = parseCertificate(readFileSync(r.serverCertPath, 'utf8'));
      expect(c.keyType).toBe('rsa');
      expect(c.publicKey.asymmetricKeyDetails?.modulusLength).toBe(3072);
      expect(openssl(['verify', '-CAfile', r.caCertPath, r.serverCertPath])).toContain(': OK');
    } finally {
      rmSync(d, { recursive: true, force: true });
    }
  }, 60_000);
});
