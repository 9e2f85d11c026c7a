// Address pools against ikegate: two strongSwan clients (own namespaces, own identities and
// PSKs) connect at the same time and must get different virtual IPv4 and IPv6 leases and the
// DNS servers; the gateway's `list-sas --json` shows both IKE_SAs with their virtual IPs.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import {
  DNS_V4, DNS_V6, FileSetup, gatewayConfig, isInPool4, isInPool6, jsonMentionsAddress, pskClient, randomSecret, waitForGatewaySaCount,
} from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const USERS = [
  { id: 'alice.example.org', secret: randomSecret() },
  { id: 'bob.example.org', secret: randomSecret() },
];
let topo: Topology;
let gw: Gateway;
const clients: StrongswanClient[] = [];
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'leases', clients: 2 });
    for (const node of topo.clients) {
      clients.push(await startStrongswanClient({ node, dir: join(topo.workDir, node.label) }));
    }
    gw = await startIkegate({
      ns: topo.gw.ns,
      credDir: join(topo.workDir, 'gw'),
      configText: gatewayConfig({ auth: 'psk', psks: USERS }),
    });
  }),
);

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.stop()));
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('virtual IP leases', () => {
  it('gives two simultaneous clients different IPv4 and IPv6 leases and DNS', async () => {
    setup.check();
    await Promise.all(
      clients.map((c, i) => {
        const u = USERS[i];
        if (!u) throw new Error('user missing');
        return c.configure(pskClient(topo.gw.wanV4, u.secret, { local: { auth: 'psk', id: u.id }, secrets: [{ type: 'ike', ids: [u.id, 'gw.example.org'], secret: u.secret }] }));
      }),
    );
    const results = await Promise.all(clients.map((c) => c.initiate()));
    results.forEach((r, i) => {
      const c = clients[i];
      expect(r.ok, `${c?.describe(r)}\n${gw.describe()}`).toBe(true);
      expect(r.sa?.localId).toBe(USERS[i]?.id);
    });

    const v4 = results.map((r) => r.sa?.localVips.filter(isInPool4) ?? []);
    const v6 = results.map((r) => r.sa?.localVips.filter(isInPool6) ?? []);
    for (const l of [...v4, ...v6]) expect(l).toHaveLength(1);
    const [a4, b4] = v4.map((l) => l[0] ?? '');
    const [a6, b6] = v6.map((l) => l[0] ?? '');
    expect(a4).not.toBe(b4);
    expect(a6).not.toBe(b6);
    for (const c of clients) expect(c.dnsServers().sort()).toEqual([DNS_V4, DNS_V6].sort());

    // the gateway's view: two IKE_SAs, each with the virtual IPs of one client
    const sas = await waitForGatewaySaCount(gw, 2);
    const texts = sas.map((s) => JSON.stringify(s));
    for (let i = 0; i < 2; i++) {
      const mine = texts.filter((t) => jsonMentionsAddress(t, v4[i]?.[0] ?? 'none'));
      expect(mine, `IKE_SAs listing ${v4[i]?.[0]}: ${texts.join('\n')}`).toHaveLength(1);
      expect(jsonMentionsAddress(mine[0] ?? '', v6[i]?.[0] ?? 'none'), mine[0]).toBe(true);
      expect(mine[0]).toContain(USERS[i]?.id ?? 'none');
    }

    // leases are released with the SAs
    await Promise.all(clients.map((c) => c.terminate()));
    await waitForGatewaySaCount(gw, 0);
  });
});
