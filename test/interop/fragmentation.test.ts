// RFC 7383 fragmentation with a real strongSwan client: an IKE_AUTH of about 7 KB (an RSA-4096
// client certificate behind three intermediate CAs that the gateway knows only from the CERT
// payloads) sent with charon.fragment_size = 576, i.e. at least 12 fragments, reassembled by
// ikegate, whose own response (certificate + AUTH) comes back fragmented too.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { createPki } from './harness/pki.js';
import type { Pki } from './harness/pki.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { FileSetup, certClient, gatewayConfig, waitForGatewaySaCount } from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const CLIENT = 'chain-client.example.org';
let topo: Topology;
let pki: Pki;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(
  () =>
    setup.run(async () => {
      requireTools(['charon', 'swanctl', 'pki', 'ip', 'nft', 'unshare']);
      topo = await buildTopology({ tag: 'frag', clients: 1 });
      pki = await createPki({
        dir: join(topo.workDir, 'pki'),
        caType: 'rsa',
        rsaBits: 4096,
        gatewayIps: [topo.gw.wanV4, topo.gw.wanV6],
        clients: [{ name: 'chain', id: CLIENT, type: 'rsa', intermediates: 3 }],
      });
      const node = topo.clients[0];
      if (!node) throw new Error('topology has no client');
      const credDir = join(topo.workDir, 'cred-chain');
      pki.writeClientCredDir('chain', credDir);
      client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1'), credDir });
      // Small IKE fragments, as Windows and some routers force (charon.fragment_size, IP datagram bytes).
      await client.charon.stop();
      await client.charon.start({ charonSettings: { fragment_size: 576 } });
      const gwCred = join(topo.workDir, 'gw');
      pki.writeGatewayCredDir(gwCred); // the root CA only: the intermediates must come in CERT payloads
      gw = await startIkegate({ ns: topo.gw.ns, credDir: gwCred, configText: gatewayConfig({ auth: 'pubkey' }) });
    }),
  180_000,
);

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

describe('IKE fragmentation (RFC 7383)', () => {
  it('a ~7 KB IKE_AUTH in >= 12 fragments of 576 bytes is reassembled; the response is fragmented', async () => {
    setup.check();
    expect(pki.clients.chain!.chain).toHaveLength(3);
    await client.configure(certClient(topo.gw.wanV4, CLIENT, 'chain', { extra: { send_cert: 'always' } }));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
    // The three intermediates travelled in CERT payloads.
    expect((res.log.match(/sending issuer cert/g) ?? []).length, client.describe(res)).toBeGreaterThanOrEqual(3);
    const sent = /generating IKE_AUTH request 1 \[ EF\(1\/(\d+)\) \]/.exec(res.log);
    expect(sent, client.describe(res)).not.toBeNull();
    expect(Number(sent![1])).toBeGreaterThanOrEqual(12);
    const size = /splitting IKE message \((\d+) bytes\) into \d+ fragments/.exec(res.log);
    if (size) expect(Number(size[1])).toBeGreaterThan(6000);
    // Our response came back in fragments as well.
    expect(res.log).toMatch(/parsed IKE_AUTH response 1 \[ EF\(\d+\/\d+\) \]/);
    expect(gw.logText()).toMatch(/sending IKE_AUTH response 1 \[[^\]]*\] in \d+ fragments/);
    expect(gw.logText()).toMatch(/authentication of 'chain-client\.example\.org'/);
    await waitForGatewaySaCount(gw, 1);
    await client.terminate();
  });
});
