// unique = replace against real strongSwan clients: two clients with the same identity (and
// PSK); when the second one's IKE_SA is established, ikegate deletes the first with an
// INFORMATIONAL Delete that the first client's charon acknowledges.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, pskClient, randomSecret, waitForGatewaySaCount } from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
let topo: Topology;
let gw: Gateway;
let first: StrongswanClient;
let second: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'unique', clients: 2 });
    const [n1, n2] = topo.clients;
    if (!n1 || !n2) throw new Error('topology needs two clients');
    first = await startStrongswanClient({ node: n1, dir: join(topo.workDir, 'c1') });
    second = await startStrongswanClient({ node: n2, dir: join(topo.workDir, 'c2') });
    gw = await startIkegate({
      ns: topo.gw.ns,
      credDir: join(topo.workDir, 'gw'),
      configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }] }).replace('    version = 2\n', '    version = 2\n    unique = replace\n'),
    });
  }),
);

afterAll(async () => {
  await first?.stop();
  await second?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('unique = replace', () => {
  it('the second IKE_SA of the same identity replaces the first, which is told with a Delete', async () => {
    setup.check();
    // charon sends INITIAL_CONTACT on its first IKE_SA to a peer unless its own `unique` is
    // no/never (ike_auth.c); INITIAL_CONTACT would replace silently. Without it, only the
    // gateway's uniqueness policy acts.
    const conn = pskClient(topo.gw.wanV4, SECRET, { extra: { unique: 'never' } });
    await first.configure(conn);
    const a = await first.initiate();
    expect(a.ok, `${first.describe(a)}\n${gw.describe()}`).toBe(true);
    await second.configure(conn);
    const b = await second.initiate();
    expect(b.ok, `${second.describe(b)}\n${gw.describe()}`).toBe(true);

    await gw.waitForLog('replace', (l) => String(l.msg).includes('uniqueness policy replace: deleting duplicate IKE_SA'), 10_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${gw.describe()}`);
    });
    const sas = await waitForGatewaySaCount(gw, 1, 10_000);
    expect(JSON.stringify(sas[0])).toContain(topo.clients[1]!.v4);
    // The first client received D(IKE) and deleted its IKE_SA.
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await first.listSas()).length > 0) await new Promise((r) => setTimeout(r, 200));
    expect(await first.listSas()).toEqual([]);
    expect(first.log()).toMatch(/parsed INFORMATIONAL request \d+ \[ D \]/);
    // The second keeps its SA and got the address the first had.
    expect((await second.listSas())[0]?.localVips).toEqual(a.sa?.localVips);
  });
});
