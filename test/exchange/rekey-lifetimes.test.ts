// CHILD_SA lifetimes (RFC 7296 §2.8): the gateway rekeys at rekey_time as initiator, deletes at
// life_time (or on a dataplane hard expire), and never starts a CHILD_SA rekey towards a Windows
// client behind NAT (field facts §2.1.7: it fails with 13863) — there only the hard lifetime acts.
//   <-- CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }   { SA, Nr, [KEr], TSi, TSr } -->
//   <-- INFORMATIONAL { D(ESP) }                                     { D(ESP) } -->
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType, ProtocolId } from '../../src/ike/constants.js';
import type { PayloadOf } from '../../src/ike/codec/payload.js';
import { tsAny } from '../../src/policy/traffic-selectors.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';
import { PeerSession, outgoing, rekeyConfig, u32, type RekeyConfigOptions } from '../helpers/rekey-peer.js';

const ALICE: AuthOptions = { id: '@client.example.com', psk: 'correct horse battery staple', cp: { v4: true }, esp: ['aes256-sha256'], tsi: [tsAny(4)], tsr: [tsAny(4)] };
const MS_NT5_VID = Buffer.from('1e2b516905991c7d7c96fcbfb587e46100000009', 'hex');
const HOUR = 3600_000;

async function established(c: RekeyConfigOptions, o: { windows?: boolean; nat?: boolean; auth?: AuthOptions } = {}) {
  const gw = makeGateway(rekeyConfig(c));
  const client = new TestInitiator(gw, o.nat ? { nat: 'wrong-source' } : {});
  const extra = o.windows ? [{ kind: 'vendor' as const, critical: false, data: new Uint8Array(MS_NT5_VID) }] : [];
  const init = client.handleInitResponse((await client.transmit(client.initRequest({ extra })))[0]);
  if (init.kind !== 'ok') throw new Error('IKE_SA_INIT failed');
  const auth = await client.auth(o.auth ?? ALICE);
  if (!auth.ok) throw new Error(`IKE_AUTH failed: ${auth.error}`);
  gw.transport.take();
  return { gw, client, peer: PeerSession.of(gw, client), child: auth.child! };
}

async function advance(gw: ReturnType<typeof makeGateway>, ms: number) {
  gw.clock.advance(ms);
  await gw.settle();
}

describe('hard lifetime', () => {
  it('life_time passes: INFORMATIONAL Delete as requester, CHILD_SA removed after the answer, IKE_SA stays', async () => {
    const { gw, client, peer, child } = await established({ childLife: '2h' });
    await advance(gw, 2 * HOUR);
    const [bytes] = outgoing(gw, client.local);
    const req = peer.open(bytes!);
    // <-- INFORMATIONAL { D(ESP, gateway's inbound SPI) }
    const d = req.inner[0] as PayloadOf<'delete'>;
    expect(d.kind).toBe('delete');
    expect(u32(d.spis[0]!)).toBe(child.spiOut);
    expect(peer.gatewaySa.children[0]!.state).toBe('deleting');
    // { D(ESP, ours) } -->
    await peer.deliver(peer.response(req.header, [TestInitiator.deleteChild(child.spiIn)]));
    expect(peer.gatewaySa.children).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    expect(gw.errors()).toEqual([]);
  });

  it('a hard expire from the dataplane deletes the CHILD_SA the same way', async () => {
    const { gw, client, peer, child } = await established({});
    const inbound = peer.gatewaySa.children[0]!.installedSas[0]!;
    gw.dataplane.emit({ kind: 'expire', id: inbound, hard: true });
    await gw.settle();
    const req = peer.open(outgoing(gw, client.local)[0]!);
    expect(u32((req.inner[0] as PayloadOf<'delete'>).spis[0]!)).toBe(child.spiOut);
  });
});

describe('CHILD_SA rekey started by the gateway', () => {
  it('towards a non-Windows peer: no KE without PFS, same reqid, old pair deleted afterwards', async () => {
    const { gw, client, peer, child } = await established({ childRekey: '1h', childLife: '2h' });
    const sa = peer.gatewaySa;
    const reqid = sa.children[0]!.reqid;
    await advance(gw, HOUR);
    const req = peer.open(outgoing(gw, client.local)[0]!);
    // <-- CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, TSi, TSr }
    expect(req.header.exchange).toBe(ExchangeType.CREATE_CHILD_SA);
    expect(req.inner.map((p) => p.kind)).toEqual(['notify', 'sa', 'nonce', 'tsi', 'tsr']);
    const rekey = req.inner[0] as PayloadOf<'notify'>;
    expect(rekey.notify).toBe(NotifyType.REKEY_SA);
    expect(rekey.protocol).toBe(ProtocolId.ESP);
    expect(u32(rekey.spi)).toBe(child.spiOut);
    // { SA, Nr, TSi, TSr } -->   and then  <-- INFORMATIONAL { D(ESP, old) }
    const answer = peer.answerChildRequest(req);
    const next = await peer.deliver(answer.bytes);
    const del = peer.open(next[0]!);
    expect(u32((del.inner[0] as PayloadOf<'delete'>).spis[0]!)).toBe(child.spiOut);
    const [old, fresh] = sa.children;
    expect(old!.state).toBe('deleting');
    expect(fresh!.reqid).toBe(reqid);
    // The gateway initiated this exchange: its inbound SA takes the responder-to-initiator keys.
    const inbound = gw.dataplane.sas.get(`192.0.2.1/${fresh!.spiIn.toString(16)}`);
    expect(Buffer.from(inbound!.enc.key)).toEqual(Buffer.from(answer.result.keymat.responderToInitiator.enc));
    const outbound = gw.dataplane.sas.get(`198.51.100.10/${answer.result.spiIn.toString(16)}`);
    expect(Buffer.from(outbound!.enc.key)).toEqual(Buffer.from(answer.result.keymat.initiatorToResponder.enc));
    // { D(ESP, ours of the old pair) } -->
    await peer.deliver(peer.response(del.header, [TestInitiator.deleteChild(child.spiIn)]));
    expect(sa.children).toEqual([fresh]);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.dataplane.policies.size).toBeGreaterThan(0);
    // The replacement has lifetimes of its own: rekeyed again an hour later.
    await advance(gw, HOUR);
    expect(peer.open(outgoing(gw, client.local)[0]!).header.exchange).toBe(ExchangeType.CREATE_CHILD_SA);
    expect(gw.errors()).toEqual([]);
  });

  it('with PFS configured the request carries KEi of the configured group', async () => {
    const { gw, client, peer } = await established({ childRekey: '1h', childLife: '2h', esp: 'aes256-sha256-modp2048' }, { auth: { ...ALICE, esp: ['aes256-sha256-modp2048'] } });
    await advance(gw, HOUR);
    const req = peer.open(outgoing(gw, client.local)[0]!);
    expect(req.inner.find((p) => p.kind === 'ke')).toMatchObject({ group: 14 });
    const answer = peer.answerChildRequest(req);
    expect(answer.result.ke).toBe(14);
    await peer.deliver(answer.bytes);
    const fresh = peer.gatewaySa.children[1]!;
    const inbound = gw.dataplane.sas.get(`192.0.2.1/${fresh.spiIn.toString(16)}`);
    expect(Buffer.from(inbound!.enc.key)).toEqual(Buffer.from(answer.result.keymat.responderToInitiator.enc));
  });

  it('NOT towards a Windows client behind NAT: it is left to the client, and only life_time deletes', async () => {
    const { gw, client, peer, child } = await established({ childRekey: '1h', childLife: '2h' }, { windows: true, nat: true });
    expect(peer.gatewaySa.natRemote).toBe(true);
    await advance(gw, HOUR);
    expect(outgoing(gw, client.local)).toEqual([]);
    expect(gw.logs.some((l) => l.msg.includes('Windows client behind NAT'))).toBe(true);
    await advance(gw, HOUR);
    const req = peer.open(outgoing(gw, client.local)[0]!);
    expect(u32((req.inner[0] as PayloadOf<'delete'>).spis[0]!)).toBe(child.spiOut);
  });

  it('a Windows client not behind NAT is rekeyed normally', async () => {
    const { gw, client, peer } = await established({ childRekey: '1h', childLife: '2h' }, { windows: true });
    await advance(gw, HOUR);
    expect(peer.open(outgoing(gw, client.local)[0]!).header.exchange).toBe(ExchangeType.CREATE_CHILD_SA);
  });
});
