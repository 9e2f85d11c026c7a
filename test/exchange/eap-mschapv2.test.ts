// IKE_AUTH with EAP-MSCHAPv2 (RFC 7296 §2.16; draft-kamath-pppext-eap-mschapv2-02 over RFC 2759)
// as Windows' built-in client runs it: IDi is the client's IPv4 address, no IDr, IKE
// aes256-sha1-modp1024, ESP aes256-sha1. The gateway signs with its certificate, asks for the EAP
// identity, runs MS-CHAPv2, and both sides finish with AUTH payloads keyed with the MSK:
//
//   HDR, SA, KE, Ni, N(NATD_*)  -->                      <--  HDR, SA, KE, Nr, CERTREQ, N(NATD_*)
//   HDR, SK { IDi, CP(CFG_REQUEST), SAi2, TSi, TSr }  -->  <--  HDR, SK { IDr, CERT, AUTH, EAP/REQ/ID }
//   HDR, SK { EAP/RES/ID("alice") }  -->                   <--  HDR, SK { EAP/REQ/MSCHAPV2 Challenge }
//   HDR, SK { EAP/RES/MSCHAPV2 Response }  -->             <--  HDR, SK { EAP/REQ/MSCHAPV2 Success "S=… M=…" }
//   HDR, SK { EAP/RES/MSCHAPV2 Success }  -->              <--  HDR, SK { EAP/SUCC }
//   HDR, SK { AUTH(MSK) }  -->                             <--  HDR, SK { AUTH(MSK), CP(CFG_REPLY), SAr2, TSi, TSr }
//
// Then the identity fallbacks, failures (wrong password and unknown user, answered by the
// Failure Response or by the client giving up with INFORMATIONAL), retransmits, a wrong final
// AUTH and a client that never finishes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthMethod, EapCode, EapType, ExchangeType, IdType, NotifyType } from '../../src/ike/constants.js';
import { generateAuthenticatorResponse, ntPasswordHash } from '../../src/eap/mschapv2/chap-ms.js';
import { decodeEap, type EapPacket } from '../../src/eap/packet.js';
import type { Payload, PayloadOf } from '../../src/ike/codec/payload.js';
import { endpoint, type Endpoint } from '../../src/net/endpoint.js';
import { tsToString } from '../../src/policy/traffic-selectors.js';
import { EAP_USERS, FIRST_V4, FIRST_V6, eapConfig } from '../helpers/configs.js';
import { eapPki, mschapv2Peer, type EapPki, type PasswordPeer } from '../helpers/eap-peers.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, flipBit, notifyPayload, type EapAuthOptions } from '../helpers/initiator.js';

const WINDOWS_IKE = 'aes256-sha1-modp1024';
const WINDOWS_ESP = ['aes256-sha1'];
const ALICE = EAP_USERS.alice;
const BOB = EAP_USERS.bob;

let fx: EapPki;
beforeAll(() => {
  fx = eapPki('rsa2048');
}, 60_000);
afterAll(() => fx?.pki.cleanup());

function gateway(o: { ikegate?: string } = {}): Gateway {
  return makeGateway(eapConfig({ auth: 'eap-mschapv2', ...o }), fx.store());
}

/** A Windows-like client at `address`: IDi = its own address (ID_IPV4_ADDR), no IDr. */
function windows(gw: Gateway, address: string): { client: TestInitiator; from: Endpoint; opts: (peer: PasswordPeer) => EapAuthOptions } {
  const from = endpoint(address, 500);
  const client = new TestInitiator(gw, { local: from, ike: [WINDOWS_IKE] });
  return { client, from, opts: (eapPeer) => ({ id: address, esp: WINDOWS_ESP, eapPeer }) };
}

const kinds = (inner: { kind: string }[]) => inner.map((p) => p.kind);
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const msOpCode = (p: EapPacket | undefined) => (p?.type === EapType.MSCHAPV2 ? p.data[0] : undefined);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
/** The EAP payload of a response. */
function eapOf(inner: Payload[]): Uint8Array {
  const p = inner.find((x): x is PayloadOf<'eap'> => x.kind === 'eap');
  if (!p) throw new Error(`no EAP payload in [${kinds(inner).join(' ')}]`);
  return p.data;
}

/** No IKE_SA, CHILD_SA, policy or online lease is left. */
function nothingLeft(gw: Gateway): void {
  expect(gw.engine.listSas()).toEqual([]);
  expect(gw.dataplane.sas.size).toBe(0);
  expect(gw.dataplane.policies.size).toBe(0);
  expect(gw.pools.list().filter((l) => l.online)).toEqual([]);
}

describe('EAP-MSCHAPv2, the Windows pattern', () => {
  it('certificate AUTH + EAP-Identity, MS-CHAPv2, EAP-Success, MSK-based AUTH both ways, CP, CHILD_SA', async () => {
    const gw = gateway();
    const { client, opts } = windows(gw, '198.51.100.10');
    const eap = mschapv2Peer({ identity: ALICE.id, password: ALICE.password });

    // HDR, SAi1, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP)  -->  <--  HDR, SAr1, KEr, Nr, CERTREQ, N(NATD_*)
    expect((await client.init()).kind).toBe('ok');

    // HDR, SK { IDi(ID_IPV4_ADDR 198.51.100.10), CP(CFG_REQUEST), SAi2, TSi, TSr }  -->   (no AUTH: EAP)
    //                   <--  HDR, SK { IDr, CERT, AUTH, EAP/REQ/ID }
    const first = await client.eapStart(opts(eap));
    expect(kinds(first.inner)).toEqual(['idr', 'cert', 'auth', 'eap']);
    expect(first.error).toBeUndefined();
    expect(first.idr).toEqual({ type: IdType.ID_DER_ASN1_DN, data: fx.server.cert.subjectDer });
    expect(first.certs.map(hex)).toEqual([hex(fx.server.cert.der)]);
    // The gateway's AUTH is a signature over ResponderSignedOctets that verifies with its certificate.
    expect(first.authMethod).toBe(AuthMethod.DIGITAL_SIGNATURE);
    expect(first.authProblem).toBeUndefined();
    expect(first.authVerified).toBe(true);
    // Nothing of the first request's CP/SA/TS is answered yet (§2.16: they wait for the final AUTH).
    expect(first.cp).toBeUndefined();
    expect(first.child).toBeUndefined();
    const idReq = decodeEap(eapOf(first.inner));
    expect(idReq).toMatchObject({ code: EapCode.REQUEST, type: EapType.IDENTITY });
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'AUTHENTICATING', remoteId: '198.51.100.10', connection: 'rw-eap' });
    expect(gw.dataplane.sas.size).toBe(0);

    // HDR, SK { EAP/RES/ID("alice") }  -->  <--  HDR, SK { EAP/REQ/MSCHAPV2 Challenge }
    const idRes = eap.respond(encode(idReq));
    const challenge = await client.eapExchange(idRes);
    expect(kinds(challenge.inner)).toEqual(['eap']);
    const ch = challenge.packet!;
    expect(ch).toMatchObject({ code: EapCode.REQUEST, type: EapType.MSCHAPV2, identifier: (idReq.identifier + 1) & 0xff });
    // OpCode 1, MS-CHAPv2-ID, MS-Length = Type-Data length, Value-Size 16, challenge, Name.
    expect(ch.data[0]).toBe(1);
    expect(ch.data[1]).toBe(ch.identifier);
    expect((ch.data[2]! << 8) | ch.data[3]!).toBe(ch.data.length);
    expect(ch.data[4]).toBe(16);
    const authChallenge = ch.data.slice(5, 21);
    expect(text(ch.data.subarray(21))).toBe('ikegate');

    // HDR, SK { EAP/RES/MSCHAPV2 Response(PeerChallenge, NT-Response, Name) }  -->
    //                   <--  HDR, SK { EAP/REQ/MSCHAPV2 Success("S=<AuthenticatorResponse> M=…") }
    const response = eap.respond(challenge.eap!);
    const successReq = await client.eapExchange(response);
    const sr = successReq.packet!;
    expect(sr).toMatchObject({ code: EapCode.REQUEST, type: EapType.MSCHAPV2, identifier: (ch.identifier + 1) & 0xff });
    expect(sr.data[0]).toBe(3);
    // The authenticator response, recomputed from RFC 2759 §8.7 with what went over the wire.
    const res = decodeEap(response).data;
    const peerChallenge = res.subarray(5, 21);
    const ntResponse = res.subarray(29, 53);
    const expectedS = generateAuthenticatorResponse(ntPasswordHash(ALICE.password), ntResponse, peerChallenge, authChallenge, ALICE.id);
    expect(text(sr.data.subarray(4))).toBe(`${expectedS} M=Welcome to ikegate`);

    // HDR, SK { EAP/RES/MSCHAPV2 Success }  -->  <--  HDR, SK { EAP/SUCC }
    const ack = eap.respond(successReq.eap!);
    expect(eap.peer.authenticatorOk).toBe(true);
    const done = await client.eapExchange(ack);
    expect(kinds(done.inner)).toEqual(['eap']);
    // EAP-Success carries the Identifier of the Response it answers (RFC 3748 §4.2).
    expect(done.packet).toMatchObject({ code: EapCode.SUCCESS, identifier: sr.identifier });
    expect(gw.dataplane.sas.size).toBe(0);

    // HDR, SK { AUTH = prf(prf(MSK, "Key Pad for IKEv2"), InitiatorSignedOctets) }  -->
    //                   <--  HDR, SK { AUTH(MSK), CP(CFG_REPLY), SAr2, TSi, TSr }
    const msk = eap.msk()!;
    expect(msk).toHaveLength(64);
    const final = await client.eapFinal(msk);
    expect(kinds(final.inner)).toEqual(['auth', 'cp', 'sa', 'tsi', 'tsr']);
    expect(final.authMethod).toBe(AuthMethod.SHARED_KEY_MIC);
    expect(final.authProblem).toBeUndefined();
    expect(final.authVerified).toBe(true);
    expect(final.ok).toBe(true);
    expect(final.cp?.v4).toBe(FIRST_V4);
    expect(final.cp?.v6).toBe(FIRST_V6);
    expect(final.tsi.map(tsToString).sort()).toEqual([`${FIRST_V4}/32`, `${FIRST_V6}/128`].sort());
    expect(final.tsr.map(tsToString).sort()).toEqual(['0.0.0.0/0', '::/0']);

    // The CHILD_SA: two ESP SAs with the initiator's KEYMAT mirrored, out/in/fwd policies per family.
    const child = final.child!;
    expect(child.transforms.encr.kernel.name).toContain('cbc(aes)');
    const sas = [...gw.dataplane.sas.values()];
    expect(sas).toHaveLength(2);
    const inbound = sas.find((s) => s.direction === 'in')!;
    const outbound = sas.find((s) => s.direction === 'out')!;
    expect(inbound.id.spi).toBe(child.spiOut);
    expect(outbound.id.spi).toBe(child.spiIn);
    expect(hex(inbound.enc.key)).toBe(hex(child.keymat.initiatorToResponder.enc));
    expect(hex(outbound.integ!.key)).toBe(hex(child.keymat.responderToInitiator.integ));
    expect(gw.dataplane.policies.size).toBe(6);

    const [summary] = gw.engine.listSas();
    expect(summary).toMatchObject({
      state: 'ESTABLISHED',
      connection: 'rw-eap',
      remoteId: '198.51.100.10',
      eapIdentity: 'alice',
      eapMethod: 'eap-mschapv2',
      remoteAuth: "eap-mschapv2 'alice'",
      vips: [FIRST_V4, FIRST_V6],
    });
    expect(summary!.children).toHaveLength(1);
    // The lease belongs to the EAP identity, not to the address-valued IDi.
    expect(gw.pools.list().map((l) => [l.address, l.identity, l.online])).toEqual([
      [FIRST_V4, 'eap:alice', true],
      [FIRST_V6, 'eap:alice', true],
    ]);
    expect(gw.events.up).toEqual([{ id: summary!.id, remoteId: 'alice', vips: [FIRST_V4, FIRST_V6] }]);
    expect(gw.logs.some((l) => l.msg === "authentication of 'alice' with eap-mschapv2 successful")).toBe(true);
    expect(gw.engine.halfOpenCount()).toBe(0);
    expect(gw.errors()).toEqual([]);
  });

  it('the lease follows the EAP identity: the same user from another address and IDi gets the same address back', async () => {
    const gw = gateway();
    // alice from 198.51.100.10 gets the first addresses, then disconnects.
    const a1 = windows(gw, '198.51.100.10');
    await a1.client.init();
    const r1 = await a1.client.authEap(a1.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })));
    expect(r1.ok).toBe(true);
    expect(r1.final?.cp?.v4).toBe(FIRST_V4);
    // HDR, SK { D(IKE) }  -->  <--  HDR, SK {}
    expect((await a1.client.informational([TestInitiator.deleteIke()]))?.inner).toEqual([]);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.pools.list().filter((l) => l.online)).toEqual([]);

    // bob (NT-hash secret) comes next and does not get alice's offline address.
    const b = windows(gw, '198.51.100.30');
    await b.client.init();
    const rb = await b.client.authEap(b.opts(mschapv2Peer({ identity: BOB.id, password: BOB.password })));
    expect(rb.ok).toBe(true);
    expect(rb.final?.cp?.v4).toBe('10.3.0.2');

    // alice again, from another address with another IDi: her address again.
    const a2 = windows(gw, '198.51.100.20');
    await a2.client.init();
    const r2 = await a2.client.authEap(a2.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })));
    expect(r2.ok).toBe(true);
    expect(r2.final?.cp?.v4).toBe(FIRST_V4);
    expect(r2.final?.cp?.v6).toBe(FIRST_V6);
    const mine = gw.engine.listSas().find((s) => s.eapIdentity === 'alice')!;
    expect(mine).toMatchObject({ remoteId: '198.51.100.20', remote: '198.51.100.20:500', vips: [FIRST_V4, FIRST_V6] });
    expect(gw.pools.list().filter((l) => l.online).map((l) => `${l.identity} ${l.address}`).sort()).toEqual(
      ['eap:alice 10.3.0.1', 'eap:alice fd00:3::1', 'eap:bob 10.3.0.2', 'eap:bob fd00:3::2'].sort(),
    );
    expect(gw.errors()).toEqual([]);
  });
});

describe('INITIAL_CONTACT with EAP (RFC 7296 §2.4: the authenticated identity is the EAP identity)', () => {
  it('the same user reconnecting from a new address and IDi replaces her old SA and gets her address back', async () => {
    const gw = gateway();
    const a1 = windows(gw, '198.51.100.10');
    await a1.client.init();
    const r1 = await a1.client.authEap(a1.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })));
    expect(r1.final?.cp?.v4).toBe(FIRST_V4);
    const oldId = gw.engine.listSas()[0]!.id;

    // The laptop roamed: new address, so a new IDi; the old SA was never deleted. Windows says
    // INITIAL_CONTACT (its vendor ID; here the notify) in the new IKE_AUTH.
    const a2 = windows(gw, '198.51.100.20');
    await a2.client.init();
    const r2 = await a2.client.authEap({ ...a2.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })), initialContact: true });
    await gw.settle();
    expect(r2.ok).toBe(true);
    expect(r2.final?.cp?.v4).toBe(FIRST_V4);
    expect(r2.final?.cp?.v6).toBe(FIRST_V6);
    const sas = gw.engine.listSas();
    expect(sas.map((s) => [s.remoteId, s.eapIdentity])).toEqual([['198.51.100.20', 'alice']]);
    expect(sas[0]!.id).not.toBe(oldId);
    expect([...gw.dataplane.sas.values()].map((s) => s.id.spi).sort()).toEqual([r2.final!.child!.spiIn, r2.final!.child!.spiOut].sort());
    expect(gw.dataplane.policies.size).toBe(6);
    expect(gw.errors()).toEqual([]);
  });

  it('INITIAL_CONTACT from another user with the same IDi (two clients behind one NAT) leaves the first user alone', async () => {
    const gw = gateway();
    const a = windows(gw, '198.51.100.10');
    await a.client.init();
    expect((await a.client.authEap(a.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })))).ok).toBe(true);
    // bob: the same IDi (his private address equals alice's), another port after the NAT.
    const b = new TestInitiator(gw, { local: endpoint('198.51.100.10', 4501), ike: [WINDOWS_IKE] });
    await b.init();
    const rb = await b.authEap({ id: '198.51.100.10', esp: WINDOWS_ESP, eapPeer: mschapv2Peer({ identity: BOB.id, password: BOB.password }), initialContact: true });
    await gw.settle();
    expect(rb.ok).toBe(true);
    expect(gw.engine.listSas().map((s) => s.eapIdentity).sort()).toEqual(['alice', 'bob']);
    expect(gw.dataplane.sas.size).toBe(4);
  });
});

describe('EAP identities and secrets', () => {
  it('with IKE fragmentation (RFC 7383) the answer carrying the certificate arrives in fragments and EAP goes on', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { local: endpoint('198.51.100.10', 500), ike: [WINDOWS_IKE], fragmentation: true });
    await client.init();
    const r = await client.authEap({ id: '198.51.100.10', esp: WINDOWS_ESP, eapPeer: mschapv2Peer({ identity: ALICE.id, password: ALICE.password }) });
    // <--  HDR, SKF(1/n) … SKF(n/n) { IDr, CERT, AUTH, EAP/REQ/ID }
    expect(r.first.datagrams!.length).toBeGreaterThan(1);
    expect(kinds(r.first.inner)).toEqual(['idr', 'cert', 'auth', 'eap']);
    expect(r.first.authVerified).toBe(true);
    expect(r.ok).toBe(true);
    expect(gw.dataplane.sas.size).toBe(2);
  });

  it('eap_id restricts the EAP identities: another user fails right after EAP-Identity', async () => {
    const gw = makeGateway(eapConfig({ auth: 'eap-mschapv2', eapId: 'alice' }), fx.store());
    const { client, opts } = windows(gw, '198.51.100.30');
    await client.init();
    const r = await client.authEap(opts(mschapv2Peer({ identity: BOB.id, password: BOB.password })));
    // HDR, SK { EAP/RES/ID("bob") }  -->  <--  HDR, SK { EAP/FAIL, N(AUTHENTICATION_FAILED) }
    expect(r.requests.map((p) => p.type)).toEqual([EapType.IDENTITY]);
    expect(r.eapResult).toBe('failure');
    expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    nothingLeft(gw);
    expect(gw.events.authFailed[0]?.reason).toBe("EAP: EAP identity 'bob' is not allowed");
    // alice is allowed.
    const a = windows(gw, '198.51.100.10');
    await a.client.init();
    expect((await a.client.authEap(a.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })))).ok).toBe(true);
  });

  it('an empty EAP identity falls back to the IKE identity', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { ike: [WINDOWS_IKE] });
    await client.init();
    // IDi = FQDN "alice"; EAP/RES/ID is empty; the MS-CHAPv2 Name is "alice".
    const peer = mschapv2Peer({ identity: '', name: ALICE.id, password: ALICE.password });
    const r = await client.authEap({ id: '@alice', eapPeer: peer });
    expect(r.responses[0]).toMatchObject({ type: EapType.IDENTITY, data: new Uint8Array(0) });
    expect(r.eapResult).toBe('success');
    expect(r.ok).toBe(true);
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', remoteId: 'alice', eapIdentity: 'alice' });
    expect(gw.logs.some((l) => l.msg === 'empty EAP identity, using the IKE identity' && l.identity === 'alice')).toBe(true);
    expect(gw.pools.list().map((l) => l.identity)).toEqual(['eap:alice', 'eap:alice']);
  });

  it('DOMAIN\\alice authenticates as alice', async () => {
    const gw = gateway();
    const { client, opts } = windows(gw, '198.51.100.10');
    await client.init();
    const peer = mschapv2Peer({ identity: 'EXAMPLE\\alice', password: ALICE.password });
    const r = await client.authEap(opts(peer));
    expect(r.ok).toBe(true);
    expect(peer.peer.authenticatorOk).toBe(true);
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', eapIdentity: 'alice', eapMethod: 'eap-mschapv2' });
    expect(gw.dataplane.sas.size).toBe(2);
  });

  it('with eap_mschapv2_domain = EXAMPLE, EXAMPLE\\alice gets in and OTHER\\alice does not', async () => {
    const gw = gateway({ ikegate: 'eap_mschapv2_domain = EXAMPLE' });
    const good = windows(gw, '198.51.100.12');
    await good.client.init();
    const ok = await good.client.authEap(good.opts(mschapv2Peer({ identity: 'example\\alice', password: ALICE.password })));
    expect(ok.ok).toBe(true);
    const bad = windows(gw, '198.51.100.13');
    await bad.client.init();
    const refused = await bad.client.authEap(bad.opts(mschapv2Peer({ identity: 'OTHER\\alice', password: ALICE.password })));
    expect(refused.ok).toBe(false);
    expect(refused.eapResult).not.toBe('success');
    expect(gw.engine.listSas().map((s) => s.eapIdentity)).toEqual(['alice']);
  });

  it('a user stored only as NT hash (ntlm- secret) authenticates', async () => {
    const gw = gateway();
    const { client, opts } = windows(gw, '198.51.100.30');
    await client.init();
    const peer = mschapv2Peer({ identity: BOB.id, password: BOB.password });
    const r = await client.authEap(opts(peer));
    expect(r.ok).toBe(true);
    expect(peer.peer.authenticatorOk).toBe(true);
    expect(r.final?.cp?.v4).toBe(FIRST_V4);
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', eapIdentity: 'bob' });
  });
});

/** Runs EAP up to the MS-CHAPv2 Failure Request and stops there. */
async function upToFailureRequest(gw: Gateway, address: string, identity: string, password: string) {
  const { client, opts } = windows(gw, address);
  await client.init();
  const peer = mschapv2Peer({ identity, password });
  const r = await client.authEap({ ...opts(peer), onRequest: (req) => (msOpCode(req) === 4 ? 'stop' : 'answer') });
  expect(r.eapResult).toBe('stopped');
  const failureRequest = r.requests[r.requests.length - 1]!;
  return { client, peer, r, failureRequest };
}

const FAILURE_TEXT = /^E=691 R=0 C=[0-9A-F]{32} V=3 M=Authentication failed$/;

describe('EAP-MSCHAPv2 failures', () => {
  it('a wrong password and an unknown user get Failure Requests of the same structure (E=691, no retry)', async () => {
    const gw = gateway();
    const wrong = await upToFailureRequest(gw, '198.51.100.40', ALICE.id, 'not-her-password');
    const unknown = await upToFailureRequest(gw, '198.51.100.41', 'mallory', 'whatever');
    for (const f of [wrong, unknown]) {
      const p = f.failureRequest;
      expect(p).toMatchObject({ code: EapCode.REQUEST, type: EapType.MSCHAPV2 });
      expect(p.data[0]).toBe(4);
      expect((p.data[2]! << 8) | p.data[3]!).toBe(p.data.length);
      expect(text(p.data.subarray(4))).toMatch(FAILURE_TEXT);
      expect(kinds(f.r.last!.inner)).toEqual(['eap']);
      expect(f.r.last!.error).toBeUndefined();
    }
    // Same lengths on the EAP and the IKE level: nothing tells the client which case it was.
    expect(wrong.failureRequest.data.length).toBe(unknown.failureRequest.data.length);
    expect(wrong.r.last!.datagrams.map((d) => d.length)).toEqual(unknown.r.last!.datagrams.map((d) => d.length));
    expect(wrong.r.requests.map((q) => [q.type, msOpCode(q)])).toEqual(unknown.r.requests.map((q) => [q.type, msOpCode(q)]));
    // The C= challenges are fresh, not repeats of each other.
    expect(text(wrong.failureRequest.data)).not.toBe(text(unknown.failureRequest.data));
    // The reasons are only in the log.
    expect(gw.logs.some((l) => l.level === 'warn' && l.msg.includes("wrong password for 'alice'"))).toBe(true);
    expect(gw.logs.some((l) => l.level === 'warn' && l.msg.includes("unknown user 'mallory'"))).toBe(true);
    // Nothing is established while the Failure Requests are outstanding.
    expect(gw.engine.listSas().map((s) => s.state)).toEqual(['AUTHENTICATING', 'AUTHENTICATING']);
    expect(gw.pools.list()).toEqual([]);
  });

  const cases = [
    { name: 'wrong password', identity: ALICE.id, password: 'not-her-password', reason: "EAP-MSCHAPv2: wrong password for 'alice'" },
    { name: 'unknown user', identity: 'mallory', password: 'whatever', reason: "EAP-MSCHAPv2: unknown user 'mallory'" },
  ];

  describe.each(cases)('$name', (c) => {
    it('the client answers the Failure Request: EAP/FAIL + N(AUTHENTICATION_FAILED), the SA dies', async () => {
      const gw = gateway();
      const { client, peer, failureRequest } = await upToFailureRequest(gw, '198.51.100.40', c.identity, c.password);
      // HDR, SK { EAP/RES/MSCHAPV2 Failure }  -->  <--  HDR, SK { EAP/FAIL, N(AUTHENTICATION_FAILED) }
      const failureResponse = peer.respond(encode(failureRequest));
      expect(decodeEap(failureResponse).data).toEqual(Uint8Array.of(4));
      const answer = await client.eapExchange(failureResponse);
      expect(kinds(answer.inner)).toEqual(['eap', 'notify']);
      expect(answer.packet).toMatchObject({ code: EapCode.FAILURE, identifier: failureRequest.identifier });
      expect(answer.error).toBe(NotifyType.AUTHENTICATION_FAILED);
      nothingLeft(gw);
      expect(gw.pools.list()).toEqual([]);
      expect(gw.events.authFailed).toEqual([{ remote: '198.51.100.40:500', reason: `EAP: ${c.reason}` }]);
      expect(gw.events.up).toEqual([]);
      expect(gw.logs.some((l) => l.level === 'warn' && l.msg === `EAP authentication of '${c.identity}' failed: ${c.reason}`)).toBe(true);
      // The dead SA still answers a retransmit of that request with the same bytes.
      expect((await client.retransmitLastRequest()).map(hex)).toEqual(answer.datagrams.map(hex));

      // The next correct login gets the first pool address.
      const good = windows(gw, '198.51.100.10');
      await good.client.init();
      const ok = await good.client.authEap(good.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })));
      expect(ok.ok).toBe(true);
      expect(ok.final?.cp?.v4).toBe(FIRST_V4);
      expect(gw.errors()).toEqual([]);
    });

    it('the client gives up with INFORMATIONAL N(AUTHENTICATION_FAILED): empty answer, the SA dies', async () => {
      const gw = gateway();
      const { client } = await upToFailureRequest(gw, '198.51.100.40', c.identity, c.password);
      // HDR, SK { N(AUTHENTICATION_FAILED) }  -->  <--  HDR, SK {}      (what Windows and strongSwan do)
      const answer = await client.informational([notifyPayload(NotifyType.AUTHENTICATION_FAILED)]);
      expect(answer?.header.exchange).toBe(ExchangeType.INFORMATIONAL);
      expect(answer?.inner).toEqual([]);
      nothingLeft(gw);
      expect(gw.pools.list()).toEqual([]);
      expect(gw.events.authFailed).toEqual([{ remote: '198.51.100.40:500', reason: 'peer aborted authentication' }]);
      expect(gw.events.down).toHaveLength(1);
      // The reason was logged when the Failure Request went out; the abort is logged too.
      expect(gw.logs.some((l) => l.level === 'warn' && l.msg === `EAP-MSCHAPv2 authentication failed: ${c.reason}`)).toBe(true);
      expect(gw.logs.some((l) => l.level === 'warn' && l.msg.includes('the peer aborted with AUTHENTICATION_FAILED during EAP'))).toBe(true);

      const good = windows(gw, '198.51.100.10');
      await good.client.init();
      const ok = await good.client.authEap(good.opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })));
      expect(ok.ok).toBe(true);
      expect(ok.final?.cp?.v4).toBe(FIRST_V4);
      expect(gw.errors()).toEqual([]);
    });
  });
});

describe('retransmits during EAP (RFC 7296 §2.1)', () => {
  it('a retransmitted EAP request gets the cached answer without advancing EAP; altered copies are dropped', async () => {
    const gw = gateway();
    const { client, opts } = windows(gw, '198.51.100.10');
    await client.init();
    const eap = mschapv2Peer({ identity: ALICE.id, password: ALICE.password });
    const first = await client.eapStart(opts(eap));
    const eapResponses = () => gw.logs.filter((l) => l.msg === 'EAP response').length;

    // HDR(1), SK { EAP/RES/ID }  -->  <--  HDR(1), SK { EAP/REQ/MSCHAPV2 Challenge }
    const challenge = await client.eapExchange(eap.respond(eapOf(first.inner)));
    expect(msOpCode(challenge.packet)).toBe(1);
    const seen = eapResponses();
    expect(seen).toBe(1);

    // The same bytes again: the same answer, byte for byte, and EAP did not run again.
    const again = await client.retransmitLastRequest();
    expect(again.map(hex)).toEqual(challenge.datagrams.map(hex));
    expect(eapResponses()).toBe(seen);
    expect(gw.logs.some((l) => l.msg.startsWith('retransmitting IKE_AUTH response 2'))).toBe(true);

    // A bit-flipped copy of the retransmit is not answered.
    const last = client.lastSent()[0]!;
    expect(await client.transmit(flipBit(last, -1))).toEqual([]);
    expect(await client.transmit(flipBit(last, 40))).toEqual([]);
    expect(eapResponses()).toBe(seen);

    // HDR(3), SK { EAP/RES/MSCHAPV2 Response }: first a copy with a broken ICV, dropped, then the real one.
    const response = eap.respond(challenge.eap!);
    const [request] = client.request(ExchangeType.IKE_AUTH, [{ kind: 'eap', critical: false, data: response }]);
    expect(await client.transmit(flipBit(request!, -1))).toEqual([]);
    expect(gw.logs.some((l) => l.msg.includes('integrity check failed for IKE_AUTH request 3'))).toBe(true);
    expect(eapResponses()).toBe(seen);
    const successReq = client.handleEapResponse(await client.transmit(request!));
    expect(msOpCode(successReq.packet)).toBe(3);
    expect(successReq.packet!.identifier).toBe((challenge.packet!.identifier + 1) & 0xff);

    const done = await client.eapExchange(eap.respond(successReq.eap!));
    expect(done.packet?.code).toBe(EapCode.SUCCESS);
    const final = await client.eapFinal(eap.msk()!);
    expect(final.ok).toBe(true);
    // A retransmit of the final AUTH gets the same answer and installs nothing twice.
    expect((await client.retransmitLastRequest()).map(hex)).toEqual(final.datagrams!.map(hex));
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.engine.listSas()).toHaveLength(1);
    expect(gw.errors()).toEqual([]);
  });
});

describe('the final AUTH (RFC 7296 §2.16)', () => {
  it('a wrong final AUTH after EAP-Success is AUTHENTICATION_FAILED and nothing is installed', async () => {
    const gw = gateway();
    const { client, opts } = windows(gw, '198.51.100.10');
    await client.init();
    const r = await client.authEap({ ...opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })), finalAuth: (a) => flipBit(a, 0) });
    expect(r.eapResult).toBe('success');
    // HDR, SK { AUTH(wrong) }  -->  <--  HDR, SK { N(AUTHENTICATION_FAILED) }
    expect(kinds(r.final!.inner)).toEqual(['notify']);
    expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    expect(r.ok).toBe(false);
    nothingLeft(gw);
    expect(gw.pools.list()).toEqual([]);
    expect(gw.events.up).toEqual([]);
    expect(gw.events.authFailed).toHaveLength(1);
    expect(gw.logs.some((l) => l.msg.includes("final AUTH of 'alice' after eap-mschapv2 does not verify"))).toBe(true);
    expect(gw.errors()).toEqual([]);
  });

  it('an AUTH keyed with SK_pi instead of the MSK does not verify after a method that has an MSK', async () => {
    const gw = gateway();
    const { client, opts } = windows(gw, '198.51.100.10');
    await client.init();
    const peer = mschapv2Peer({ identity: ALICE.id, password: ALICE.password });
    const r = await client.authEap({ ...opts({ ...peer, msk: () => undefined }) });
    expect(r.eapResult).toBe('success');
    expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    nothingLeft(gw);
  });

  it('an EAP payload instead of the final AUTH is AUTHENTICATION_FAILED', async () => {
    const gw = gateway();
    const { client, opts } = windows(gw, '198.51.100.10');
    await client.init();
    const peer = mschapv2Peer({ identity: ALICE.id, password: ALICE.password });
    const first = await client.eapStart(opts(peer));
    let x = await client.eapExchange(peer.respond(eapOf(first.inner)));
    while (x.packet?.code === EapCode.REQUEST) x = await client.eapExchange(peer.respond(x.eap!));
    expect(x.packet?.code).toBe(EapCode.SUCCESS);
    // HDR, SK { EAP/RES/ID }  -->  <--  HDR, SK { N(AUTHENTICATION_FAILED) }
    const bad = await client.eapExchange(encode({ code: EapCode.RESPONSE, identifier: x.packet!.identifier, type: EapType.IDENTITY, data: new Uint8Array(0) }));
    expect(kinds(bad.inner)).toEqual(['notify']);
    expect(bad.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    nothingLeft(gw);
    expect(gw.logs.some((l) => l.msg.includes('expected the final AUTH after EAP-Success'))).toBe(true);
    expect(gw.errors()).toEqual([]);
  });
});

describe('a client that never finishes EAP', () => {
  it('disappears after half_open_timeout with nothing left', async () => {
    const gw = gateway({ ikegate: 'half_open_timeout = 10s' });
    const { client, opts } = windows(gw, '198.51.100.10');
    await client.init();
    const eap = mschapv2Peer({ identity: ALICE.id, password: ALICE.password });
    const first = await client.eapStart(opts(eap));
    const challenge = await client.eapExchange(eap.respond(eapOf(first.inner)));
    expect(msOpCode(challenge.packet)).toBe(1);
    expect(gw.engine.listSas()[0]!.state).toBe('AUTHENTICATING');

    // The client goes quiet in the middle of MS-CHAPv2.
    gw.clock.advance(9_999);
    await gw.settle();
    expect(gw.engine.listSas()).toHaveLength(1);
    gw.clock.advance(1);
    await gw.settle();
    nothingLeft(gw);
    expect(gw.engine.halfOpenCount()).toBe(0);
    expect(gw.events.down.map((e) => e.reason)).toEqual(['not authenticated within 10s']);
    // The Response that comes too late is not answered.
    expect((await client.eapExchange(eap.respond(challenge.eap!))).datagrams).toEqual([]);
    gw.clock.advance(60_000);
    await gw.settle();
    expect(gw.engine.sas.size).toBe(0);
    expect(gw.errors()).toEqual([]);
  });

  it('an SA that finished EAP in time is not affected by the timer', async () => {
    const gw = gateway({ ikegate: 'half_open_timeout = 10s' });
    const { client, opts } = windows(gw, '198.51.100.10');
    await client.init();
    expect((await client.authEap(opts(mschapv2Peer({ identity: ALICE.id, password: ALICE.password })))).ok).toBe(true);
    gw.clock.advance(60_000);
    await gw.settle();
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    expect(gw.dataplane.sas.size).toBe(2);
  });
});

function encode(p: EapPacket): Uint8Array {
  const hasType = p.code === EapCode.REQUEST || p.code === EapCode.RESPONSE;
  const out = new Uint8Array(4 + (hasType ? 1 + p.data.length : 0));
  out[0] = p.code;
  out[1] = p.identifier;
  out[2] = out.length >> 8;
  out[3] = out.length & 0xff;
  if (hasType) {
    out[4] = p.type!;
    out.set(p.data, 5);
  }
  return out;
}
