// IKE_AUTH with EAP-MD5-Challenge (RFC 3748 §5.4, RFC 1994 §4.1), only where a connection
// configures it (`remote { auth = eap-md5 }`). EAP-MD5 derives no MSK, so both final AUTH
// payloads are keyed with SK_pi / SK_pr instead (RFC 7296 §2.16):
//
//   HDR, SK { IDi, CP(CFG_REQUEST), SAi2, TSi, TSr }  -->  <--  HDR, SK { IDr, CERT, AUTH, EAP/REQ/ID }
//   HDR, SK { EAP/RES/ID }  -->                             <--  HDR, SK { EAP/REQ/MD5(Challenge) }
//   HDR, SK { EAP/RES/MD5(MD5(Id ‖ secret ‖ Challenge)) }  -->   <--  HDR, SK { EAP/SUCC }
//   HDR, SK { AUTH(SK_pi) }  -->                            <--  HDR, SK { AUTH(SK_pr), CP(CFG_REPLY), SAr2, TSi, TSr }
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthMethod, EapCode, EapType, NotifyType } from '../../src/ike/constants.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { endpoint } from '../../src/net/endpoint.js';
import { EAP_USERS, FIRST_V4, eapConfig, type EapAuth } from '../helpers/configs.js';
import { eapPki, md5Peer, type EapPki } from '../helpers/eap-peers.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator } from '../helpers/initiator.js';

const CLIENT = '198.51.100.10';
const CAROL = EAP_USERS.carol;

let fx: EapPki;
beforeAll(() => {
  fx = eapPki('p256');
}, 60_000);
afterAll(() => fx?.pki.cleanup());

function gateway(auth: EapAuth = 'eap-md5'): Gateway {
  return makeGateway(eapConfig({ auth }), fx.store());
}

async function client(gw: Gateway): Promise<TestInitiator> {
  const c = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
  expect((await c.init()).kind).toBe('ok');
  return c;
}

const kinds = (inner: { kind: string }[]) => inner.map((p) => p.kind);

function nothingLeft(gw: Gateway): void {
  expect(gw.engine.listSas()).toEqual([]);
  expect(gw.dataplane.sas.size).toBe(0);
  expect(gw.dataplane.policies.size).toBe(0);
  expect(gw.pools.list()).toEqual([]);
}

describe('EAP-MD5', () => {
  it('succeeds; without an MSK both final AUTHs are keyed with SK_pi / SK_pr', async () => {
    const gw = gateway();
    const c = await client(gw);
    const peer = md5Peer({ identity: CAROL.id, password: CAROL.password });
    const r = await c.authEap({ id: CLIENT, eapPeer: peer });

    expect(kinds(r.first.inner)).toEqual(['idr', 'cert', 'auth', 'eap']);
    expect(r.first.authVerified).toBe(true);
    // EAP/REQ/ID, then one MD5-Challenge: Value-Size 16, the challenge, the Name.
    expect(r.requests.map((p) => p.type)).toEqual([EapType.IDENTITY, EapType.MD5]);
    const challenge = r.requests[1]!;
    expect(challenge.data[0]).toBe(16);
    expect(new TextDecoder().decode(challenge.data.subarray(17))).toBe('ikegate');
    // The Response Value, recomputed here with node's MD5 (RFC 1994 §4.1).
    const value = createHash('md5').update(Uint8Array.of(challenge.identifier)).update(utf8(CAROL.password)).update(challenge.data.subarray(1, 17)).digest();
    expect(Buffer.from(r.responses[1]!.data.subarray(1, 17))).toEqual(value);
    expect(r.last?.packet).toMatchObject({ code: EapCode.SUCCESS, identifier: challenge.identifier });

    // HDR, SK { AUTH = prf(prf(SK_pi, "Key Pad for IKEv2"), …) }  -->  <--  HDR, SK { AUTH(SK_pr), CP, SAr2, TSi, TSr }
    expect(peer.msk()).toBeUndefined();
    expect(kinds(r.final!.inner)).toEqual(['auth', 'cp', 'sa', 'tsi', 'tsr']);
    expect(r.final!.authMethod).toBe(AuthMethod.SHARED_KEY_MIC);
    expect(r.final!.authVerified).toBe(true);
    expect(r.ok).toBe(true);
    expect(r.final!.cp?.v4).toBe(FIRST_V4);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', eapIdentity: 'carol', eapMethod: 'eap-md5' });
    expect(gw.logs.some((l) => l.msg === 'EAP authentication succeeded' && l.msk === false)).toBe(true);
    expect(gw.errors()).toEqual([]);
  });

  it('a final AUTH keyed with anything but SK_pi fails', async () => {
    const gw = gateway();
    const c = await client(gw);
    const peer = md5Peer({ identity: CAROL.id, password: CAROL.password });
    // The client pretends its method produced an MSK.
    const r = await c.authEap({ id: CLIENT, eapPeer: { respond: (b) => peer.respond(b), msk: () => new Uint8Array(64).fill(7) } });
    expect(r.eapResult).toBe('success');
    expect(kinds(r.final!.inner)).toEqual(['notify']);
    expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    nothingLeft(gw);
  });

  const failures = [
    { name: 'a wrong password', identity: CAROL.id, password: 'wrong', reason: "EAP-MD5: wrong password for 'carol'" },
    { name: 'an unknown user', identity: 'mallory', password: 'x', reason: "EAP-MD5: unknown user 'mallory'" },
    { name: 'a user with only an NT hash', identity: EAP_USERS.bob.id, password: EAP_USERS.bob.password, reason: "EAP-MD5: no plaintext password for 'bob'" },
  ];

  it.each(failures)('$name fails: EAP/FAIL + N(AUTHENTICATION_FAILED), nothing installed', async (f) => {
    const gw = gateway();
    const c = await client(gw);
    const r = await c.authEap({ id: CLIENT, eapPeer: md5Peer({ identity: f.identity, password: f.password }) });
    // HDR, SK { EAP/RES/MD5 }  -->  <--  HDR, SK { EAP/FAIL, N(AUTHENTICATION_FAILED) }
    expect(r.eapResult).toBe('failure');
    expect(kinds(r.last!.inner)).toEqual(['eap', 'notify']);
    expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    nothingLeft(gw);
    expect(gw.events.authFailed).toEqual([{ remote: `${CLIENT}:500`, reason: `EAP: ${f.reason}` }]);
    expect(gw.logs.some((l) => l.level === 'warn' && l.msg === `EAP authentication of '${f.identity}' failed: ${f.reason}`)).toBe(true);
    expect(gw.errors()).toEqual([]);
  });

  it('is not offered unless configured: a client that Naks EAP-MSCHAPv2 for EAP-MD5 fails', async () => {
    const gw = gateway('eap-mschapv2');
    const c = await client(gw);
    const r = await c.authEap({ id: CLIENT, eapPeer: md5Peer({ identity: CAROL.id, password: CAROL.password }) });
    expect(r.requests.map((p) => p.type)).toEqual([EapType.IDENTITY, EapType.MSCHAPV2]);
    expect(r.responses[1]).toMatchObject({ type: EapType.NAK, data: Uint8Array.of(EapType.MD5) });
    expect(r.eapResult).toBe('failure');
    expect(r.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    nothingLeft(gw);
  });
});
