// PSK authentication against ikegate with a real strongSwan client (own charon, kernel-libipsec)
// in a network namespace: a good PSK connects and gets virtual IPv4 + IPv6 addresses and DNS
// servers from the pools; a wrong PSK is rejected with AUTHENTICATION_FAILED, the gateway
// keeps running, logs why, and still accepts a correct client afterwards.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import {
  CLIENT_ID, DNS_V4, DNS_V6, FileSetup, gatewayConfig, isInPool4, isInPool6, jsonMentionsAddress, pskClient, randomSecret,
  waitForAuthFailureLog, waitForGatewaySaCount,
} from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
let topo: Topology;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() => setup.run(async () => {
  requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare']);
  topo = await buildTopology({ tag: 'psk', clients: 1 });
  const node = topo.clients[0];
  if (!node) throw new Error('topology has no client');
  client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1') });
  gw = await startIkegate({
    ns: topo.gw.ns,
    credDir: join(topo.workDir, 'gw'),
    configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }] }),
  });
}));

afterEach(async () => {
  await client?.terminate();
});

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('IKEv2 PSK', () => {
  it('connects, assigns virtual IPv4 + IPv6 from the pools and pushes DNS', async () => {
    setup.check();
    await client.configure(pskClient(topo.gw.wanV4, SECRET));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
    const sa = res.sa;
    if (!sa) throw new Error('no IKE_SA on the client');
    expect(sa.state).toBe('ESTABLISHED');
    expect(sa.localId).toBe(CLIENT_ID);
    expect(sa.remoteId).toBe('gw.example.org');
    expect(sa.remoteHost).toBe(topo.gw.wanV4);
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
    expect(client.dnsServers().sort()).toEqual([DNS_V4, DNS_V6].sort());
    // the client installed its virtual IPs
    const addrs = await topo.exec(client.node.ns, ['ip', '-o', 'addr', 'show']);
    expect(addrs.stdout).toContain(`${v4[0]}/32`);
    expect(addrs.stdout).toContain(`${v6[0]}/128`);

    const gwSas = await gw.listSas();
    expect(gwSas).toHaveLength(1);
    const text = JSON.stringify(gwSas[0]);
    expect(jsonMentionsAddress(text, v4[0] ?? 'none'), text).toBe(true);
    expect(jsonMentionsAddress(text, v6[0] ?? 'none'), text).toBe(true);
    expect(text).toContain(CLIENT_ID);

    // a DELETE from the client removes the IKE_SA on the gateway
    await client.terminate();
    expect(await client.listSas()).toHaveLength(0);
    await waitForGatewaySaCount(gw, 0);
  });

  it('rejects a wrong PSK with AUTHENTICATION_FAILED, keeps running, then accepts a good client', async () => {
    setup.check();
    await client.configure(pskClient(topo.gw.wanV4, `${SECRET}-wrong`));
    const bad = await client.initiate({ timeoutSec: 20 });
    expect(bad.ok, client.describe(bad)).toBe(false);
    expect(bad.log).toMatch(/received AUTHENTICATION_FAILED notify error/);
    expect(bad.sas).toHaveLength(0);

    expect(gw.isRunning(), gw.describe()).toBe(true);
    const line = await waitForAuthFailureLog(gw);
    expect(line).toBeDefined();
    await waitForGatewaySaCount(gw, 0);

    await client.configure(pskClient(topo.gw.wanV4, SECRET));
    const good = await client.initiate();
    expect(good.ok, `${client.describe(good)}\n${gw.describe()}`).toBe(true);
    expect(good.sa?.state).toBe('ESTABLISHED');
    expect(good.sa?.localVips.filter(isInPool4)).toHaveLength(1);
    await waitForGatewaySaCount(gw, 1);
  });
});
