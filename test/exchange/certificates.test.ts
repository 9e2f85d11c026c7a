// IKE_AUTH with certificates (RFC 7296 §2.15, §3.6–3.8; RFC 7427 Digital Signature; RFC 4754
// ECDSA; RFC 4945 identity/certificate binding), in both directions: the gateway verifies the
// client's chain, identity and signature, and the initiator verifies the gateway's.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthMethod, CertEncoding, IdType, NotifyType } from '../../src/ike/constants.js';
import { certConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, flipBit } from '../helpers/initiator.js';
import { TestPki, clientCredential, gatewayStore, type Issued } from '../helpers/pki.js';
import type { LocalCredential } from '../../src/credentials/store.js';

let pki: TestPki;
let rsaRoot: Issued;
let ecRoot: Issued;
let rsaServer: Issued;
let ecServer: Issued;
let alice: LocalCredential; // RSA, alice@example.com
let bob: LocalCredential; // ECDSA P-256, bob@example.com
let dave: LocalCredential; // ECDSA P-384, dave@example.com
let mallory: LocalCredential; // from a CA the gateway does not trust

beforeAll(() => {
  pki = new TestPki();
  rsaRoot = pki.root('rsa-root', '/C=CH/O=ikegate test/CN=RSA Root', 'rsa2048');
  ecRoot = pki.root('ec-root', '/C=CH/O=ikegate test/CN=ECDSA Root', 'p256');
  const serverSan = ['DNS:vpn.example.com', 'IP:192.0.2.1'];
  rsaServer = pki.issue('rsa-server', '/C=CH/O=ikegate test/CN=vpn.example.com', 'rsa2048', rsaRoot, { san: serverSan, eku: ['serverAuth', '1.3.6.1.5.5.8.2.2'] });
  ecServer = pki.issue('ec-server', '/C=CH/O=ikegate test/CN=vpn.example.com', 'p256', ecRoot, { san: serverSan, eku: ['serverAuth', '1.3.6.1.5.5.8.2.2'] });
  alice = clientCredential(pki.issue('alice', '/C=CH/O=ikegate test/CN=alice', 'rsa2048', rsaRoot, { san: ['email:alice@example.com'] }));
  bob = clientCredential(pki.issue('bob', '/C=CH/O=ikegate test/CN=bob', 'p256', ecRoot, { san: ['email:bob@example.com'] }));
  dave = clientCredential(pki.issue('dave', '/C=CH/O=ikegate test/CN=dave', 'p384', ecRoot, { san: ['email:dave@example.com'] }));
  const rogue = pki.root('rogue-root', '/C=XX/O=rogue/CN=Rogue Root', 'p256');
  mallory = clientCredential(pki.issue('mallory', '/C=XX/O=rogue/CN=mallory', 'p256', rogue, { san: ['email:mallory@example.com'] }));
}, 60_000);

afterAll(() => pki?.cleanup());

function gateway(server: 'rsa' | 'ec' | 'both') {
  const own = server === 'rsa' ? [{ leaf: rsaServer }] : server === 'ec' ? [{ leaf: ecServer }] : [{ leaf: rsaServer }, { leaf: ecServer }];
  return makeGateway(certConfig(), gatewayStore({ own, anchors: [rsaRoot, ecRoot] }));
}

const cases: { name: string; server: 'rsa' | 'ec'; client: () => LocalCredential; id: string; rfc7427: boolean; serverMethod: number; clientMethod: number }[] = [
  { name: 'RSA both ways, RFC 7427', server: 'rsa', client: () => alice, id: 'alice@example.com', rfc7427: true, serverMethod: AuthMethod.DIGITAL_SIGNATURE, clientMethod: AuthMethod.DIGITAL_SIGNATURE },
  { name: 'RSA both ways, legacy method 1', server: 'rsa', client: () => alice, id: 'alice@example.com', rfc7427: false, serverMethod: AuthMethod.RSA_SIG, clientMethod: AuthMethod.RSA_SIG },
  { name: 'ECDSA P-256 both ways, RFC 7427', server: 'ec', client: () => bob, id: 'bob@example.com', rfc7427: true, serverMethod: AuthMethod.DIGITAL_SIGNATURE, clientMethod: AuthMethod.DIGITAL_SIGNATURE },
  { name: 'ECDSA both ways, legacy methods 9 and 10', server: 'ec', client: () => dave, id: 'dave@example.com', rfc7427: false, serverMethod: AuthMethod.ECDSA_SHA256_P256, clientMethod: AuthMethod.ECDSA_SHA384_P384 },
  { name: 'ECDSA client, RSA gateway, RFC 7427', server: 'rsa', client: () => bob, id: 'bob@example.com', rfc7427: true, serverMethod: AuthMethod.DIGITAL_SIGNATURE, clientMethod: AuthMethod.DIGITAL_SIGNATURE },
  { name: 'RSA client, ECDSA gateway, legacy', server: 'ec', client: () => alice, id: 'alice@example.com', rfc7427: false, serverMethod: AuthMethod.ECDSA_SHA256_P256, clientMethod: AuthMethod.RSA_SIG },
];

describe('certificate authentication', () => {
  it.each(cases)('$name', async (c) => {
    const gw = gateway(c.server);
    const client = new TestInitiator(gw, { signatureHashes: c.rfc7427 ? undefined : false });
    // HDR, SAi1, KEi, Ni, [N(HASH_ALG)]  -->  <--  HDR, SAr1, KEr, Nr, CERTREQ, [N(HASH_ALG)]
    expect((await client.init()).kind).toBe('ok');
    expect(client.initNotify(NotifyType.SIGNATURE_HASH_ALGORITHMS) !== undefined).toBe(c.rfc7427);
    const certreq = client.initResponse.find((p) => p.kind === 'certreq');
    expect(certreq?.kind === 'certreq' && certreq.encoding).toBe(CertEncoding.X509_SIGNATURE);
    expect(certreq?.kind === 'certreq' && Buffer.from(certreq.data)).toEqual(Buffer.concat([rsaRoot.cert.keyId, ecRoot.cert.keyId]));

    // HDR, SK { IDi, CERT, AUTH, CP, SAi2, TSi, TSr }  -->  <--  HDR, SK { IDr, CERT, AUTH, CP, SAr2, TSi, TSr }
    const cred = c.client();
    const auth = await client.auth({ id: c.id, credential: cred, signature: c.rfc7427 ? 'rfc7427' : 'legacy' });
    expect(auth.error).toBeUndefined();
    expect(auth.authProblem).toBeUndefined();
    expect(auth.authVerified).toBe(true);
    expect(auth.authMethod).toBe(c.serverMethod);
    const server = c.server === 'rsa' ? rsaServer : ecServer;
    expect(auth.certs.map((d) => Buffer.from(d))).toEqual([Buffer.from(server.cert.der)]);
    // No IDr was sent: the gateway answers with its certificate's subject DN.
    expect(auth.idr).toEqual({ type: IdType.ID_DER_ASN1_DN, data: server.cert.subjectDer });
    expect(gw.dataplane.sas.size).toBe(2);
    const [sa] = gw.engine.listSas();
    expect(sa).toMatchObject({ state: 'ESTABLISHED', remoteId: c.id, remoteAuth: cred.cert.subjectText });
    const clientAuth = gw.logs.find((l) => l.msg.startsWith(`authentication of '${c.id}' with`));
    // The gateway verified the client's AUTH with the method the client chose.
    expect(clientAuth).toBeDefined();
    if (c.clientMethod === AuthMethod.DIGITAL_SIGNATURE) expect(clientAuth!.msg).not.toContain('(method');
    else expect(clientAuth!.msg).toContain(`(method ${c.clientMethod})`);
    expect(gw.errors()).toEqual([]);
  });

  it('a client certificate from an untrusted CA is refused with AUTHENTICATION_FAILED', async () => {
    const gw = gateway('ec');
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ id: 'mallory@example.com', credential: mallory });
    expect(auth.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    expect(auth.inner.map((p) => p.kind)).toEqual(['notify']);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.pools.list()).toEqual([]);
  });

  it('an IDi the certificate does not contain is refused with AUTHENTICATION_FAILED (RFC 4945 §3.1)', async () => {
    const gw = gateway('rsa');
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ id: 'bob@example.com', credential: alice });
    expect(auth.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.logs.some((l) => l.msg.includes('does not contain identity'))).toBe(true);
  });

  it('a valid certificate with a broken signature is refused with AUTHENTICATION_FAILED', async () => {
    const gw = gateway('rsa');
    const client = new TestInitiator(gw);
    await client.init();
    const inner = client.authPayloads({ id: 'alice@example.com', credential: alice, signature: 'legacy' });
    const broken = inner.map((p) => (p.kind === 'auth' ? { ...p, data: flipBit(p.data, 10) } : p));
    const answer = await client.transmit(client.request(35, broken));
    const auth = client.handleAuthResponse(answer);
    expect(auth.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    expect(gw.engine.listSas()).toEqual([]);
  });

  it('a client without any CERT payload is refused', async () => {
    const gw = gateway('rsa');
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ id: 'alice@example.com', credential: alice, certs: [] });
    expect(auth.error).toBe(NotifyType.AUTHENTICATION_FAILED);
  });

  it('CERTREQs of unknown CAs are harmless; a CERTREQ for one of our CAs picks the matching certificate', async () => {
    const gw = gateway('both');
    const unknownCas = [new Uint8Array(20).fill(0xab), new Uint8Array(20).fill(0xcd)];
    const c1 = new TestInitiator(gw, { local: { address: '198.51.100.1', port: 500, family: 4 } });
    await c1.init();
    const a1 = await c1.auth({ id: 'alice@example.com', credential: alice, certreq: unknownCas });
    expect(a1.ok).toBe(true);
    expect(a1.certs).toHaveLength(1);

    const c2 = new TestInitiator(gw, { local: { address: '198.51.100.2', port: 500, family: 4 } });
    await c2.init();
    const a2 = await c2.auth({ id: 'bob@example.com', credential: bob, certreq: [...unknownCas, ecRoot.cert.keyId] });
    expect(a2.ok).toBe(true);
    expect(Buffer.from(a2.certs[0]!)).toEqual(Buffer.from(ecServer.cert.der));
  });

  it('an IDr naming the gateway is answered with that credential', async () => {
    const gw = gateway('rsa');
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ id: 'alice@example.com', idr: '@vpn.example.com', credential: alice });
    expect(auth.ok).toBe(true);
    expect(Buffer.from(auth.certs[0]!)).toEqual(Buffer.from(rsaServer.cert.der));
  });
});
