// NAT traversal against ikegate: the strongSwan client sits behind an nftables masquerading
// router (inside 198.51.100.0/24, outside 192.0.2.2); the gateway has no route to the inside.
// IKE_SA_INIT goes to UDP 500, NAT detection makes both ends float to 4500, and the gateway
// sees the client at the router's outside address.
import { describe, expect, it } from 'vitest';
import { pskScenario } from './harness/psk-scenario.js';
import { nsExec } from './harness/netns.js';
import { isInPool4, isInPool6, jsonMentionsAddress, pskClient, waitForGatewaySaCount } from './harness/scenario.js';

const s = pskScenario({ tag: 'nat', nat: true });

describe('NAT traversal', () => {
  it('connects from behind a masquerading NAT and floats to UDP 4500', async () => {
    s.check();
    const nat = s.topo.nat;
    if (!nat) throw new Error('no NAT');
    // precondition: only the NAT makes the client reachable
    const route = await nsExec(s.topo.gw.ns, ['ip', 'route', 'get', nat.client.v4], { check: false });
    expect(route.code).not.toBe(0);

    const before = await s.topo.natCounters();
    await s.client.configure(pskClient(s.topo.gw.wanV4, s.secret));
    const res = await s.client.initiate();
    expect(res.ok, `${s.client.describe(res)}\n${s.gw.describe()}`).toBe(true);
    const sa = res.sa;
    if (!sa) throw new Error('no IKE_SA on the client');
    expect(sa.state).toBe('ESTABLISHED');
    // the client found itself behind a NAT (the gateway's NAT_DETECTION_DESTINATION_IP hash
    // of 192.0.2.2 does not match the client's own 198.51.100.2)
    expect(sa.natLocal).toBe(true);
    expect(res.log).toMatch(/local host is behind NAT, sending keep alives/);
    expect(sa.localHost).toBe(nat.client.v4);
    expect(sa.localPort).toBe(4500);
    expect(sa.remotePort).toBe(4500);
    expect(sa.childSas[0]?.encap).toBe(true);
    expect(sa.localVips.filter(isInPool4)).toHaveLength(1);
    expect(sa.localVips.filter(isInPool6)).toHaveLength(1);

    const after = await s.topo.natCounters();
    expect(after.ike500 - before.ike500).toBeGreaterThanOrEqual(1); // IKE_SA_INIT on 500
    expect(after.ike4500 - before.ike4500).toBeGreaterThanOrEqual(1); // IKE_AUTH on 4500
    expect(after.esp).toBe(0); // nothing unencapsulated crossed the NAT

    // the gateway's view: the peer is the NAT's outside address, on port 4500
    const sas = await waitForGatewaySaCount(s.gw, 1);
    const text = JSON.stringify(sas[0]);
    expect(jsonMentionsAddress(text, nat.outsideV4), text).toBe(true);
    expect(jsonMentionsAddress(text, nat.client.v4), text).toBe(false);
    expect(text).toMatch(/\b4500\b/);

    await s.client.terminate();
    await waitForGatewaySaCount(s.gw, 0);
  });
});
