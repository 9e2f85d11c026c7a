// Real ESP through ikegate's userspace dataplane (src/esp): strongSwan clients with
// kernel-libipsec (ESP in their own TUN device ipsec0, always UDP-encapsulated) connect to
// ikegate running `dataplane = userspace` and ping the LAN host behind the gateway
// (203.0.113.2, 2001:db8:cafe::2) over IPv4 and IPv6 inner packets — once directly, once from
// behind the masquerading NAT router. The host kernel has no ESP (testbed.md), so every
// packet crosses src/esp twice (decapsulate towards the LAN, encapsulate towards the client).
//
// Needs the engine wiring: `dataplane = userspace` selects UserspaceDataplane.open(), the engine
// forces UDP encapsulation (requiresUdpEncapsulation) and UdpTransport.onEsp → receiveEsp.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology, nsExec } from './harness/netns.js';
import type { ClientNode, Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, isInPool4, isInPool6, pskClient, randomSecret, waitForGatewaySaCount } from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
const PINGS = 20;
const MAX_LOSS_PERCENT = 5;

let topo: Topology;
let gw: Gateway;
const clients: StrongswanClient[] = [];
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare', 'ping']);
    topo = await buildTopology({ tag: 'uesp', clients: 1, nat: true });
    gw = await startIkegate({
      ns: topo.gw.ns,
      credDir: join(topo.workDir, 'gw'),
      dataplane: 'userspace',
      configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }] }),
    });
  }),
);

afterAll(async () => {
  for (const c of clients) await c.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

/** `ping -c N` from a namespace; returns the loss in percent and ping's output. */
async function pingLoss(ns: string, address: string): Promise<{ loss: number; output: string }> {
  const r = await nsExec(ns, ['ping', '-n', '-c', String(PINGS), '-i', '0.2', '-W', '2', address], { check: false, timeoutMs: 60_000 });
  const output = r.stdout + r.stderr;
  const m = /([\d.]+)% packet loss/.exec(output);
  return { loss: m ? Number(m[1]) : 100, output };
}

async function connectAndPing(node: ClientNode, dir: string): Promise<void> {
  const client = await startStrongswanClient({ node, dir: join(topo.workDir, dir) });
  clients.push(client);
  await client.configure(pskClient(topo.gw.wanV4, SECRET));
  const res = await client.initiate();
  expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
  const sa = res.sa;
  if (!sa) throw new Error('no IKE_SA on the client');
  expect(sa.state).toBe('ESTABLISHED');
  // ESP-in-UDP on 4500 both ways (kernel-libipsec forces it; the gateway must accept it).
  expect(sa.remotePort).toBe(4500);
  expect(sa.childSas[0]?.encap).toBe(true);
  expect(sa.localVips.filter(isInPool4)).toHaveLength(1);
  expect(sa.localVips.filter(isInPool6)).toHaveLength(1);

  // Through the tunnel: client VIP -> ESP-in-UDP -> src/esp -> gateway's TUN -> LAN, and back.
  for (const target of [topo.lan.v4, topo.lan.v6]) {
    const ping = await pingLoss(node.ns, target);
    expect(ping.loss, `ping ${target} from ${node.label}\n${ping.output}\n${gw.describe()}`).toBeLessThan(MAX_LOSS_PERCENT);
  }

  // `ikegate list-sas` reports the CHILD_SA's traffic from the dataplane: 2 × PINGS echoes each way.
  const [listed] = await gw.listSas();
  const child = (listed?.['children'] as { usageIn?: { packets: number; bytes: number; lastUse?: number }; usageOut?: { packets: number } }[] | undefined)?.[0];
  expect(child?.usageIn?.packets, JSON.stringify(listed)).toBeGreaterThanOrEqual(2 * PINGS * 0.95);
  expect(child?.usageOut?.packets, JSON.stringify(listed)).toBeGreaterThanOrEqual(2 * PINGS * 0.95);
  expect(child?.usageIn?.bytes).toBeGreaterThan(0);
  expect(child?.usageIn?.lastUse).toBeGreaterThan(Date.now() - 60_000);

  await client.terminate();
  await waitForGatewaySaCount(gw, 0);
}

describe('userspace ESP dataplane (dataplane = userspace)', () => {
  it('the gateway runs the userspace dataplane', () => {
    setup.check();
    const ready = gw.findLog((l) => l.msg === 'ikegate ready');
    expect(JSON.stringify(ready), gw.describe()).toMatch(/"dataplane":"userspace"/);
  });

  it('a directly attached kernel-libipsec client pings the LAN host over IPv4 and IPv6 inner packets', async () => {
    setup.check();
    const node = topo.clients.find((c) => !c.behindNat);
    if (!node) throw new Error('topology has no direct client');
    // Before connecting, the LAN is unreachable from the client (no route).
    const before = await nsExec(node.ns, ['ping', '-n', '-c', '1', '-W', '1', topo.lan.v4], { check: false });
    expect(before.code).not.toBe(0);
    await connectAndPing(node, 'c1');
  });

  it('a client behind the masquerading NAT pings the LAN host over IPv4 and IPv6 inner packets', async () => {
    setup.check();
    const nat = topo.nat;
    if (!nat) throw new Error('topology has no NAT router');
    const before = await topo.natCounters();
    await connectAndPing(nat.client, 'natclient');
    const after = await topo.natCounters();
    expect(after.esp - before.esp).toBe(0); // nothing but ESP-in-UDP crossed the NAT
    // The echo requests (v4 and v6 inner) crossed as UDP to port 4500 (replies go to the NAT's mapped port).
    expect(after.ike4500 - before.ike4500).toBeGreaterThanOrEqual(2 * PINGS);
  });
});
