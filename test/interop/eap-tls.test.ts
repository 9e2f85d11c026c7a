// EAP-TLS against ikegate with a real strongSwan client: the gateway authenticates with its
// certificate (IKE AUTH) and opens EAP with EAP-Identity, then EAP-TLS; the client proves
// itself with a client certificate (clientAuth EKU, subjectAltName = its EAP identity) from
// the test CA, RSA and ECDSA. A client certificate from an untrusted CA is rejected, the
// gateway stays up and still accepts a good client afterwards.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_HALF_OPEN_TIMEOUT_S, startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { ClientNode, Topology } from './harness/netns.js';
import { GATEWAY_ID, createPki } from './harness/pki.js';
import type { Pki } from './harness/pki.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import {
  FileSetup, eapGatewayConfig, eapTlsClient, isInPool4, isInPool6, jsonMentionsAddress, waitForAuthFailureLog,
  waitForGatewaySaCount,
} from './harness/scenario.js';
import { eapTokens, explainAttempt, ikeAuthMessages, startStrongswanClient } from './harness/strongswan-client.js';
import type { InitiateResult, StrongswanClient } from './harness/strongswan-client.js';

/** EAP identities = the certificates' subjectAltNames (rfc822Name and dNSName). */
const RSA_USER = 'carol@example.org';
const ECDSA_USER = 'dave.example.org';
const ROGUE_USER = 'mallory@example.org';
const EAP_TLS_RE = /eap[-_ ]?tls/i;

let topo: Topology;
let node: ClientNode;
let pki: Pki;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'pki', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'eaptls', clients: 1 });
    const n = topo.clients[0];
    if (!n) throw new Error('topology has no client');
    node = n;
    pki = await createPki({
      dir: join(topo.workDir, 'pki'),
      caType: 'rsa',
      rsaBits: 2048,
      gatewayIps: [topo.gw.wanV4, topo.gw.wanV6],
      clients: [
        { name: 'carol', id: RSA_USER, type: 'rsa' },
        { name: 'dave', id: ECDSA_USER, type: 'ecdsa' },
        { name: 'mallory', id: ROGUE_USER, type: 'ecdsa', untrusted: true },
      ],
    });
    const gwDir = join(topo.workDir, 'gw');
    pki.writeGatewayCredDir(gwDir);
    // tls: 2 shows the TLS version and suites the client offers and negotiates
    client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1'), logLevels: { tls: 2 } });
    gw = await startIkegate({ ns: topo.gw.ns, credDir: gwDir, configText: eapGatewayConfig({ method: 'eap-tls' }) });
  }),
);

afterEach(async () => {
  await client?.terminate();
});

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

const explain = (res: InitiateResult): string => explainAttempt(client, gw, res);
const ikeAuth = ikeAuthMessages;

/** Loads certificate x509/<certName>.pem (plus the trusted CA) into the client and configures it. */
async function configureUser(certName: string, eapId: string): Promise<void> {
  const dir = join(topo.workDir, `cred-${certName}`);
  pki.writeClientCredDir(certName, dir);
  client.useCredentials(dir);
  await client.configure(eapTlsClient(topo.gw.wanV4, node.v4, eapId, certName));
}

async function expectEapTlsLogin(res: InitiateResult, eapId: string, keyType: 'RSA' | 'ECDSA'): Promise<void> {
  const why = explain(res);
  expect(res.ok, why).toBe(true);
  const sa = res.sa;
  if (!sa) throw new Error(`no IKE_SA on the client\n${why}`);
  expect(sa.state).toBe('ESTABLISHED');
  expect(sa.localId).toBe(node.v4);
  expect(sa.remoteId).toBe(GATEWAY_ID);

  const sent = ikeAuth(res.trace, 'sent');
  const received = ikeAuth(res.trace, 'received');
  expect(sent[0]?.payloads, why).toContain('IDi');
  expect(sent[0]?.payloads, why).not.toContain('IDr');
  expect(sent[0]?.payloads, why).not.toContain('AUTH');
  for (const p of ['IDr', 'CERT', 'AUTH', 'EAP/REQ/ID']) expect(received[0]?.payloads, why).toContain(p);
  expect(res.attemptLog).toMatch(/authentication of 'gw\.example\.org' with RSA\S* successful/);

  // EAP-Identity first, then EAP-TLS rounds, then EAP-Success
  const fromGw = eapTokens(received);
  const fromClient = eapTokens(sent);
  expect(fromGw[0], why).toBe('EAP/REQ/ID');
  expect(fromGw.at(-1), why).toBe('EAP/SUCC');
  const tlsRounds = fromGw.slice(1, -1);
  expect(tlsRounds.length, why).toBeGreaterThanOrEqual(2);
  for (const t of tlsRounds) expect(t, why).toBe('EAP/REQ/TLS');
  expect(fromClient[0], why).toBe('EAP/RES/ID');
  for (const t of fromClient.slice(1)) expect(t, why).toBe('EAP/RES/TLS');
  const escapedId = eapId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expect(res.attemptLog).toMatch(new RegExp(`server requested EAP_IDENTITY \\(id 0x[0-9A-Fa-f]+\\), sending '${escapedId}'`));
  expect(res.attemptLog).toMatch(/server requested EAP_TLS authentication/);
  // inside TLS the client checked the gateway's certificate against the test CA
  expect(res.attemptLog).toMatch(/using trusted ca certificate "C=XX, O=ikegate interop, CN=ikegate interop CA"/);
  expect(res.attemptLog).toMatch(/EAP method EAP_TLS succeeded, MSK established/);
  expect(res.attemptLog).toMatch(/authentication of 'gw\.example\.org' with EAP successful/);
  // strongSwan 5.9.8 speaks TLS 1.2 only (charon.tls.version_min = version_max = 1.2)
  expect(res.attemptLog, why).toMatch(/negotiated TLS 1\.2 using suite TLS_\S+/);
  expect(res.attemptLog, why).toMatch(/received TLS server certificate 'C=XX, O=ikegate interop, CN=gw\.example\.org'/);
  expect(res.attemptLog, why).toMatch(new RegExp(`sending TLS client certificate 'C=XX, O=ikegate interop, CN=${escapedId}'`));
  expect(res.attemptLog, why).toMatch(new RegExp(`created signature with ${keyType}_`));

  const v4 = sa.localVips.filter(isInPool4);
  const v6 = sa.localVips.filter(isInPool6);
  expect(v4, `local-vips: ${sa.localVips.join(' ')}`).toHaveLength(1);
  expect(v6, `local-vips: ${sa.localVips.join(' ')}`).toHaveLength(1);
  expect(sa.childSas[0]?.state).toBe('INSTALLED');

  const gwSas = await waitForGatewaySaCount(gw, 1);
  const json = JSON.stringify(gwSas[0]);
  expect(json, json).toContain(eapId);
  expect(json, json).toMatch(EAP_TLS_RE);
  expect(jsonMentionsAddress(json, v4[0] ?? 'none'), json).toBe(true);
  expect(jsonMentionsAddress(json, v6[0] ?? 'none'), json).toBe(true);
}

describe('EAP-TLS', () => {
  it('an RSA client certificate (SAN rfc822Name = EAP identity) connects with v4+v6 leases', async () => {
    setup.check();
    await configureUser('carol', RSA_USER);
    const res = await client.initiate();
    await expectEapTlsLogin(res, RSA_USER, 'RSA');
    await client.terminate();
    await waitForGatewaySaCount(gw, 0);
  });

  it('an ECDSA client certificate (SAN dNSName = EAP identity) connects with v4+v6 leases', async () => {
    setup.check();
    await configureUser('dave', ECDSA_USER);
    const res = await client.initiate();
    await expectEapTlsLogin(res, ECDSA_USER, 'ECDSA');
    await client.terminate();
    await waitForGatewaySaCount(gw, 0);
  });

  it('rejects a client certificate from an untrusted CA; the gateway stays up and serves the next client', async () => {
    setup.check();
    await configureUser('mallory', ROGUE_USER);
    const mark = gw.logLines().length;
    const bad = await client.initiate({ timeoutSec: 20 });
    const why = explain(bad);
    expect(bad.ok, why).toBe(false);
    expect(bad.sas, why).toHaveLength(0);
    // the client's view: a TLS alert from the gateway and/or EAP-Failure, then it gives up
    // (strongSwan then sends INFORMATIONAL N(AUTH_FAILED) itself)
    expect(bad.attemptLog, why).toMatch(/EAP_TLS method failed|EAP method EAP_TLS failed|received EAP_FAILURE|AUTHENTICATION_FAILED/);
    expect(bad.attemptLog, why).toMatch(/sending TLS client certificate 'C=XX, O=ikegate interop, CN=mallory@example\.org'/);
    expect(bad.attemptLog, why).not.toMatch(/EAP method EAP_TLS succeeded/);
    expect(eapTokens(ikeAuth(bad.trace, 'received'))[0], why).toBe('EAP/REQ/ID');
    expect(gw.isRunning(), gw.describe()).toBe(true);
    await waitForAuthFailureLog(gw, 5000, mark);
    await waitForGatewaySaCount(gw, 0, gw.kind === 'strongswan' ? (REFERENCE_HALF_OPEN_TIMEOUT_S + 5) * 1000 : 5000);

    await configureUser('dave', ECDSA_USER);
    const good = await client.initiate();
    await expectEapTlsLogin(good, ECDSA_USER, 'ECDSA');
  });
});
