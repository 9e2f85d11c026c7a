// Dead peer detection against a real strongSwan client: the client's charon is killed with
// SIGKILL (no Delete), and ikegate removes the vanished client's IKE_SA, lease and CHILD_SA
// within dpd_delay plus the retransmission schedule of `ikegate { retransmit_* }`.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GW_WAN_V4, GW_WAN_V6, buildTopology } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { run, stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, pskClient, randomSecret, waitForGatewaySaCount } from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
let topo: Topology;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

/** dpd_delay 2 s; retransmits after 1 s and 2 s more, gives up 4 s later: gone within ~9 s. */
function config(credDir: string): string {
  return `ikegate {
  listen = ${GW_WAN_V4}, ${GW_WAN_V6}
  state_dir = ${join(credDir, 'state')}
  control_socket = ${join(credDir, 'ikegate.sock')}
  log_level = debug
  dataplane = memory
  retransmit_timeout = 1
  retransmit_tries = 2
  retransmit_base = 2
}
${gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }] }).replace('    version = 2\n', '    version = 2\n    dpd_delay = 2s\n')}`;
}

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'dpd', clients: 1 });
    const node = topo.clients[0];
    if (!node) throw new Error('topology has no client');
    client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1') });
    const credDir = join(topo.workDir, 'gw');
    gw = await startIkegate({ ns: topo.gw.ns, credDir, configText: config(credDir) });
  }),
);

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('dead peer detection', () => {
  it('a client that answers stays; a client whose charon was SIGKILLed is removed within the schedule', async () => {
    setup.check();
    await client.configure(pskClient(topo.gw.wanV4, SECRET));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
    await waitForGatewaySaCount(gw, 1);
    // Idle for several dpd_delays: the live client answers every check.
    await new Promise((r) => setTimeout(r, 6000));
    expect(await gw.listSas()).toHaveLength(1);
    expect(gw.logText()).toMatch(/INFORMATIONAL request 0 \[ \]/);

    // Kill the client's charon without a Delete.
    const pids = await run(['ip', 'netns', 'pids', topo.clients[0]!.ns], { check: false });
    for (const p of pids.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s))) process.kill(Number(p), 'SIGKILL');
    const killedAt = Date.now();
    await gw.waitForLog('dead peer detected', (l) => String(l.msg).includes('is dead: no answer to the liveness check'), 20_000);
    const sas = await waitForGatewaySaCount(gw, 0, 5000);
    expect(sas).toEqual([]);
    // dpd_delay (2 s) + 1 + 2 + 4 s of retransmissions, with a second of slack per step.
    expect(Date.now() - killedAt).toBeLessThan(15_000);
  });
});
