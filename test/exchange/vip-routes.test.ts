// Routes for the peer's virtual IPs (issue 4): the engine asks the dataplane for one route per
// remote selector that is a virtual IP of the IKE_SA, towards the peer's outer address, after the
// CHILD_SA's policies; a rekey hands them to the successor without a gap; deleting the CHILD_SA
// or the IKE_SA removes them (before the policies). MemoryDataplane records and counts them.
import { describe, expect, it } from 'vitest';
import { ExchangeType } from '../../src/ike/constants.js';
import { tsAny } from '../../src/policy/traffic-selectors.js';
import { FIRST_V4, FIRST_V6, PSK as CONFIG_PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';
import { PeerSession, errorOf, rekeyConfig } from '../helpers/rekey-peer.js';

const PSK = 'correct horse battery staple';
const WIN10: AuthOptions = { id: '@client.example.com', psk: PSK, cp: { v4: true }, esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] };
const routeCalls = (calls: string[]) => calls.filter((c) => c.includes('Route'));

async function established(auth: AuthOptions = WIN10) {
  const gw = makeGateway(rekeyConfig());
  const client = new TestInitiator(gw);
  const a = await client.connect(auth);
  const peer = PeerSession.of(gw, client);
  return { gw, client, peer, old: a.child! };
}

describe('virtual-IP routes of CHILD_SAs', () => {
  it('IKE_AUTH with IPv4 and IPv6 virtual IPs: one route each, towards the peer, after the policies', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    const auth = await client.connect({ id: '@client.example.com', psk: CONFIG_PSK });
    expect(auth.error).toBeUndefined();
    const peer = client.local.address;
    expect([...gw.dataplane.routes.values()].sort((a, b) => a.destination.localeCompare(b.destination))).toEqual([
      { destination: `${FIRST_V4}/32`, table: 0, via: { peer } },
      { destination: `${FIRST_V6}/128`, table: 0, via: { peer } },
    ]);
    // Routed only once the out policy exists: a route without it would carry the traffic in clear.
    const calls = gw.dataplane.calls;
    const lastPolicy = calls.map((c) => c.startsWith('installPolicy')).lastIndexOf(true);
    expect(calls.findIndex((c) => c.startsWith('installRoute'))).toBeGreaterThan(lastPolicy);
    const [sa] = [...gw.engine.sas.values()];
    expect(sa!.children[0]!.routes.sort()).toEqual([`${FIRST_V4}/32`, `${FIRST_V6}/128`].sort());
  });

  it('no virtual IP (no CP request): the peer\'s own address is the selector, and nothing is routed', async () => {
    const { gw, peer } = await established({ ...WIN10, cp: false });
    expect(peer.gatewaySa.children[0]!.remoteTs).toEqual(['198.51.100.10/32']);
    expect(routeCalls(gw.dataplane.calls)).toEqual([]);
    expect(peer.gatewaySa.children[0]!.routes).toEqual([]);
  });

  it('a rekey hands the route to the successor: no delete, no second install; deleting the new CHILD_SA removes it', async () => {
    const { gw, peer, old } = await established();
    expect(routeCalls(gw.dataplane.calls)).toEqual(['installRoute 10.3.0.1/32 via 198.51.100.10']);
    gw.dataplane.calls.length = 0;
    const { inner, pending } = peer.childRequest({ rekeySpi: old.spiIn, esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, inner);
    const fresh = peer.childResult(answer!.inner, pending);
    const [was, now] = peer.gatewaySa.children;
    expect(now!.routes).toEqual(['10.3.0.1/32']);
    expect(was!.routes).toEqual([]);
    // The peer deletes the old CHILD_SA: its SAs go, the route stays with the successor.
    await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(old.spiIn)]);
    expect(peer.gatewaySa.children).toEqual([now]);
    expect(routeCalls(gw.dataplane.calls)).toEqual([]);
    expect(gw.dataplane.routes.has('10.3.0.1/32')).toBe(true);
    // Deleting the successor removes the route, before its policies.
    await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(fresh.spiIn)]);
    expect(gw.dataplane.routes.size).toBe(0);
    const calls = gw.dataplane.calls;
    expect(calls.indexOf('deleteRoute 10.3.0.1/32')).toBeLessThan(calls.findIndex((c) => c.startsWith('deletePolicy')));
    expect(gw.errors()).toEqual([]);
  });

  it('two CHILD_SAs to the same virtual IP each hold a reference; the route goes with the last one, and with the IKE_SA', async () => {
    const { gw, peer, old } = await established();
    const { inner, pending } = peer.childRequest({ esp: ['aes256-sha1'], tsi: [tsAny(4)], tsr: [tsAny(4)] });
    const answer = await peer.exchange(ExchangeType.CREATE_CHILD_SA, inner);
    expect(errorOf(answer!.inner)).toBeUndefined();
    peer.childResult(answer!.inner, pending);
    expect(peer.gatewaySa.children.map((c) => c.routes)).toEqual([['10.3.0.1/32'], ['10.3.0.1/32']]);
    expect(gw.dataplane.routeRefs.get('10.3.0.1/32')).toBe(2);
    await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(old.spiIn)]);
    expect(gw.dataplane.routes.has('10.3.0.1/32')).toBe(true);
    // The IKE_SA goes with its remaining CHILD_SA: no route of it may stay.
    await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()]);
    expect(gw.dataplane.routes.size).toBe(0);
    expect(gw.dataplane.routeRefs.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
  });
});
