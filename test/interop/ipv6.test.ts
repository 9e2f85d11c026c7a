// IKE over IPv6 outer addresses against ikegate: the strongSwan client (2001:db8::b) connects
// to the gateway's 2001:db8::1 and still gets virtual IPv4 + IPv6 addresses.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import {
  CLIENT_ID, DNS_V4, DNS_V6, FileSetup, gatewayConfig, isInPool4, isInPool6, jsonMentionsAddress, pskClient,
  randomSecret, waitForGatewaySaCount,
} from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
let topo: Topology;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'ipv6', clients: 1 });
    const node = topo.clients[0];
    if (!node) throw new Error('topology has no client');
    client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1') });
    gw = await startIkegate({
      ns: topo.gw.ns,
      credDir: join(topo.workDir, 'gw'),
      configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }] }),
    });
  }),
);

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('IKE over IPv6', () => {
  it('connects over IPv6 outer addresses and assigns v4 + v6 virtual IPs', async () => {
    setup.check();
    const node = client.node;
    if (!node.v6) throw new Error('client has no IPv6 address');
    await client.configure(pskClient(topo.gw.wanV6, SECRET, { localAddrs: node.v6 }));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
    const sa = res.sa;
    if (!sa) throw new Error('no IKE_SA on the client');
    expect(sa.state).toBe('ESTABLISHED');
    expect(sa.localHost).toBe(node.v6);
    expect(sa.remoteHost).toBe(topo.gw.wanV6);
    expect(res.log).toMatch(/sending packet: from 2001:db8::b\[500\] to 2001:db8::1\[500\]/);
    expect(sa.localVips.filter(isInPool4)).toHaveLength(1);
    expect(sa.localVips.filter(isInPool6)).toHaveLength(1);
    expect(sa.childSas[0]?.state).toBe('INSTALLED');
    expect(client.dnsServers().sort()).toEqual([DNS_V4, DNS_V6].sort());

    const sas = await waitForGatewaySaCount(gw, 1);
    const text = JSON.stringify(sas[0]);
    expect(jsonMentionsAddress(text, node.v6), text).toBe(true);

    await client.terminate();
    await waitForGatewaySaCount(gw, 0);
  });
});
