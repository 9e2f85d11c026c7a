// Self-check of the interop harness: topology, NAT router, PKI and the strongSwan client are
// proven against a strongSwan *reference* responder (never ikegate). If this file fails, the
// scenario failures are the harness's fault, not ikegate's.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startStrongswanResponder } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology, nsExec, pingOnce } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { createPki } from './harness/pki.js';
import type { Pki } from './harness/pki.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import {
  CLIENT_ID, DNS_V4, DNS_V6, FileSetup, certClient, gatewayConfig, isInPool4, isInPool6, pskClient, randomSecret,
} from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

let topo: Topology;
let pki: Pki;
let gw: Gateway | undefined;
const clients: StrongswanClient[] = [];
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'pki', 'ip', 'nft', 'unshare', 'ping']);
    topo = await buildTopology({ tag: 'selfcheck', clients: 1, nat: true });
    pki = await createPki({
      dir: join(topo.workDir, 'pki'),
      caType: 'ecdsa',
      gatewayIps: [topo.gw.wanV4, topo.gw.wanV6],
      clients: [{ name: 'client-ecdsa', id: CLIENT_ID, type: 'ecdsa' }],
    });
  }),
);

afterEach(async () => {
  // never let one test's responder or SAs leak into the next
  await Promise.allSettled(clients.map((c) => c.terminate()));
  await gw?.stop();
  gw = undefined;
});

afterAll(async () => {
  await Promise.allSettled(clients.map((c) => c.stop()));
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('harness self-check (strongSwan reference responder)', () => {
  it('builds a topology whose underlay works (v4, v6, NAT, LAN)', async () => {
    setup.check();
    const c1 = topo.clients[0];
    expect(c1).toBeDefined();
    if (!c1?.v6 || !topo.nat) throw new Error('topology incomplete');
    await pingOnce(c1.ns, topo.gw.wanV4);
    await pingOnce(c1.ns, topo.gw.wanV6);
    await pingOnce(topo.nat.client.ns, topo.gw.wanV4);
    await pingOnce(topo.gw.ns, topo.lan.v4);
    await pingOnce(topo.gw.ns, topo.lan.v6);
    // the gateway has no route into the NAT's inside network: only masquerading makes it work
    const route = await nsExec(topo.gw.ns, ['ip', 'route', 'get', topo.nat.client.v4], { check: false });
    expect(route.code).not.toBe(0);
    const counters = await topo.natCounters();
    expect(counters.masqueraded).toBeGreaterThan(0);
  });

  it('connects a PSK client, gets v4+v6 virtual IPs and DNS, and passes traffic', async () => {
    setup.check();
    const secret = randomSecret();
    const credDir = join(topo.workDir, 'gw-psk');
    gw = await startStrongswanResponder({
      ns: topo.gw.ns,
      credDir,
      configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret }] }),
    });
    const node = topo.clients[0];
    if (!node) throw new Error('no client');
    const client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1') });
    clients.push(client);
    await client.configure(pskClient(topo.gw.wanV4, secret));
    const res = await client.initiate();
    expect(res.ok, client.describe(res)).toBe(true);
    const sa = res.sa;
    expect(sa?.state).toBe('ESTABLISHED');
    expect(sa?.remoteId).toBe('gw.example.org');
    expect(sa?.encrAlg).toBe('AES_GCM_16');
    expect(sa?.prfAlg).toBe('PRF_HMAC_SHA2_384');
    expect(sa?.dhGroup).toBe('ECP_384');
    expect(sa?.localVips.filter(isInPool4)).toHaveLength(1);
    expect(sa?.localVips.filter(isInPool6)).toHaveLength(1);
    expect(sa?.childSas[0]?.state).toBe('INSTALLED');
    expect(sa?.childSas[0]?.remoteTs).toEqual(['0.0.0.0/0', '::/0']);
    // kernel-libipsec fakes NAT detection (on both ends here): UDP encapsulation on 4500
    // even without a NAT. (Against a responder that does not fake, the client shows nat-fake.)
    expect(sa?.natAny).toBe(true);
    expect(sa?.natLocal).toBe(false);
    expect(sa?.remotePort).toBe(4500);
    expect(sa?.childSas[0]?.encap).toBe(true);
    expect(client.dnsServers().sort()).toEqual([DNS_V4, DNS_V6].sort());
    // ESP through the tunnel (both ends use libipsec/TUN) to the LAN host behind the gateway
    await pingOnce(node.ns, topo.lan.v4);
    await pingOnce(node.ns, topo.lan.v6);
    const gwSas = await gw.listSas();
    expect(gwSas).toHaveLength(1);
    expect(JSON.stringify(gwSas[0])).toContain(sa?.localVips[0] ?? 'none');
    await client.terminate();
    expect(await client.listSas()).toHaveLength(0);
    await gw.stop();
    gw = undefined;
  });

  it('rejects a wrong PSK with AUTHENTICATION_FAILED', async () => {
    setup.check();
    const credDir = join(topo.workDir, 'gw-psk2');
    gw = await startStrongswanResponder({
      ns: topo.gw.ns,
      credDir,
      configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: randomSecret() }] }),
    });
    const client = clients[0];
    if (!client) throw new Error('no client');
    await client.configure(pskClient(topo.gw.wanV4, 'definitely-the-wrong-secret'));
    const res = await client.initiate({ timeoutSec: 20 });
    expect(res.ok).toBe(false);
    expect(res.log).toMatch(/received AUTHENTICATION_FAILED notify error/);
    expect(res.sas).toHaveLength(0);
    await gw.stop();
    gw = undefined;
  });

  it('connects an ECDSA certificate client through the NAT router (NAT-T on 4500)', async () => {
    setup.check();
    setup.check();
    if (!topo.nat) throw new Error('no NAT');
    const credDir = join(topo.workDir, 'gw-cert');
    pki.writeGatewayCredDir(credDir);
    gw = await startStrongswanResponder({ ns: topo.gw.ns, credDir, configText: gatewayConfig({ auth: 'pubkey' }) });
    const credC = join(topo.workDir, 'cred-natclient');
    pki.writeClientCredDir('client-ecdsa', credC);
    const client = await startStrongswanClient({ node: topo.nat.client, dir: join(topo.workDir, 'natclient'), credDir: credC });
    clients.push(client);
    const before = await topo.natCounters();
    await client.configure(certClient(topo.gw.wanV4, CLIENT_ID, 'client-ecdsa'));
    const res = await client.initiate();
    expect(res.ok, client.describe(res)).toBe(true);
    expect(res.sa?.natLocal).toBe(true);
    expect(res.sa?.remotePort).toBe(4500);
    expect(res.sa?.remoteId).toBe('gw.example.org');
    expect(res.log).toMatch(/local host is behind NAT/);
    const after = await topo.natCounters();
    expect(after.ike4500).toBeGreaterThan(before.ike4500);
    const gwSas = await gw.listSas();
    expect(gwSas).toHaveLength(1);
    expect(gwSas[0]?.remoteHost).toBe(topo.nat.outsideV4);
    expect(gwSas[0]?.remoteId).toBe(CLIENT_ID);
    await pingOnce(topo.nat.client.ns, topo.lan.v4);
    expect((await topo.natCounters()).esp).toBe(0);
  });
});
