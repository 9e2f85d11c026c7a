// IKE_AUTH with EAP-TLS (RFC 7296 §2.16 carrying RFC 5216 / RFC 9190): the client proves a
// certificate inside TLS, the gateway its IKE certificate both in IKE AUTH and in TLS, and the
// final AUTH payloads are keyed with the TLS-exported MSK. TLS flights are bigger than one EAP
// packet, so EAP-TLS fragments (RFC 5216 §2.1.5) and every fragment and its acknowledgement is
// an IKE_AUTH exchange of its own:
//
//   HDR, SK { IDi, CP(CFG_REQUEST), SAi2, TSi, TSr }  -->  <--  HDR, SK { IDr, CERT, AUTH, EAP/REQ/ID }
//   HDR, SK { EAP/RES/ID }  -->                             <--  HDR, SK { EAP/REQ/TLS(Start) }
//   HDR, SK { EAP/RES/TLS(ClientHello) }  -->               <--  HDR, SK { EAP/REQ/TLS(L, M, ServerHello…) }
//   HDR, SK { EAP/RES/TLS(ack) }  -->                       <--  HDR, SK { EAP/REQ/TLS(…ServerHelloDone) }   ...
//   HDR, SK { EAP/RES/TLS(L, M, Certificate…) }  -->        <--  HDR, SK { EAP/REQ/TLS(ack) }   ...
//   HDR, SK { EAP/RES/TLS(…Finished) }  -->                 <--  HDR, SK { EAP/REQ/TLS(final flight) }
//   HDR, SK { EAP/RES/TLS(empty) }  -->                     <--  HDR, SK { EAP/SUCC }
//   HDR, SK { AUTH(MSK) }  -->                              <--  HDR, SK { AUTH(MSK), CP(CFG_REPLY), SAr2, TSi, TSr }
//
// Also eap-dynamic (RFC 3748 §5.3.1): the gateway proposes EAP-MSCHAPv2 first and a certificate
// client Naks to EAP-TLS.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EapCode, EapType, NotifyType } from '../../src/ike/constants.js';
import type { EapPacket } from '../../src/eap/packet.js';
import { endpoint } from '../../src/net/endpoint.js';
import { EAP_USERS, FIRST_V4, FIRST_V6, eapConfig, type EapAuth } from '../helpers/configs.js';
import { eapPki, md5Peer, mschapv2Peer, tlsPeer, type EapPki } from '../helpers/eap-peers.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, notifyPayload } from '../helpers/initiator.js';
import type { Issued } from '../helpers/pki.js';

const CLIENT = '198.51.100.10';
const ALICE = 'alice@example.com';
/** TLS bytes per EAP-TLS Response: small enough that the client's certificate flight fragments. */
const PEER_FRAGMENT = 400;

let fx: EapPki;
let aliceRsa: { certPem: string; keyPem: string };
let aliceEc: { certPem: string; keyPem: string };
let bob: { certPem: string; keyPem: string };
let rogueRoot: Issued;
let mallory: { certPem: string; keyPem: string };

beforeAll(() => {
  fx = eapPki('rsa2048');
  aliceRsa = fx.client('alice-rsa', 'rsa2048', [`email:${ALICE}`]);
  aliceEc = fx.client('alice-ec', 'p256', [`email:${ALICE}`]);
  bob = fx.client('bob', 'p256', ['email:bob@example.com']);
  rogueRoot = fx.pki.root('rogue-root', '/C=XX/O=rogue/CN=Rogue Root', 'p256');
  // Claims alice, but from a CA the gateway does not trust.
  mallory = fx.client('mallory', 'p256', [`email:${ALICE}`], rogueRoot);
}, 120_000);
afterAll(() => fx?.pki.cleanup());

function gateway(auth: EapAuth = 'eap-tls'): Gateway {
  return makeGateway(eapConfig({ auth }), fx.store());
}

const kinds = (inner: { kind: string }[]) => inner.map((p) => p.kind);
const tlsFlags = (p: EapPacket) => p.data[0]! & 0xe0;
const F_L = 0x80;
const F_M = 0x40;
const F_S = 0x20;

function nothingLeft(gw: Gateway): void {
  expect(gw.engine.listSas()).toEqual([]);
  expect(gw.dataplane.sas.size).toBe(0);
  expect(gw.dataplane.policies.size).toBe(0);
  expect(gw.pools.list()).toEqual([]);
}

const cases = [
  { name: 'RSA client certificate, TLS 1.2', cert: () => aliceRsa, version: 'TLSv1.2' as const },
  { name: 'RSA client certificate, TLS 1.3', cert: () => aliceRsa, version: 'TLSv1.3' as const },
  { name: 'ECDSA client certificate, TLS 1.2', cert: () => aliceEc, version: 'TLSv1.2' as const },
  { name: 'ECDSA client certificate, TLS 1.3', cert: () => aliceEc, version: 'TLSv1.3' as const },
];

describe('EAP-TLS', () => {
  it.each(cases)('$name: fragmented both ways across IKE_AUTH exchanges, MSK-based AUTH, CHILD_SA', async (c) => {
    const gw = gateway();
    const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
    expect((await client.init()).kind).toBe('ok');
    const peer = tlsPeer({ identity: ALICE, ...c.cert(), caPem: fx.rootPem, minVersion: c.version, maxVersion: c.version, fragmentSize: PEER_FRAGMENT });
    try {
      const r = await client.authEap({ id: CLIENT, eapPeer: peer });

      // <--  HDR, SK { IDr, CERT, AUTH, EAP/REQ/ID }: the gateway's certificate AUTH verified.
      expect(kinds(r.first.inner)).toEqual(['idr', 'cert', 'auth', 'eap']);
      expect(r.first.authVerified).toBe(true);
      expect(r.eapOnlyGranted).toBe(false);
      // EAP/REQ/ID, then the EAP-TLS Start: only the S flag, no data (RFC 5216 §3.1).
      expect(r.requests[0]).toMatchObject({ code: EapCode.REQUEST, type: EapType.IDENTITY });
      expect(r.requests[1]).toMatchObject({ type: EapType.TLS, data: Uint8Array.of(F_S) });
      expect(r.requests.slice(1).every((p) => p.type === EapType.TLS)).toBe(true);
      expect(peer.tls.protocol).toBe(c.version);

      // The gateway's first flight (with its RSA certificate) did not fit into one 1024-byte
      // fragment: L+M on the first fragment, M on all but the last, each acknowledged by the client.
      const serverData = r.requests.slice(2).filter((p) => p.data.length > 1);
      const fragmented = serverData.filter((p) => tlsFlags(p) & F_M);
      expect(fragmented.length).toBeGreaterThanOrEqual(1);
      expect(tlsFlags(fragmented[0]!) & F_L).toBe(F_L);
      expect(peer.tls.stats.serverFragments).toBe(fragmented.length);
      // The client's certificate flight in 400-byte pieces, each acknowledged by an empty Request.
      expect(peer.tls.stats.peerFragments).toBeGreaterThanOrEqual(1);
      const acks = r.requests.slice(2).filter((p) => p.data.length === 1 && tlsFlags(p) === 0);
      expect(acks.length).toBe(peer.tls.stats.peerFragments);
      // Every EAP message went in an IKE_AUTH exchange of its own: first + one per Response + final AUTH.
      expect(r.responses).toHaveLength(r.requests.length);
      expect(gw.logs.filter((l) => /^received IKE_AUTH request \d+/.test(l.msg))).toHaveLength(1 + r.responses.length + 1);
      // The last Response is the empty acknowledgement of the final flight; EAP-Success answers it.
      expect(r.responses[r.responses.length - 1]!.data).toEqual(Uint8Array.of(0));
      expect(r.last?.packet?.code).toBe(EapCode.SUCCESS);
      if (c.version === 'TLSv1.3') {
        // RFC 9190 §2.5: the protected success indication, one octet 0x00 of application data.
        expect(peer.tls.appData.map((d) => Buffer.from(d).toString('hex'))).toContain('00');
      }

      // HDR, SK { AUTH(MSK) }  -->  <--  HDR, SK { AUTH(MSK), CP, SAr2, TSi, TSr }: both MSKs agree.
      expect(r.eapResult).toBe('success');
      expect(kinds(r.final!.inner)).toEqual(['auth', 'cp', 'sa', 'tsi', 'tsr']);
      expect(r.final!.authVerified).toBe(true);
      expect(r.ok).toBe(true);
      expect(r.final!.cp?.v4).toBe(FIRST_V4);
      expect(r.final!.cp?.v6).toBe(FIRST_V6);
      expect(gw.dataplane.sas.size).toBe(2);
      expect(gw.dataplane.policies.size).toBe(6);
      expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', remoteId: CLIENT, eapIdentity: ALICE, eapMethod: 'eap-tls' });
      expect(gw.pools.list().map((l) => l.identity)).toEqual([`eap:${ALICE}`, `eap:${ALICE}`]);
      expect(gw.logs.some((l) => l.msg === 'EAP-TLS handshake complete' && l.tlsVersion === c.version)).toBe(true);
      expect(gw.logs.some((l) => l.msg === 'EAP-TLS client certificate accepted')).toBe(true);
      expect(gw.errors()).toEqual([]);
    } finally {
      peer.tls.destroy();
    }
  });

  const refusals = [
    { name: 'a client certificate from an untrusted CA', cert: () => mallory, reason: /client certificate '.*CN=mallory' rejected: no trusted CA for issuer/ },
    { name: 'a client certificate whose subjectAltName is not the EAP identity', cert: () => bob, reason: /does not contain identity 'alice@example.com'/ },
  ];

  describe.each(['TLSv1.2', 'TLSv1.3'] as const)('%s', (version) => {
    it.each(refusals)('$name is refused: EAP/FAIL + N(AUTHENTICATION_FAILED), nothing installed', async (c) => {
      const gw = gateway();
      const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
      await client.init();
      const peer = tlsPeer({ identity: ALICE, ...c.cert(), caPem: fx.rootPem, minVersion: version, maxVersion: version });
      try {
        const r = await client.authEap({ id: CLIENT, eapPeer: peer });
        // <--  HDR, SK { EAP/FAIL, N(AUTHENTICATION_FAILED) }
        expect(r.eapResult).toBe('failure');
        expect(kinds(r.last!.inner)).toEqual(['eap', 'notify']);
        expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
        expect(r.final).toBeUndefined();
        nothingLeft(gw);
        expect(gw.events.authFailed).toHaveLength(1);
        expect(gw.events.authFailed[0]!.reason).toMatch(c.reason);
        expect(gw.logs.some((l) => l.level === 'warn' && l.msg.startsWith(`EAP authentication of '${ALICE}' failed:`) && c.reason.test(l.msg))).toBe(true);
        expect(gw.errors()).toEqual([]);
      } finally {
        peer.tls.destroy();
      }
    });
  });

  it('a client without a certificate is refused', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
    await client.init();
    const peer = tlsPeer({ identity: ALICE, caPem: fx.rootPem });
    try {
      const r = await client.authEap({ id: CLIENT, eapPeer: peer });
      expect(r.eapResult).toBe('failure');
      expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
      nothingLeft(gw);
      expect(gw.errors()).toEqual([]);
    } finally {
      peer.tls.destroy();
    }
  });
});

describe('EAP state after IKE_AUTH', () => {
  const saOf = (gw: Gateway) => {
    const all = [...gw.engine.sas.values()];
    expect(all).toHaveLength(1);
    return all[0]!;
  };

  it('a client that gives up in the middle of the TLS handshake: the SA dies and its TLS session is closed', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
    await client.init();
    const peer = tlsPeer({ identity: ALICE, ...aliceRsa, caPem: fx.rootPem, fragmentSize: PEER_FRAGMENT });
    try {
      // Stop after the gateway's first flight began (a TLS Request with data).
      const r = await client.authEap({ id: CLIENT, eapPeer: peer, onRequest: (req) => (req.type === EapType.TLS && req.data.length > 1 ? 'stop' : 'answer') });
      expect(r.eapResult).toBe('stopped');
      const sa = saOf(gw);
      expect(sa.eap).toBeDefined();
      // HDR, SK { N(AUTHENTICATION_FAILED) }  -->  <--  HDR, SK {}
      expect((await client.informational([notifyPayload(NotifyType.AUTHENTICATION_FAILED)]))?.inner).toEqual([]);
      expect(sa.phase).toBe('dead');
      nothingLeft(gw);
      // The conversation is gone with its TLS session (nothing of it lingers with the retired SA).
      expect(sa.eap).toBeUndefined();
      expect(gw.errors()).toEqual([]);
    } finally {
      peer.tls.destroy();
    }
  });

  it('after the final AUTH the MSK is wiped and the conversation dropped', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
    await client.init();
    const peer = tlsPeer({ identity: ALICE, ...aliceEc, caPem: fx.rootPem });
    try {
      const first = await client.eapStart({ id: CLIENT, eapPeer: peer });
      const eapPayload = first.inner.find((p) => p.kind === 'eap');
      let x = await client.eapExchange(await peer.respond(eapPayload!.kind === 'eap' ? eapPayload!.data : new Uint8Array(0)));
      while (x.packet?.code === EapCode.REQUEST) x = await client.eapExchange(await peer.respond(x.eap!));
      expect(x.packet?.code).toBe(EapCode.SUCCESS);
      const sa = saOf(gw);
      const msk = sa.eap!.result!.msk!;
      expect(Buffer.from(msk)).toEqual(Buffer.from(peer.msk()!));
      const final = await client.eapFinal(peer.msk());
      expect(final.ok).toBe(true);
      expect(sa.phase).toBe('established');
      expect(sa.eap).toBeUndefined();
      expect(msk.every((b) => b === 0)).toBe(true);
      // A retransmitted final AUTH is still answered, from the cache.
      expect((await client.retransmitLastRequest()).map((d) => Buffer.from(d).toString('hex'))).toEqual(final.datagrams!.map((d) => Buffer.from(d).toString('hex')));
    } finally {
      peer.tls.destroy();
    }
  });
});

describe('eap-dynamic (RFC 3748 §5.3.1 Nak)', () => {
  it('the gateway proposes EAP-MSCHAPv2; a certificate client Naks to EAP-TLS and completes it', async () => {
    const gw = gateway('eap-dynamic');
    const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
    await client.init();
    const peer = tlsPeer({ identity: ALICE, ...aliceEc, caPem: fx.rootPem });
    try {
      const r = await client.authEap({ id: CLIENT, eapPeer: peer });
      // EAP/REQ/ID, EAP/REQ/MSCHAPV2 (refused with EAP/RES/NAK [13]), EAP/REQ/TLS(Start), …
      expect(r.requests.slice(0, 3).map((p) => p.type)).toEqual([EapType.IDENTITY, EapType.MSCHAPV2, EapType.TLS]);
      expect(r.responses[1]).toMatchObject({ type: EapType.NAK, data: Uint8Array.of(EapType.TLS) });
      expect(r.requests[2]!.data).toEqual(Uint8Array.of(F_S));
      expect(r.ok).toBe(true);
      expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', eapIdentity: ALICE, eapMethod: 'eap-tls' });
      expect(gw.dataplane.sas.size).toBe(2);
      expect(gw.logs.some((l) => l.msg === 'peer sent Nak, switching EAP method' && l.next === 'eap-tls')).toBe(true);
      expect(gw.errors()).toEqual([]);
    } finally {
      peer.tls.destroy();
    }
  });

  it('a password client on the same connection completes EAP-MSCHAPv2 without a Nak', async () => {
    const gw = gateway('eap-dynamic');
    const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
    await client.init();
    const r = await client.authEap({ id: CLIENT, eapPeer: mschapv2Peer({ identity: EAP_USERS.alice.id, password: EAP_USERS.alice.password }) });
    expect(r.ok).toBe(true);
    expect(r.responses.some((p) => p.type === EapType.NAK)).toBe(false);
    expect(gw.engine.listSas()[0]).toMatchObject({ eapIdentity: 'alice', eapMethod: 'eap-mschapv2' });
  });

  it('a Nak to a method eap-dynamic does not allow (EAP-MD5) fails', async () => {
    const gw = gateway('eap-dynamic');
    const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
    await client.init();
    const r = await client.authEap({ id: CLIENT, eapPeer: md5Peer({ identity: EAP_USERS.carol.id, password: EAP_USERS.carol.password }) });
    expect(r.responses[1]).toMatchObject({ type: EapType.NAK, data: Uint8Array.of(EapType.MD5) });
    expect(r.eapResult).toBe('failure');
    expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    nothingLeft(gw);
    expect(gw.events.authFailed[0]!.reason).toMatch(/refused EAP-MSCHAPv2 and proposes EAP types \[4\]/);
  });
});
