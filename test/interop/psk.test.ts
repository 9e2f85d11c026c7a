// PSK authentication against ikegate with a real strongSwan client (own charon, kernel-libipsec)
// in a network namespace: a good PSK connects and gets virtual IPv4 + IPv6 addresses and DNS
// servers from the pools; a wrong PSK is rejected with AUTHENTICATION_FAILED, the gateway
// keeps running, logs why, and still accepts a correct client afterwards.
import { describe, expect, it } from 'vitest';
import { pskScenario } from './harness/psk-scenario.js';
import { CLIENT_ID, DNS_V4, DNS_V6, isInPool4, isInPool6, jsonMentionsAddress, pskClient, waitForAuthFailureLog, waitForGatewaySaCount } from './harness/scenario.js';

const s = pskScenario({ tag: 'psk' });

describe('IKEv2 PSK', () => {
  it('connects, assigns virtual IPv4 + IPv6 from the pools and pushes DNS', async () => {
    s.check();
    await s.client.configure(pskClient(s.topo.gw.wanV4, s.secret));
    const res = await s.client.initiate();
    expect(res.ok, `${s.client.describe(res)}\n${s.gw.describe()}`).toBe(true);
    const sa = res.sa;
    if (!sa) throw new Error('no IKE_SA on the client');
    expect(sa.state).toBe('ESTABLISHED');
    expect(sa.localId).toBe(CLIENT_ID);
    expect(sa.remoteId).toBe('gw.example.org');
    expect(sa.remoteHost).toBe(s.topo.gw.wanV4);
    expect(res.log).toMatch(/authentication of 'gw\.example\.org' with pre-shared key successful/);

    const v4 = sa.localVips.filter(isInPool4);
    const v6 = sa.localVips.filter(isInPool6);
    expect(v4, `local-vips: ${sa.localVips.join(' ')}`).toHaveLength(1);
    expect(v6, `local-vips: ${sa.localVips.join(' ')}`).toHaveLength(1);
    const child = sa.childSas[0];
    expect(child?.state).toBe('INSTALLED');
    expect(child?.protocol).toBe('ESP');
    expect(child?.mode).toBe('TUNNEL');
    expect(child?.localTs.sort()).toEqual([`${v4[0]}/32`, `${v6[0]}/128`].sort());
    expect(child?.remoteTs).toEqual(['0.0.0.0/0', '::/0']);
    // strongSwan's resolve plugin wrote what the CP reply carried
    expect(s.client.dnsServers().sort()).toEqual([DNS_V4, DNS_V6].sort());
    // the client installed its virtual IPs
    const addrs = await s.topo.exec(s.client.node.ns, ['ip', '-o', 'addr', 'show']);
    expect(addrs.stdout).toContain(`${v4[0]}/32`);
    expect(addrs.stdout).toContain(`${v6[0]}/128`);

    const gwSas = await s.gw.listSas();
    expect(gwSas).toHaveLength(1);
    const text = JSON.stringify(gwSas[0]);
    expect(jsonMentionsAddress(text, v4[0] ?? 'none'), text).toBe(true);
    expect(jsonMentionsAddress(text, v6[0] ?? 'none'), text).toBe(true);
    expect(text).toContain(CLIENT_ID);

    // a DELETE from the client removes the IKE_SA on the gateway
    await s.client.terminate();
    expect(await s.client.listSas()).toHaveLength(0);
    await waitForGatewaySaCount(s.gw, 0);
  });

  it('rejects a wrong PSK with AUTHENTICATION_FAILED, keeps running, then accepts a good client', async () => {
    s.check();
    await s.client.configure(pskClient(s.topo.gw.wanV4, `${s.secret}-wrong`));
    const bad = await s.client.initiate({ timeoutSec: 20 });
    expect(bad.ok, s.client.describe(bad)).toBe(false);
    expect(bad.log).toMatch(/received AUTHENTICATION_FAILED notify error/);
    expect(bad.sas).toHaveLength(0);

    expect(s.gw.isRunning(), s.gw.describe()).toBe(true);
    const line = await waitForAuthFailureLog(s.gw);
    expect(line).toBeDefined();
    await waitForGatewaySaCount(s.gw, 0);

    await s.client.configure(pskClient(s.topo.gw.wanV4, s.secret));
    const good = await s.client.initiate();
    expect(good.ok, `${s.client.describe(good)}\n${s.gw.describe()}`).toBe(true);
    expect(good.sa?.state).toBe('ESTABLISHED');
    expect(good.sa?.localVips.filter(isInPool4)).toHaveLength(1);
    await waitForGatewaySaCount(s.gw, 1);
  });
});
