// IKE over IPv6 outer addresses against ikegate: the strongSwan client (2001:db8::b) connects
// to the gateway's 2001:db8::1 and still gets virtual IPv4 + IPv6 addresses.
import { describe, expect, it } from 'vitest';
import { pskScenario } from './harness/psk-scenario.js';
import { DNS_V4, DNS_V6, isInPool4, isInPool6, jsonMentionsAddress, pskClient, waitForGatewaySaCount } from './harness/scenario.js';

const s = pskScenario({ tag: 'ipv6' });

describe('IKE over IPv6', () => {
  it('connects over IPv6 outer addresses and assigns v4 + v6 virtual IPs', async () => {
    s.check();
    const node = s.client.node;
    if (!node.v6) throw new Error('client has no IPv6 address');
    await s.client.configure(pskClient(s.topo.gw.wanV6, s.secret, { localAddrs: node.v6 }));
    const res = await s.client.initiate();
    expect(res.ok, `${s.client.describe(res)}\n${s.gw.describe()}`).toBe(true);
    const sa = res.sa;
    if (!sa) throw new Error('no IKE_SA on the client');
    expect(sa.state).toBe('ESTABLISHED');
    expect(sa.localHost).toBe(node.v6);
    expect(sa.remoteHost).toBe(s.topo.gw.wanV6);
    expect(res.log).toMatch(/sending packet: from 2001:db8::b\[500\] to 2001:db8::1\[500\]/);
    expect(sa.localVips.filter(isInPool4)).toHaveLength(1);
    expect(sa.localVips.filter(isInPool6)).toHaveLength(1);
    expect(sa.childSas[0]?.state).toBe('INSTALLED');
    expect(s.client.dnsServers().sort()).toEqual([DNS_V4, DNS_V6].sort());

    const sas = await waitForGatewaySaCount(s.gw, 1);
    const text = JSON.stringify(sas[0]);
    expect(jsonMentionsAddress(text, node.v6), text).toBe(true);

    await s.client.terminate();
    await waitForGatewaySaCount(s.gw, 0);
  });
});
