// EAP-only authentication (RFC 5998): with `ikegate { eap_only_authentication = yes }`, a client
// that sends N(EAP_ONLY_AUTHENTICATION) and a connection whose EAP methods are all mutual
// (MSCHAPv2, TLS; not MD5, §4) get no certificate AUTH from the gateway; the MSK-based AUTH at
// the end is the gateway's only authentication:
//
//   HDR, SK { IDi, N(EAP_ONLY_AUTHENTICATION), CP(CFG_REQUEST), SAi2, TSi, TSr }  -->
//                                   <--  HDR, SK { IDr, EAP/REQ/ID }
//   HDR, SK { EAP }  -->            <--  HDR, SK { EAP }   …   <--  HDR, SK { EAP/SUCC }
//   HDR, SK { AUTH(MSK) }  -->      <--  HDR, SK { AUTH(MSK), CP(CFG_REPLY), SAr2, TSi, TSr }
//
// Without the setting, or with EAP-MD5, the gateway sends its certificate AUTH as usual.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IdType } from '../../src/ike/constants.js';
import { endpoint } from '../../src/net/endpoint.js';
import { EAP_USERS, FIRST_V4, eapConfig, type EapAuth } from '../helpers/configs.js';
import { eapPki, md5Peer, mschapv2Peer, tlsPeer, type EapPki } from '../helpers/eap-peers.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, type EapClientPeer } from '../helpers/initiator.js';

const CLIENT = '198.51.100.10';
const ALICE = EAP_USERS.alice;
const EAP_ONLY_ON = 'eap_only_authentication = yes';

let fx: EapPki;
let aliceCert: { certPem: string; keyPem: string };
beforeAll(() => {
  fx = eapPki('rsa2048');
  aliceCert = fx.client('alice-ec', 'p256', ['email:alice@example.com']);
}, 60_000);
afterAll(() => fx?.pki.cleanup());

function gateway(auth: EapAuth, ikegate?: string): Gateway {
  return makeGateway(eapConfig({ auth, ...(ikegate ? { ikegate } : {}) }), fx.store());
}

async function run(gw: Gateway, eapPeer: EapClientPeer, eapOnly: boolean) {
  const client = new TestInitiator(gw, { local: endpoint(CLIENT, 500) });
  expect((await client.init()).kind).toBe('ok');
  return client.authEap({ id: CLIENT, eapPeer, eapOnly });
}

const kinds = (inner: { kind: string }[]) => inner.map((p) => p.kind);
const granted = (gw: Gateway) => gw.logs.some((l) => l.msg.startsWith('EAP-only authentication (RFC 5998)'));

describe('RFC 5998 EAP-only authentication', () => {
  it('EAP-MSCHAPv2: the first answer is IDr + EAP/REQ/ID only, and the MSK-based AUTH completes it', async () => {
    const gw = gateway('eap-mschapv2', EAP_ONLY_ON);
    const r = await run(gw, mschapv2Peer({ identity: ALICE.id, password: ALICE.password }), true);
    // <--  HDR, SK { IDr, EAP/REQ/ID }: neither CERT nor AUTH.
    expect(kinds(r.first.inner)).toEqual(['idr', 'eap']);
    expect(r.first.idr?.type).toBe(IdType.ID_DER_ASN1_DN);
    expect(r.eapOnlyGranted).toBe(true);
    expect(r.eapResult).toBe('success');
    // The gateway's AUTH from the MSK, over the IDr it sent first, verifies.
    expect(kinds(r.final!.inner)).toEqual(['auth', 'cp', 'sa', 'tsi', 'tsr']);
    expect(r.final!.authVerified).toBe(true);
    expect(r.ok).toBe(true);
    expect(r.final!.cp?.v4).toBe(FIRST_V4);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', eapIdentity: 'alice', eapMethod: 'eap-mschapv2' });
    expect(granted(gw)).toBe(true);
    expect(gw.errors()).toEqual([]);
  });

  it('EAP-TLS (eap-dynamic: MSCHAPv2 and TLS, both mutual) is EAP-only too', async () => {
    const gw = gateway('eap-dynamic', EAP_ONLY_ON);
    const peer = tlsPeer({ identity: 'alice@example.com', ...aliceCert, caPem: fx.rootPem });
    try {
      const r = await run(gw, peer, true);
      expect(kinds(r.first.inner)).toEqual(['idr', 'eap']);
      expect(r.ok).toBe(true);
      expect(gw.engine.listSas()[0]).toMatchObject({ eapIdentity: 'alice@example.com', eapMethod: 'eap-tls' });
    } finally {
      peer.tls.destroy();
    }
  });

  it('without the setting, N(EAP_ONLY_AUTHENTICATION) is ignored and the certificate AUTH is sent', async () => {
    const gw = gateway('eap-mschapv2');
    const r = await run(gw, mschapv2Peer({ identity: ALICE.id, password: ALICE.password }), true);
    expect(kinds(r.first.inner)).toEqual(['idr', 'cert', 'auth', 'eap']);
    expect(r.first.authVerified).toBe(true);
    expect(r.eapOnlyGranted).toBe(false);
    expect(r.ok).toBe(true);
    expect(granted(gw)).toBe(false);
  });

  it('with the setting but without the client notify, the certificate AUTH is sent', async () => {
    const gw = gateway('eap-mschapv2', EAP_ONLY_ON);
    const r = await run(gw, mschapv2Peer({ identity: ALICE.id, password: ALICE.password }), false);
    expect(kinds(r.first.inner)).toEqual(['idr', 'cert', 'auth', 'eap']);
    expect(r.ok).toBe(true);
    expect(granted(gw)).toBe(false);
  });

  it('EAP-MD5 is never EAP-only (RFC 5998 §4: not a mutual method)', async () => {
    const gw = gateway('eap-md5', EAP_ONLY_ON);
    const carol = EAP_USERS.carol;
    const r = await run(gw, md5Peer({ identity: carol.id, password: carol.password }), true);
    expect(kinds(r.first.inner)).toEqual(['idr', 'cert', 'auth', 'eap']);
    expect(r.first.authVerified).toBe(true);
    expect(r.eapOnlyGranted).toBe(false);
    expect(r.ok).toBe(true);
    expect(granted(gw)).toBe(false);
  });
});
