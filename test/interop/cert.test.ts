// Certificate authentication against ikegate with a real strongSwan client: RSA both ways
// (RSA-3072 CA, gateway and client), ECDSA P-256 both ways, and a client certificate from an
// untrusted CA, which must be rejected with AUTHENTICATION_FAILED while the gateway stays up.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { createPki } from './harness/pki.js';
import type { Pki } from './harness/pki.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import {
  FileSetup, certClient, gatewayConfig, isInPool4, isInPool6, waitForAuthFailureLog, waitForGatewaySaCount,
} from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const RSA_CLIENT = 'rsa-client.example.org';
const ECDSA_CLIENT = 'ecdsa-client.example.org';
const ROGUE_CLIENT = 'rogue-client.example.org';

let topo: Topology;
let rsa: Pki;
let ecdsa: Pki;
let gw: Gateway | undefined;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'pki', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'cert', clients: 1 });
    const gatewayIps = [topo.gw.wanV4, topo.gw.wanV6];
    [rsa, ecdsa] = await Promise.all([
      createPki({
        dir: join(topo.workDir, 'pki-rsa'),
        caType: 'rsa',
        gatewayIps,
        clients: [{ name: 'client-rsa', id: RSA_CLIENT, type: 'rsa' }],
      }),
      createPki({
        dir: join(topo.workDir, 'pki-ecdsa'),
        caType: 'ecdsa',
        gatewayIps,
        clients: [
          { name: 'client-ecdsa', id: ECDSA_CLIENT, type: 'ecdsa' },
          { name: 'client-rogue', id: ROGUE_CLIENT, type: 'ecdsa', untrusted: true },
        ],
      }),
    ]);
    const node = topo.clients[0];
    if (!node) throw new Error('topology has no client');
    client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1') });
  }),
);

afterEach(async () => {
  await client?.terminate();
  await gw?.stop();
  gw = undefined;
});

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

async function startGateway(pki: Pki, name: string): Promise<Gateway> {
  const credDir = join(topo.workDir, name);
  pki.writeGatewayCredDir(credDir);
  gw = await startIkegate({ ns: topo.gw.ns, credDir, configText: gatewayConfig({ auth: 'pubkey' }) });
  return gw;
}

function useClientCert(pki: Pki, certName: string): void {
  const dir = join(topo.workDir, `cred-${certName}`);
  pki.writeClientCredDir(certName, dir);
  client.useCredentials(dir);
}

describe('IKEv2 certificate authentication', () => {
  it('RSA certificates both ways', async () => {
    setup.check();
    const g = await startGateway(rsa, 'gw-rsa');
    useClientCert(rsa, 'client-rsa');
    await client.configure(certClient(topo.gw.wanV4, RSA_CLIENT, 'client-rsa'));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${g.describe()}`).toBe(true);
    expect(res.sa?.state).toBe('ESTABLISHED');
    expect(res.sa?.remoteId).toBe('gw.example.org');
    // the client verified the gateway's RSA signature with the gateway certificate
    expect(res.log).toMatch(/authentication of 'gw\.example\.org' with RSA\S* successful/);
    expect(res.log).toMatch(/authentication of 'rsa-client\.example\.org' \(myself\) with RSA\S* successful/);
    expect(res.log).toMatch(/using trusted ca certificate "C=XX, O=ikegate interop, CN=ikegate interop CA"/);
    expect(res.sa?.localVips.filter(isInPool4)).toHaveLength(1);
    expect(res.sa?.localVips.filter(isInPool6)).toHaveLength(1);
    const gwSas = await g.listSas();
    expect(gwSas).toHaveLength(1);
    expect(JSON.stringify(gwSas[0])).toContain(RSA_CLIENT);
  });

  it('ECDSA certificates both ways', async () => {
    setup.check();
    const g = await startGateway(ecdsa, 'gw-ecdsa');
    useClientCert(ecdsa, 'client-ecdsa');
    await client.configure(certClient(topo.gw.wanV4, ECDSA_CLIENT, 'client-ecdsa'));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${g.describe()}`).toBe(true);
    expect(res.sa?.state).toBe('ESTABLISHED');
    expect(res.sa?.remoteId).toBe('gw.example.org');
    expect(res.log).toMatch(/authentication of 'gw\.example\.org' with ECDSA\S* successful/);
    expect(res.log).toMatch(/authentication of 'ecdsa-client\.example\.org' \(myself\) with ECDSA\S* successful/);
    const gwSas = await g.listSas();
    expect(gwSas).toHaveLength(1);
    expect(JSON.stringify(gwSas[0])).toContain(ECDSA_CLIENT);
  });

  it('rejects a client certificate from an untrusted CA with AUTHENTICATION_FAILED and stays up', async () => {
    setup.check();
    const g = await startGateway(ecdsa, 'gw-ecdsa-2');
    useClientCert(ecdsa, 'client-rogue');
    await client.configure(certClient(topo.gw.wanV4, ROGUE_CLIENT, 'client-rogue'));
    const bad = await client.initiate({ timeoutSec: 20 });
    expect(bad.ok, client.describe(bad)).toBe(false);
    expect(bad.log).toMatch(/received AUTHENTICATION_FAILED notify error/);
    expect(bad.sas).toHaveLength(0);
    expect(g.isRunning(), g.describe()).toBe(true);
    await waitForAuthFailureLog(g);
    await waitForGatewaySaCount(g, 0);

    // a client with a trusted certificate still gets in
    useClientCert(ecdsa, 'client-ecdsa');
    await client.configure(certClient(topo.gw.wanV4, ECDSA_CLIENT, 'client-ecdsa'));
    const good = await client.initiate();
    expect(good.ok, `${client.describe(good)}\n${g.describe()}`).toBe(true);
    await waitForGatewaySaCount(g, 1);
  });
});
