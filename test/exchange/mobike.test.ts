// MOBIKE as responder (RFC 4555) and NAT mapping changes without MOBIKE (RFC 7296 §2.23):
// the IKE_SA and its CHILD_SA move to the address of an authenticated request, keeping SPIs
// and keys; the dataplane migrates them in place or, without migrate(), re-installs them.
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType } from '../../src/ike/constants.js';
import type { Payload } from '../../src/ike/codec/payload.js';
import { natHash } from '../../src/ike/exchanges/steps/nat-detection.js';
import { endpoint, endpointBytes, type Endpoint } from '../../src/net/endpoint.js';
import type { MigrateSpec } from '../../src/xfrm/dataplane.js';
import { MemoryDataplane } from '../../src/xfrm/memory-dataplane.js';
import { PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, flipBit, notifyPayload, type AuthOptions } from '../helpers/initiator.js';
import { deliver, gatewayRequests } from '../helpers/peer-requests.js';

const MOBIKE_SUP = notifyPayload(NotifyType.MOBIKE_SUPPORTED);
const ALICE: AuthOptions = { id: '@client.example.com', psk: PSK, extraInner: [MOBIKE_SUP] };
const GW_NATT = endpoint('192.0.2.1', 4500);
const OLD = endpoint('198.51.100.10', 4500);
const NEW = endpoint('203.0.113.77', 4500);

/** A MemoryDataplane that can migrate in place (like XFRM_MSG_MIGRATE). */
class MigratingDataplane extends MemoryDataplane {
  readonly migrations: MigrateSpec[] = [];
  async migrate(m: MigrateSpec): Promise<void> {
    this.migrations.push(m);
    this.calls.push(`migrate ${m.reqid}`);
    for (const [key, sa] of [...this.sas]) {
      const out = sa.id.src === m.from.local && sa.id.dst === m.from.remote;
      const inb = sa.id.src === m.from.remote && sa.id.dst === m.from.local;
      if (!out && !inb) continue;
      this.sas.delete(key);
      const id = out ? { ...sa.id, src: m.to.local, dst: m.to.remote } : { ...sa.id, src: m.to.remote, dst: m.to.local };
      this.sas.set(`${id.dst}/${id.spi.toString(16)}`, { ...sa, id });
    }
  }
}

interface Setup {
  gw: Gateway;
  client: TestInitiator;
  /** The gateway's inbound and outbound ESP SPIs. */
  spiIn: number;
  spiOut: number;
}

/** The client at OLD (UDP 4500 on both sides, as after the NAT-T float) with MOBIKE unless told otherwise. */
async function established(o: { nat?: 'correct' | 'wrong-source'; extra?: string; dataplane?: MemoryDataplane; auth?: AuthOptions; ikegate?: string } = {}): Promise<Setup> {
  const gw = makeGateway(pskConfig({ ...(o.extra ? { extra: o.extra } : {}), ...(o.ikegate ? { ikegate: o.ikegate } : {}) }), undefined, { address: GW_NATT, ...(o.dataplane ? { dataplane: o.dataplane } : {}) });
  const client = new TestInitiator(gw, { local: OLD, nat: o.nat ?? 'correct' });
  const auth = await client.connect(o.auth ?? ALICE);
  // The initiator's inbound SPI is the gateway's outbound one and vice versa.
  return { gw, client, spiIn: auth.child!.spiOut, spiOut: auth.child!.spiIn };
}

/** N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP) as the client computes them for from -> to. */
function natD(client: TestInitiator, from: Endpoint, to: Endpoint): Payload[] {
  return [
    notifyPayload(NotifyType.NAT_DETECTION_SOURCE_IP, natHash(client.ispi, client.rspi, from)),
    notifyPayload(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(client.ispi, client.rspi, to)),
  ];
}

/** HDR, SK { inner } from `from`; returns the opened response. */
async function informationalFrom(s: Setup, from: Endpoint, inner: Payload[]) {
  const answers = await deliver(s.gw, s.client.request(ExchangeType.INFORMATIONAL, inner), from, GW_NATT);
  return answers.length > 0 ? s.client.openResponse(answers) : undefined;
}

function notifiesOf(inner: Payload[] | undefined): Map<number, Uint8Array> {
  const m = new Map<number, Uint8Array>();
  for (const p of inner ?? []) if (p.kind === 'notify') m.set(p.notify, p.data);
  return m;
}

const saIds = (gw: Gateway) => [...gw.dataplane.sas.values()].map((s) => ({ src: s.id.src, dst: s.id.dst, spi: s.id.spi, encap: s.encap }));

describe('MOBIKE negotiation (RFC 4555 §3.2)', () => {
  it('N(MOBIKE_SUPPORTED) in IKE_AUTH is answered with N(MOBIKE_SUPPORTED)', async () => {
    const gw = makeGateway(pskConfig(), undefined, { address: GW_NATT });
    // IKE_AUTH { IDi, AUTH, N(MOBIKE_SUPPORTED), SAi2, TSi, TSr }  -->  <--  { IDr, AUTH, SAr2, TSi, TSr, N(MOBIKE_SUPPORTED) }
    const auth = await new TestInitiator(gw, { local: OLD }).connect(ALICE);
    expect(auth.notifies.map((n) => n.notify)).toContain(NotifyType.MOBIKE_SUPPORTED);
    expect([...gw.engine.sas.values()][0]!.mobike).toBe(true);
  });

  it('mobike = no, or a peer without MOBIKE: no N(MOBIKE_SUPPORTED) in the response', async () => {
    const off = makeGateway(pskConfig({ extra: 'mobike = no' }), undefined, { address: GW_NATT });
    const a = await new TestInitiator(off, { local: OLD }).connect(ALICE);
    expect(a.notifies.map((n) => n.notify)).not.toContain(NotifyType.MOBIKE_SUPPORTED);
    const gw = makeGateway(pskConfig(), undefined, { address: GW_NATT });
    const b = await new TestInitiator(gw, { local: OLD }).connect({ ...ALICE, extraInner: [] });
    expect(b.notifies.map((n) => n.notify)).not.toContain(NotifyType.MOBIKE_SUPPORTED);
  });
});

describe('UPDATE_SA_ADDRESSES (RFC 4555 §3.5)', () => {
  it('moves the IKE_SA and re-installs the CHILD_SA with the same SPIs at the new address (no migrate())', async () => {
    const s = await established();
    const before = saIds(s.gw);
    s.gw.dataplane.calls.length = 0;
    // (NEW:4500 -> GW:4500) HDR, SK { N(UPDATE_SA_ADDRESSES), N(NATD_S_IP), N(NATD_D_IP) }  -->
    const answer = await informationalFrom(s, NEW, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), ...natD(s.client, NEW, GW_NATT)]);
    // <--  (GW:4500 -> NEW:4500) HDR, SK { N(NATD_S_IP), N(NATD_D_IP) }
    const n = notifiesOf(answer?.inner);
    expect(n.get(NotifyType.NAT_DETECTION_SOURCE_IP)).toEqual(natHash(s.client.ispi, s.client.rspi, GW_NATT));
    expect(n.get(NotifyType.NAT_DETECTION_DESTINATION_IP)).toEqual(natHash(s.client.ispi, s.client.rspi, NEW));

    const [summary] = s.gw.engine.listSas();
    expect(summary).toMatchObject({ remote: '203.0.113.77:4500', natRemote: false, natLocal: false });
    // Same SPIs, new outer addresses; nothing else left behind.
    expect(saIds(s.gw).sort((a, b) => a.spi - b.spi)).toEqual(
      [
        { src: NEW.address, dst: GW_NATT.address, spi: s.spiIn, encap: undefined },
        { src: GW_NATT.address, dst: NEW.address, spi: s.spiOut, encap: undefined },
      ].sort((a, b) => a.spi - b.spi),
    );
    expect(before.map((b) => b.spi).sort()).toEqual(saIds(s.gw).map((b) => b.spi).sort());
    for (const p of s.gw.dataplane.policies.values()) {
      expect(p.tunnel).toEqual(p.direction === 'out' ? { src: GW_NATT.address, dst: NEW.address } : { src: NEW.address, dst: GW_NATT.address });
    }
    // Replace fallback: delete everything first, then inbound SA, outbound SA, policies.
    expect(s.gw.dataplane.calls.filter((c) => c.startsWith('installSa'))).toEqual([`installSa in ${GW_NATT.address}/${s.spiIn.toString(16)}`, `installSa out ${NEW.address}/${s.spiOut.toString(16)}`]);
    expect(s.gw.logs.some((l) => l.msg.includes('192.0.2.1:4500...198.51.100.10:4500 -> 192.0.2.1:4500...203.0.113.77:4500'))).toBe(true);
    // The keys survived the move: the re-installed SAs carry the negotiated keys.
    const keymat = [...s.gw.dataplane.sas.values()].find((x) => x.direction === 'out')!.enc.key;
    expect(keymat.length).toBeGreaterThan(0);
    expect(s.gw.errors()).toEqual([]);
  });

  it('uses the dataplane migrate() when it has one: addresses move in place, no delete/install', async () => {
    const dp = new MigratingDataplane();
    const s = await established({ dataplane: dp });
    dp.calls.length = 0;
    await informationalFrom(s, NEW, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), ...natD(s.client, NEW, GW_NATT)]);
    const reqid = [...dp.sas.values()][0]!.reqid;
    expect(dp.migrations).toEqual([{ reqid, from: { local: GW_NATT.address, remote: OLD.address }, to: { local: GW_NATT.address, remote: NEW.address } }]);
    expect(dp.calls).toEqual([`migrate ${reqid}`]);
    expect(saIds(s.gw).map((x) => x.src).sort()).toEqual([GW_NATT.address, NEW.address].sort());
    expect(s.gw.engine.listSas()[0]!.children[0]).toMatchObject({ spiIn: s.spiIn.toString(16).padStart(8, '0') });
  });

  it('to an address behind NAT: the CHILD_SA becomes UDP-encapsulated (re-installed even with migrate())', async () => {
    const dp = new MigratingDataplane();
    const s = await established({ dataplane: dp });
    const behindNat = endpoint('203.0.113.200', 61000);
    // The client hashes its private address: the gateway sees a mismatch (NAT in front of the peer).
    await informationalFrom(s, behindNat, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), ...natD(s.client, endpoint('10.0.0.5', 4500), GW_NATT)]);
    expect(s.gw.engine.listSas()[0]).toMatchObject({ remote: '203.0.113.200:61000', natRemote: true });
    expect(dp.migrations).toEqual([]);
    const out = [...dp.sas.values()].find((x) => x.direction === 'out')!;
    const inb = [...dp.sas.values()].find((x) => x.direction === 'in')!;
    expect(out.encap).toEqual({ sport: 4500, dport: 61000 });
    expect(inb.encap).toEqual({ sport: 61000, dport: 4500 });
    expect([out.id.spi, inb.id.spi].sort()).toEqual([s.spiOut, s.spiIn].sort());
  });

  it('echoes N(COOKIE2) (§3.6) and records ADDITIONAL_*_ADDRESS / NO_ADDITIONAL_ADDRESSES', async () => {
    const s = await established();
    const cookie2 = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    // HDR, SK { N(ADDITIONAL_IP4_ADDRESS), N(ADDITIONAL_IP6_ADDRESS), N(COOKIE2) }  -->  <--  HDR, SK { N(COOKIE2) }
    const a = await informationalFrom(s, OLD, [
      notifyPayload(NotifyType.ADDITIONAL_IP4_ADDRESS, new Uint8Array([198, 18, 0, 9])),
      notifyPayload(NotifyType.ADDITIONAL_IP6_ADDRESS, endpointBytes(endpoint('2001:db8::9', 0)).subarray(0, 16)),
      notifyPayload(NotifyType.COOKIE2, cookie2),
    ]);
    expect(notifiesOf(a?.inner).get(NotifyType.COOKIE2)).toEqual(cookie2);
    const sa = [...s.gw.engine.sas.values()][0]!;
    expect(sa.peerAddresses).toEqual(['198.18.0.9', '2001:db8::9']);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:4500');
    await informationalFrom(s, OLD, [notifyPayload(NotifyType.NO_ADDITIONAL_ADDRESSES)]);
    expect(sa.peerAddresses).toEqual([]);
  });

  it('N(NO_NATS_ALLOWED) that does not match the IP header: UNEXPECTED_NAT_DETECTED, nothing moves (§3.9)', async () => {
    const s = await established();
    const claimed = new Uint8Array([10, 0, 0, 5, 192, 0, 2, 1, 0x11, 0x94, 0x11, 0x94]); // 10.0.0.5:4500 -> 192.0.2.1:4500
    const a = await informationalFrom(s, NEW, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), notifyPayload(NotifyType.NO_NATS_ALLOWED, claimed)]);
    expect(notifiesOf(a?.inner).has(NotifyType.UNEXPECTED_NAT_DETECTED)).toBe(true);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:4500');
    expect(saIds(s.gw).some((x) => x.src === NEW.address || x.dst === NEW.address)).toBe(false);
  });

  it('N(NO_NATS_ALLOWED) matching the IP header: the update goes through', async () => {
    const s = await established();
    const exact = new Uint8Array([203, 0, 113, 77, 192, 0, 2, 1, 0x11, 0x94, 0x11, 0x94]);
    const a = await informationalFrom(s, NEW, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), notifyPayload(NotifyType.NO_NATS_ALLOWED, exact)]);
    expect(notifiesOf(a?.inner).has(NotifyType.UNEXPECTED_NAT_DETECTED)).toBe(false);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('203.0.113.77:4500');
  });

  it('an UPDATE_SA_ADDRESSES that fails the integrity check is dropped: nothing moves', async () => {
    const s = await established();
    const [bytes] = s.client.request(ExchangeType.INFORMATIONAL, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), ...natD(s.client, NEW, GW_NATT)]);
    expect(await deliver(s.gw, flipBit(bytes!, -1), NEW, GW_NATT)).toEqual([]);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:4500');
    expect(saIds(s.gw).some((x) => x.src === NEW.address || x.dst === NEW.address)).toBe(false);
  });

  it('without MOBIKE negotiated, UPDATE_SA_ADDRESSES is ignored', async () => {
    const s = await established({ auth: { ...ALICE, extraInner: [] } });
    const a = await informationalFrom(s, NEW, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), ...natD(s.client, NEW, GW_NATT)]);
    expect(a?.inner).toEqual([]);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:4500');
  });

  it('with MOBIKE, other authenticated requests from a new address do not move the SA (updates are explicit)', async () => {
    const s = await established({ nat: 'wrong-source' });
    await informationalFrom(s, NEW, []);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:4500');
  });

  it('liveness checks follow the new address (libreswan#1492)', async () => {
    const s = await established({ extra: 'dpd_delay = 30s' });
    await informationalFrom(s, NEW, [notifyPayload(NotifyType.UPDATE_SA_ADDRESSES), ...natD(s.client, NEW, GW_NATT)]);
    s.gw.transport.take();
    s.gw.clock.advance(31_000);
    await s.gw.settle();
    // <--  (GW -> NEW) HDR, SK {}   (the DPD request goes where the peer now is)
    const requests = gatewayRequests(s.gw, s.client);
    expect(requests).toHaveLength(1);
    expect(requests[0]!.datagram.remote).toEqual(NEW);
    expect(requests[0]!.inner).toEqual([]);
  });
});

describe('NAT mapping changes without MOBIKE (RFC 7296 §2.23)', () => {
  const NO_MOBIKE: AuthOptions = { ...ALICE, extraInner: [] };

  it('a NATed peer whose mapping changed is followed; CHILD_SA encapsulation ports are updated', async () => {
    const s = await established({ nat: 'wrong-source', auth: NO_MOBIKE });
    expect(s.gw.engine.listSas()[0]).toMatchObject({ natRemote: true });
    const rebound = endpoint('198.51.100.10', 34567);
    const a = await informationalFrom(s, rebound, []);
    expect(a?.inner).toEqual([]);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:34567');
    const out = [...s.gw.dataplane.sas.values()].find((x) => x.direction === 'out')!;
    const inb = [...s.gw.dataplane.sas.values()].find((x) => x.direction === 'in')!;
    expect(out.encap).toEqual({ sport: 4500, dport: 34567 });
    expect(inb.encap).toEqual({ sport: 34567, dport: 4500 });
    expect([out.id.spi, inb.id.spi].sort()).toEqual([s.spiOut, s.spiIn].sort());
    expect(s.gw.logs.some((l) => l.msg.startsWith('NAT mapping changed') && l.msg.includes('-> 192.0.2.1:4500...198.51.100.10:34567'))).toBe(true);
  });

  it('a peer that is not behind NAT is not followed', async () => {
    const s = await established({ auth: NO_MOBIKE });
    await informationalFrom(s, NEW, []);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:4500');
    expect(saIds(s.gw).some((x) => x.src === NEW.address || x.dst === NEW.address)).toBe(false);
  });

  it('unauthenticated datagrams never move a NATed peer', async () => {
    const s = await established({ nat: 'wrong-source', auth: NO_MOBIKE });
    const [bytes] = s.client.request(ExchangeType.INFORMATIONAL, []);
    await deliver(s.gw, flipBit(bytes!, -1), endpoint('198.51.100.10', 34567), GW_NATT);
    expect(s.gw.engine.listSas()[0]!.remote).toBe('198.51.100.10:4500');
  });
});
