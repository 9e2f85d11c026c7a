// MOBIKE (RFC 4555) with a real strongSwan client: the client gets a second address on its
// link, loses the first one (promote_secondaries keeps the second), and its charon re-homes
// the IKE_SA with INFORMATIONAL { N(UPDATE_SA_ADDRESSES), N(NATD_*) }. Afterwards both ends
// show the new address with the same IKE and ESP SPIs.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology, nsExec } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, pskClient, randomSecret, waitForGatewaySaCount } from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
/** The client's second address on the same link (the topology gives it 192.0.2.11). */
const MOVED_V4 = '192.0.2.111';
let topo: Topology;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'mobike', clients: 1 });
    const node = topo.clients[0];
    if (!node) throw new Error('topology has no client');
    // Deleting the primary address must promote the secondary, not flush it (testbed.md).
    await nsExec(node.ns, ['sysctl', '-qw', 'net.ipv4.conf.all.promote_secondaries=1']);
    await nsExec(node.ns, ['sysctl', '-qw', 'net.ipv4.conf.wan0.promote_secondaries=1']);
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

type Json = Record<string, unknown>;
const child = (sa: Json | undefined) => ((sa?.children as Json[] | undefined) ?? [])[0] ?? {};

/** [spi-out, spi-in] of every CHILD_SA in `swanctl --list-sas --raw` output. */
function clientSpis(raw: unknown): string[][] {
  const found: string[][] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o['spi-in'] === 'string') {
      found.push([String(o['spi-out']), o['spi-in']]);
      return;
    }
    for (const x of Object.values(o)) walk(x);
  };
  walk(raw);
  return found;
}

describe('MOBIKE', () => {
  it('the client moves to a new address; the gateway follows with the same SPIs', async () => {
    setup.check();
    const node = topo.clients[0]!;
    await client.configure(pskClient(topo.gw.wanV4, SECRET));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
    expect(res.log).toMatch(/IKE_AUTH response 1 \[.*N\(MOBIKE_SUP\)/);
    const [before] = await waitForGatewaySaCount(gw, 1);
    const spisBefore = { ike: [before!.ispi, before!.rspi], child: [child(before).spiIn, child(before).spiOut] };
    expect(String(before!.remote)).toContain(node.v4);

    // The client re-homes: second address on, first address off.
    await nsExec(node.ns, ['ip', 'addr', 'add', `${MOVED_V4}/24`, 'dev', 'wan0']);
    await nsExec(node.ns, ['ip', 'addr', 'del', `${node.v4}/24`, 'dev', 'wan0']);

    await gw.waitForLog('MOBIKE update', (l) => String(l.msg).includes('MOBIKE UPDATE_SA_ADDRESSES') && String(l.msg).includes(MOVED_V4), 20_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${client.describe()}\n${gw.describe()}`);
    });
    expect(client.log()).toMatch(/generating INFORMATIONAL request \d+ \[ N\(UPD_SA_ADDR\)/);

    // The gateway moved the CHILD_SA with its SPIs unchanged.
    const [spiIn, spiOut] = spisBefore.child.map(String);
    expect(gw.logText()).toContain(`${spiIn}_i ${spiOut}_o re-installed for 192.0.2.1:4500 === ${MOVED_V4}:4500`);
    const [after] = await waitForGatewaySaCount(gw, 1);
    expect(String(after!.remote)).toContain(MOVED_V4);
    expect([after!.ispi, after!.rspi]).toEqual(spisBefore.ike);

    const deadline = Date.now() + 10_000;
    let sa = (await client.listSas())[0];
    while (Date.now() < deadline && sa?.localHost !== MOVED_V4) {
      await new Promise((r) => setTimeout(r, 200));
      sa = (await client.listSas())[0];
    }
    expect(sa?.localHost).toBe(MOVED_V4);
    expect(sa?.state).toBe('ESTABLISHED');
    // kernel-libipsec cannot update SAs in place, so this client's charon rekeys its CHILD_SA right
    // after the update (child_sa update -> NOT_SUPPORTED). Whatever the SPIs are then, both ends agree.
    await new Promise((r) => setTimeout(r, 1000));
    sa = (await client.listSas())[0];
    const [now] = await waitForGatewaySaCount(gw, 1);
    expect(clientSpis(sa?.raw), gw.describe()).toContainEqual([child(now).spiIn, child(now).spiOut]);
    expect(gw.logText()).not.toMatch(/"level":"error"/);
  });
});
