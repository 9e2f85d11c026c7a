// IKE_SA rekeying (RFC 7296 §1.3.2, §2.18), after strongSwan's test_ike_rekey.c test_regular,
// written from scratch, with the gateway as responder and as initiator:
//   CREATE_CHILD_SA { SA, Ni, KEi }  -->  <--  { SA, Nr, KEr }
//   INFORMATIONAL { D(IKE) } on the old IKE_SA  -->  <--  { }
import { describe, expect, it } from 'vitest';
import { ExchangeType, HeaderFlag, ProtocolId } from '../../src/ike/constants.js';
import type { PayloadOf } from '../../src/ike/codec/payload.js';
import { tsAny } from '../../src/policy/traffic-selectors.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';
import { PeerSession, errorOf, outgoing, rekeyConfig, type RekeyConfigOptions } from '../helpers/rekey-peer.js';

const ALICE: AuthOptions = { id: '@client.example.com', psk: 'correct horse battery staple', cp: { v4: true }, esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] };

async function established(c: RekeyConfigOptions = {}) {
  const gw = makeGateway(rekeyConfig(c));
  const client = new TestInitiator(gw);
  const auth = await client.connect(ALICE);
  return { gw, client, peer: PeerSession.of(gw, client), child: auth.child! };
}

describe('IKE_SA rekey, gateway responding', () => {
  it('new SPIs and keys; children, leases and dataplane move untouched; deleting the old IKE_SA leaves them (test_regular)', async () => {
    const { gw, peer, child } = await established();
    const old = peer.gatewaySa;
    const sasBefore = [...gw.dataplane.sas.keys()];
    const policiesBefore = gw.dataplane.policies.size;
    gw.dataplane.calls.length = 0;

    // CREATE_CHILD_SA { SA, Ni, KEi } -->  <-- { SA, Nr, KEr }
    const { inner, pending } = peer.ikeRekeyRequest({ ike: ['aes256gcm16-prfsha256-x25519'] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, inner);
    expect(answer!.inner.map((p) => p.kind)).toEqual(['sa', 'nonce', 'ke']);
    const fresh = peer.ikeRekeyResult(answer!.inner, pending);
    expect(Buffer.from(fresh.rspi)).not.toEqual(Buffer.from(peer.rspi));

    const next = fresh.gatewaySa;
    expect(next).not.toBe(old);
    expect(next.phase).toBe('established');
    expect(old.phase).toBe('rekeyed');
    expect(old.children).toEqual([]);
    expect(next.children.map((c) => c.spiOut)).toEqual([child.spiIn]);
    expect(next.vips).toEqual(['10.3.0.1']);
    expect(next.leases).toHaveLength(1);
    expect(next.expectedRequestId).toBe(0);

    // INFORMATIONAL { D(IKE) } on the old IKE_SA -->  <-- { }
    const del = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()]);
    expect(del!.inner).toEqual([]);
    expect(gw.engine.listSas().map((s) => s.rspi)).toEqual([Buffer.from(fresh.rspi).toString('hex')]);
    expect([...gw.dataplane.sas.keys()]).toEqual(sasBefore);
    expect(gw.dataplane.policies.size).toBe(policiesBefore);
    expect(gw.dataplane.calls).toEqual([]);
    expect(next.leases).toHaveLength(1);

    // The new IKE_SA works: message ID 0, keys derived from SK_d of the old one (§2.18).
    const ping = await fresh.exchange(ExchangeType.INFORMATIONAL, []);
    expect(ping!.header.messageId).toBe(0);
    expect(ping!.inner).toEqual([]);
    // And a CHILD_SA rekey on it uses its SK_d.
    const rk = fresh.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const got = await fresh.exchange(ExchangeType.CREATE_CHILD_SA, rk.inner);
    const newChild = fresh.childResult(got!.inner, rk.pending);
    const inbound = gw.dataplane.sas.get(`192.0.2.1/${newChild.spiOut.toString(16)}`);
    expect(Buffer.from(inbound!.enc.key)).toEqual(Buffer.from(newChild.keymat.initiatorToResponder.enc));
    expect(gw.errors()).toEqual([]);
  });

  it('INVALID_KE_PAYLOAD with the group we want when the KE payload does not match (test_regular_ke_invalid)', async () => {
    const { peer } = await established({ proposals: 'aes256gcm16-prfsha256-x25519, aes256-sha256-modp2048' });
    const first = peer.ikeRekeyRequest({ ike: ['aes256-sha256-ecp256-modp2048'], keGroup: 19 });
    const refused = await peer.exchange(ExchangeType.CREATE_CHILD_SA, first.inner);
    const n = refused!.inner[0] as PayloadOf<'notify'>;
    expect(Buffer.from(n.data).readUInt16BE(0)).toBe(14);
    expect(peer.gatewaySa.phase).toBe('established');
    const second = peer.ikeRekeyRequest({ ike: ['aes256-sha256-ecp256-modp2048'], keGroup: 14 });
    const ok = await peer.exchange(ExchangeType.CREATE_CHILD_SA, second.inner);
    expect(errorOf(ok!.inner)).toBeUndefined();
    const fresh = peer.ikeRekeyResult(ok!.inner, second.pending);
    expect(fresh.gatewaySa.negotiated.ke).toBe(14);
  });
});

describe('IKE_SA rekey, gateway initiating (rekey_time)', () => {
  it('offers the current group first, becomes initiator of the new IKE_SA and deletes the old one', async () => {
    const { gw, client, peer } = await established({ proposals: 'aes128-sha256-modp2048, aes256gcm16-prfsha256-x25519', ikeRekey: '1h' });
    expect(peer.gatewaySa.negotiated.ke).toBe(31);
    gw.transport.take();
    gw.clock.advance(3600_000);
    await gw.settle();
    const [reqBytes] = outgoing(gw, client.local);
    const req = peer.open(reqBytes!);
    expect(req.header.exchange).toBe(ExchangeType.CREATE_CHILD_SA);
    expect(req.header.flags & HeaderFlag.INITIATOR).toBe(0);
    const sa = req.inner.find((p): p is PayloadOf<'sa'> => p.kind === 'sa')!;
    expect(sa.proposals[0]!.protocol).toBe(ProtocolId.IKE);
    // Windows needs its own DH group first (field facts §2.1.7): x25519 (31) leads.
    expect(sa.proposals[0]!.transforms.find((t) => t.type === 4)!.id).toBe(31);
    expect(req.inner.find((p) => p.kind === 'ke')).toMatchObject({ group: 31 });

    // <-- CREATE_CHILD_SA { SA, Ni, KEi };  { SA, Nr, KEr } -->
    const { bytes, session } = peer.answerIkeRekey(req);
    const after = await peer.deliver(bytes);
    // The gateway now deletes the old IKE_SA: <-- INFORMATIONAL { D(IKE) }
    const del = peer.open(after.find((d) => peer.owns(d))!);
    expect(del.header.exchange).toBe(ExchangeType.INFORMATIONAL);
    expect(del.inner).toEqual([expect.objectContaining({ kind: 'delete', protocol: ProtocolId.IKE })]);
    const next = session.gatewaySa;
    expect(next.weInitiated).toBe(true);
    expect(next.children).toHaveLength(1);
    await peer.deliver(peer.response(del.header, []));
    await gw.settle();
    expect(gw.engine.listSas()).toHaveLength(1);
    expect(gw.dataplane.sas.size).toBe(2);

    // The client, now original responder, talks on the new IKE_SA (I flag clear).
    const ping = await session.exchange(ExchangeType.INFORMATIONAL, []);
    expect(ping!.inner).toEqual([]);
    expect(ping!.header.flags & HeaderFlag.INITIATOR).toBe(HeaderFlag.INITIATOR);
    expect(gw.errors()).toEqual([]);
  });
});
