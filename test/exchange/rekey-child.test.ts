// CHILD_SA rekeying with the gateway as responder (RFC 7296 §1.3.3, §2.8, §2.17), after
// strongSwan's test_child_rekey.c test_regular / test_regular_ke_invalid, written from scratch:
//   CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }  -->  <--  { SA, Nr, [KEr], TSi, TSr }
//   INFORMATIONAL { D(ESP, old SPI) }                        -->  <--  { D(ESP, old SPI) }
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType, ProtocolId } from '../../src/ike/constants.js';
import type { PayloadOf } from '../../src/ike/codec/payload.js';
import { tsAny, tsToString } from '../../src/policy/traffic-selectors.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';
import { PeerSession, errorOf, rekeyConfig, type RekeyConfigOptions } from '../helpers/rekey-peer.js';

const PSK = 'correct horse battery staple';
/** Windows 10-like: IPv4 only, the supernet as TSi/TSr in IKE_AUTH and again on rekey. */
const WIN10: AuthOptions = { id: '@client.example.com', psk: PSK, cp: { v4: true }, esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] };
const hex = (n: number) => n.toString(16);

async function established(c: RekeyConfigOptions = {}, auth: AuthOptions = WIN10) {
  const gw = makeGateway(rekeyConfig(c));
  const client = new TestInitiator(gw);
  const a = await client.connect(auth);
  const peer = PeerSession.of(gw, client);
  return { gw, client, peer, old: a.child! };
}

describe('CHILD_SA rekey, gateway responding', () => {
  it('without PFS: no KE either way, reqid kept, supernet TS re-narrowed, old SAs kept until the Delete (test_regular)', async () => {
    const { gw, peer, old } = await established({ esp: 'aes256-sha1, aes256-sha256' });
    const sa = peer.gatewaySa;
    const reqid = sa.children[0]!.reqid;
    const policies = gw.dataplane.policies.size;
    gw.dataplane.calls.length = 0;

    // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi(0.0.0.0/0), TSr(0.0.0.0/0) } -->
    const { inner, pending } = peer.childRequest({ rekeySpi: old.spiIn, esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, inner);
    // <-- CREATE_CHILD_SA { SA, Nr, TSi, TSr }: no KEr without a KE method in the proposal
    expect(answer!.inner.map((p) => p.kind)).toEqual(['sa', 'nonce', 'tsi', 'tsr']);
    const fresh = peer.childResult(answer!.inner, pending);
    expect(fresh.tsi.map(tsToString)).toEqual(['10.3.0.1/32']);
    expect(fresh.tsr.map(tsToString)).toEqual(['0.0.0.0/0']);

    const [was, now] = sa.children;
    expect(was!.state).toBe('rekeyed');
    expect(now!.state).toBe('installed');
    expect(now!.reqid).toBe(reqid);
    expect(now!.spiIn).toBe(fresh.spiOut);
    expect(now!.spiOut).toBe(fresh.spiIn);
    // The new inbound SA carries the peer's initiator-to-responder keys; our new outbound waits.
    const inbound = gw.dataplane.sas.get(`192.0.2.1/${hex(fresh.spiOut)}`);
    expect(Buffer.from(inbound!.enc.key)).toEqual(Buffer.from(fresh.keymat.initiatorToResponder.enc));
    expect(gw.dataplane.sas.has(`198.51.100.10/${hex(fresh.spiIn)}`)).toBe(false);
    expect(gw.dataplane.sas.size).toBe(3);
    expect(gw.dataplane.policies.size).toBe(policies);

    // INFORMATIONAL { D(ESP, old SPIi) } -->  <-- { D(ESP, old SPIr) }
    const del = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(old.spiIn)]);
    const d = del!.inner[0] as PayloadOf<'delete'>;
    expect(d.kind).toBe('delete');
    expect(Buffer.from(d.spis[0]!).readUInt32BE(0)).toBe(old.spiOut);
    expect(sa.children).toHaveLength(1);
    expect(sa.children[0]).toBe(now);
    const out = gw.dataplane.sas.get(`198.51.100.10/${hex(fresh.spiIn)}`);
    expect(Buffer.from(out!.enc.key)).toEqual(Buffer.from(fresh.keymat.responderToInitiator.enc));
    expect(gw.dataplane.sas.size).toBe(2);
    // Policies were taken over, never removed or re-added: no gap for traffic.
    expect(gw.dataplane.calls.filter((c) => c.includes('Policy'))).toEqual([]);
    expect(gw.dataplane.policies.size).toBe(policies);
    expect(gw.errors()).toEqual([]);
  });

  it('with PFS: INVALID_KE_PAYLOAD for a group the proposal does not use, then KE both ways (test_regular_ke_invalid)', async () => {
    const { gw, peer, old } = await established({ esp: 'aes256-sha256-modp2048' }, { ...WIN10, esp: ['aes256-sha256-modp2048'] });
    const sa = peer.gatewaySa;
    // CREATE_CHILD_SA { N(REKEY_SA), SA(ecp256, modp2048), Ni, KEi(ecp256), TSi, TSr } -->
    const first = peer.childRequest({ rekeySpi: old.spiIn, esp: ['aes256-sha256-ecp256-modp2048'], keGroup: 19, tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const refused = await peer.exchange(ExchangeType.CREATE_CHILD_SA, first.inner);
    // <-- { N(INVALID_KE_PAYLOAD, modp2048) }
    const n = refused!.inner[0] as PayloadOf<'notify'>;
    expect(n.notify).toBe(NotifyType.INVALID_KE_PAYLOAD);
    expect(Buffer.from(n.data).readUInt16BE(0)).toBe(14);
    expect(sa.children).toHaveLength(1);
    expect(sa.children[0]!.state).toBe('installed');

    // CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, KEi(modp2048), TSi, TSr } -->  <-- { SA, Nr, KEr, TSi, TSr }
    const second = peer.childRequest({ rekeySpi: old.spiIn, esp: ['aes256-sha256-ecp256-modp2048'], keGroup: 14, tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, second.inner);
    expect(answer!.inner.map((p) => p.kind)).toEqual(['sa', 'nonce', 'ke', 'tsi', 'tsr']);
    const fresh = peer.childResult(answer!.inner, second.pending);
    expect(fresh.ke).toBe(14);
    // KEYMAT with g^ir (§2.17): the peer's keys match what the gateway installed.
    const inbound = gw.dataplane.sas.get(`192.0.2.1/${hex(fresh.spiOut)}`);
    expect(Buffer.from(inbound!.enc.key)).toEqual(Buffer.from(fresh.keymat.initiatorToResponder.enc));
    expect(Buffer.from(inbound!.integ!.key)).toEqual(Buffer.from(fresh.keymat.initiatorToResponder.integ));
    expect(sa.children[1]!.keGroup).toBe(14);

    await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(old.spiIn)]);
    expect(sa.children.map((c) => c.spiIn)).toEqual([fresh.spiOut]);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.errors()).toEqual([]);
  });

  it('a KE payload the selected proposal does not use is ignored: no KEr, KEYMAT without g^ir', async () => {
    const { gw, peer, old } = await established({ esp: 'aes256-sha256' }, { ...WIN10, esp: ['aes256-sha256'] });
    // Offers ecp256 or no PFS (KE NONE), sends KEi(ecp256); the gateway is configured without PFS.
    const { inner, pending } = peer.childRequest({ rekeySpi: old.spiIn, esp: ['aes256-sha256-ecp256-none'], keGroup: 19, tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, inner);
    expect(answer!.inner.map((p) => p.kind)).toEqual(['sa', 'nonce', 'tsi', 'tsr']);
    const { kex: _unused, ...noPfs } = pending;
    const fresh = peer.childResult(answer!.inner, noPfs);
    const inbound = gw.dataplane.sas.get(`192.0.2.1/${hex(fresh.spiOut)}`);
    expect(Buffer.from(inbound!.enc.key)).toEqual(Buffer.from(fresh.keymat.initiatorToResponder.enc));
    expect(gw.errors()).toEqual([]);
  });

  it('CHILD_SA_NOT_FOUND for an unknown SPI, carrying protocol and SPI; the IKE_SA stays', async () => {
    const { gw, peer } = await established();
    const { inner } = peer.childRequest({ rekeySpi: 0x0badf00d, esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, inner);
    const n = answer!.inner[0] as PayloadOf<'notify'>;
    expect(n.notify).toBe(NotifyType.CHILD_SA_NOT_FOUND);
    expect(n.protocol).toBe(ProtocolId.ESP);
    expect(Buffer.from(n.spi).readUInt32BE(0)).toBe(0x0badf00d);
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    expect((await peer.exchange(ExchangeType.INFORMATIONAL, []))!.inner).toEqual([]);
  });

  it('a new CHILD_SA over CREATE_CHILD_SA gets its own reqid', async () => {
    const { gw, peer } = await established();
    const { inner, pending } = peer.childRequest({ esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, inner);
    expect(errorOf(answer!.inner)).toBeUndefined();
    peer.childResult(answer!.inner, pending);
    const [a, b] = peer.gatewaySa.children;
    expect(b!.reqid).not.toBe(a!.reqid);
    expect(gw.dataplane.sas.size).toBe(4);
  });
});
