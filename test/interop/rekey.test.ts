// Rekeying against a real strongSwan client (RFC 7296 §1.3.2, §1.3.3, §2.8, §2.17, §2.18): the
// client has short lifetimes (life_time set explicitly, testbed.md: otherwise swanctl deletes and
// re-creates instead of rekeying), rekeys its CHILD_SA with PFS (KE modp2048) and its IKE_SA a
// few times. The gateway must end with exactly one IKE_SA and one CHILD_SA per client, new SPIs,
// the same virtual IP, and the client must stay up. The gateway runs the userspace ESP
// dataplane so that a continuous ping over the tunnel measures the loss across the rekeys.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLevel, startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology, nsExec } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, isInPool4, pskClient, randomSecret, waitForGatewaySaCount } from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
/** Seconds the client stays connected: several CHILD_SA rekeys and at least one IKE_SA rekey. */
const RUN_S = 45;
const MAX_LOSS_PERCENT = 5;

let topo: Topology;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare', 'ping']);
    topo = await buildTopology({ tag: 'rekey', clients: 1 });
    gw = await startIkegate({
      ns: topo.gw.ns,
      credDir: join(topo.workDir, 'gw'),
      dataplane: 'userspace',
      configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }], espProposals: ['aes256gcm16-modp2048', 'aes256gcm16'] }),
    });
    const node = topo.clients[0];
    if (!node) throw new Error('no client node');
    client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1') });
  }),
);

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('rekeying with a strongSwan client', () => {
  it('CHILD_SA rekeys with PFS and IKE_SA rekeys keep one IKE_SA and the tunnel up', async () => {
    setup.check();
    await client.configure(
      pskClient(topo.gw.wanV4, SECRET, {
        vips: ['0.0.0.0'],
        extra: { rekey_time: '20s', over_time: '10s', rand_time: '2s' },
        children: {
          net: { espProposals: ['aes256gcm16-modp2048'], remoteTs: ['0.0.0.0/0'], rekeyTime: '8s', lifeTime: '30s', extra: { rand_time: '2s' } },
        },
      }),
    );
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
    const vip = res.sa?.localVips.find(isInPool4);
    expect(vip).toBeDefined();
    const [first] = await waitForGatewaySaCount(gw, 1);
    const firstJson = JSON.stringify(first);

    // A continuous ping over the tunnel for the whole run (5 per second).
    const count = RUN_S * 5;
    const ping = nsExec(topo.clients[0]!.ns, ['ping', '-n', '-c', String(count), '-i', '0.2', '-W', '2', topo.lan.v4], { check: false, timeoutMs: (RUN_S + 20) * 1000 });
    const r = await ping;
    const output = r.stdout + r.stderr;
    const m = /([\d.]+)% packet loss/.exec(output);
    const loss = m ? Number(m[1]) : 100;

    // The client rekeyed: its log names CHILD_SA and IKE_SA rekeys, and it is still up.
    const log = client.log();
    expect(log, client.describe()).toMatch(/activating CHILD_REKEY task/);
    expect(log, client.describe()).toMatch(/activating IKE_REKEY task/);
    // strongSwan keeps a rekeyed CHILD_SA around (state REKEYED/DELETED) for delete_rekeyed_delay
    // (5 s) after each rekey, and rekeys every 6-8 s here: exactly one must be INSTALLED.
    // A rekey may be under way at this very moment: poll briefly for the settled state.
    const installedOf = (list: typeof sas) => list[0]?.childSas.filter((c) => c.state === 'INSTALLED') ?? [];
    let sas = await client.listSas();
    for (let i = 0; i < 12 && installedOf(sas).length !== 1; i++) {
      await new Promise((r) => setTimeout(r, 250));
      sas = await client.listSas();
    }
    expect(sas, client.describe()).toHaveLength(1);
    expect(sas[0]!.state).toBe('ESTABLISHED');
    const installed = installedOf(sas);
    expect(installed, client.describe()).toHaveLength(1);
    expect(installed[0]!.dhGroup, client.describe()).toMatch(/MODP_2048/);

    // The gateway: exactly one IKE_SA (a new one), the same virtual IP, one CHILD_SA.
    let after = await waitForGatewaySaCount(gw, 1, 15_000);
    for (let i = 0; i < 12 && (after[0]!['children'] as unknown[]).length !== 1; i++) {
      await new Promise((r) => setTimeout(r, 250));
      after = await waitForGatewaySaCount(gw, 1, 15_000);
    }
    const now = after[0]!;
    expect(JSON.stringify(now)).not.toBe(firstJson);
    expect(now['ispi']).not.toBe(first!['ispi']);
    expect(now['vips']).toEqual([vip]);
    expect((now['children'] as unknown[]).length).toBe(1);
    expect(gw.findLog((l) => /established by rekeying/.test(l.msg ?? '')), gw.describe()).toBeDefined();
    expect(gw.findLog((l) => /CHILD_SA .* rekeyed/.test(l.msg ?? '')), gw.describe()).toBeDefined();
    expect(gw.findLog((l) => logLevel(l) >= 50), gw.describe()).toBeUndefined();

    expect(loss, `continuous ping ${topo.lan.v4} during the rekeys\n${output}\n${gw.describe()}`).toBeLessThan(MAX_LOSS_PERCENT);
  });
});
