// EAP-MSCHAPv2 against ikegate with a real strongSwan client configured like the Windows
// built-in IKEv2 client (field-facts §2.1.3, §2.1.6): IDi is the client's own IP address
// (ID_IPV4_ADDR), no IDr, IKE aes256-sha1-modp1024 (and aes256-sha256-modp1024), ESP
// aes256-sha1; the gateway authenticates with its certificate and opens EAP with an
// EAP-Identity request, then EAP-MSCHAPv2. A wrong password and an unknown user fail cleanly
// (no SA, no lease left: the next login gets the first pool address), the gateway stays up,
// and a DOMAIN\user identity authenticates as the plain user.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_HALF_OPEN_TIMEOUT_S, referenceMode, startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology } from './harness/netns.js';
import type { ClientNode, Topology } from './harness/netns.js';
import { GATEWAY_ID, createPki } from './harness/pki.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import {
  DNS_V4, DNS_V6, FileSetup, eapGatewayConfig, isInPool4, isInPool6, jsonMentionsAddress, mschapv2Client,
  waitForAuthFailureLog, waitForGatewaySaCount,
} from './harness/scenario.js';
import { eapTokens, explainAttempt, ikeAuthMessages, startStrongswanClient } from './harness/strongswan-client.js';
import type { InitiateResult, StrongswanClient } from './harness/strongswan-client.js';

const ALICE = { id: 'alice', secret: 'alice-password' };
const BOB = { id: 'bob', secret: 'bob-Secret-7' };
const DOMAIN_ALICE = 'EXAMPLE\\alice';
/** What the pools hand out first (198.18.0.0/24, 2001:db8:f00d::/120; network address skipped). */
const FIRST_V4 = '198.18.0.1';
const FIRST_V6 = '2001:db8:f00d::1';
const MSCHAPV2_RE = /eap[-_ ]?ms-?chap[-_ ]?v2/i;

let topo: Topology;
let node: ClientNode;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'pki', 'ip', 'nft', 'unshare']);
    topo = await buildTopology({ tag: 'eapms', clients: 1 });
    const n = topo.clients[0];
    if (!n) throw new Error('topology has no client');
    node = n;
    // RSA-2048 like a typical Windows-facing gateway certificate
    const pki = await createPki({
      dir: join(topo.workDir, 'pki'),
      caType: 'rsa',
      rsaBits: 2048,
      gatewayIps: [topo.gw.wanV4, topo.gw.wanV6],
      clients: [],
    });
    const trust = join(topo.workDir, 'client-trust');
    pki.writeTrustDir(trust);
    const gwDir = join(topo.workDir, 'gw');
    pki.writeGatewayCredDir(gwDir);
    client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1'), credDir: trust });
    gw = await startIkegate({
      ns: topo.gw.ns,
      credDir: gwDir,
      configText: eapGatewayConfig({
        method: 'eap-mschapv2',
        // strongSwan looks EAP-MSCHAPv2 secrets up by the whole identity (EXAMPLE\alice); only
        // the reference responder (harness debugging) gets that extra entry. ikegate must map
        // DOMAIN\user to user itself.
        users: referenceMode() === 'strongswan' ? [ALICE, BOB, { id: DOMAIN_ALICE, secret: ALICE.secret }] : [ALICE, BOB],
      }),
    });
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

/** The checks every successful Windows-pattern login must pass; returns the client's VIPs. */
async function expectWindowsPatternLogin(res: InitiateResult, eapId: string): Promise<{ v4: string; v6: string }> {
  const why = explain(res);
  expect(res.ok, why).toBe(true);
  const sa = res.sa;
  if (!sa) throw new Error(`no IKE_SA on the client\n${why}`);
  expect(sa.state).toBe('ESTABLISHED');
  expect(sa.localId).toBe(node.v4);
  expect(sa.remoteId).toBe(GATEWAY_ID);

  // IKE_AUTH request 1: IDi only (the client's IP), no IDr, no AUTH (EAP follows), CP request
  const sent = ikeAuth(res.trace, 'sent');
  const received = ikeAuth(res.trace, 'received');
  const first = sent[0];
  expect(first?.msgId, why).toBe(1);
  expect(first?.payloads, why).toContain('IDi');
  expect(first?.payloads, why).not.toContain('IDr');
  expect(first?.payloads, why).not.toContain('AUTH');
  expect(first?.payloads.find((p) => p.startsWith('CPRQ(')), why).toMatch(/\bADDR\b.*\bADDR6\b/);
  expect(res.attemptLog).toMatch(/IKE_AUTH request 1 \[ IDi (?![^\]]*\bIDr\b)[^\]]*\]/);

  // the gateway's first IKE_AUTH response: its identity, certificate, AUTH and EAP-Identity
  const r1 = received[0];
  expect(r1?.msgId, why).toBe(1);
  for (const p of ['IDr', 'CERT', 'AUTH', 'EAP/REQ/ID']) expect(r1?.payloads, why).toContain(p);
  expect(res.attemptLog).toMatch(new RegExp(`authentication of '${GATEWAY_ID.replace(/\./g, '\\.')}' with RSA\\S* successful`));
  expect(res.attemptLog).toMatch(/using trusted ca certificate "C=XX, O=ikegate interop, CN=ikegate interop CA"/);

  // EAP: Identity first, then the MSCHAPv2 challenge/response and success rounds, EAP-Success
  expect(eapTokens(received), why).toEqual(['EAP/REQ/ID', 'EAP/REQ/MSCHAPV2', 'EAP/REQ/MSCHAPV2', 'EAP/SUCC']);
  expect(eapTokens(sent), why).toEqual(['EAP/RES/ID', 'EAP/RES/MSCHAPV2', 'EAP/RES/MSCHAPV2']);
  const escapedId = eapId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  expect(res.attemptLog).toMatch(new RegExp(`server requested EAP_IDENTITY \\(id 0x[0-9A-Fa-f]+\\), sending '${escapedId}'`));
  expect(res.attemptLog).toMatch(/EAP method EAP_MSCHAPV2 succeeded, MSK established/);
  expect(res.attemptLog).toMatch(new RegExp(`authentication of '${node.v4.replace(/\./g, '\\.')}' \\(myself\\) with EAP\\b`));
  // the gateway's second AUTH, computed from the MSK, verified
  expect(res.attemptLog).toMatch(/authentication of 'gw\.example\.org' with EAP successful/);
  // last round: the client's AUTH (from the MSK), answered with AUTH, CP reply, SA and TS
  const last = sent[sent.length - 1];
  const lastResp = received[received.length - 1];
  expect(last?.payloads, why).toContain('AUTH');
  expect(lastResp?.msgId).toBe(last?.msgId);
  for (const p of ['AUTH', 'SA', 'TSi', 'TSr']) expect(lastResp?.payloads, why).toContain(p);
  expect(lastResp?.payloads.some((p) => p.startsWith('CPRP(')), why).toBe(true);

  // virtual IPs, DNS, the CHILD_SA
  const v4 = sa.localVips.filter(isInPool4);
  const v6 = sa.localVips.filter(isInPool6);
  expect(v4, `local-vips: ${sa.localVips.join(' ')}`).toHaveLength(1);
  expect(v6, `local-vips: ${sa.localVips.join(' ')}`).toHaveLength(1);
  expect(client.dnsServers().sort()).toEqual([DNS_V4, DNS_V6].sort());
  const child = sa.childSas[0];
  expect(child?.state).toBe('INSTALLED');
  expect(child?.protocol).toBe('ESP');
  expect(child?.encrAlg).toBe('AES_CBC');
  expect(child?.encrKeysize).toBe(256);
  expect(child?.integAlg).toBe('HMAC_SHA1_96');
  expect(child?.localTs.sort()).toEqual([`${v4[0]}/32`, `${v6[0]}/128`].sort());

  // the gateway's view: one IKE_SA naming the EAP identity, the method and the leases
  const gwSas = await waitForGatewaySaCount(gw, 1);
  const json = JSON.stringify(gwSas[0]);
  expect(json.toLowerCase(), json).toContain('alice');
  expect(json, json).toMatch(MSCHAPV2_RE);
  expect(jsonMentionsAddress(json, v4[0] ?? 'none'), json).toBe(true);
  expect(jsonMentionsAddress(json, v6[0] ?? 'none'), json).toBe(true);
  return { v4: v4[0] ?? '', v6: v6[0] ?? '' };
}

/** A failed attempt: the client gives up with an EAP failure, nothing is left on either side. */
async function expectCleanFailure(res: InitiateResult, logMark: number): Promise<void> {
  const why = explain(res);
  expect(res.ok, why).toBe(false);
  expect(res.sas, why).toHaveLength(0);
  // the client's own verdict: MSCHAPv2 failure request, EAP-Failure or AUTHENTICATION_FAILED
  expect(res.attemptLog, why).toMatch(
    /EAP-MS-CHAPv2 (verification )?failed|EAP_MSCHAPV2 method failed|EAP method EAP_MSCHAPV2 failed|received EAP_FAILURE|AUTHENTICATION_FAILED/,
  );
  // the EAP conversation still began with EAP-Identity
  expect(eapTokens(ikeAuth(res.trace, 'received'))[0], why).toBe('EAP/REQ/ID');
  expect(gw.isRunning(), gw.describe()).toBe(true);
  await waitForAuthFailureLog(gw, 5000, logMark);
  // ikegate drops the half-open IKE_SA at once; the strongSwan reference only after its
  // half_open_timeout (it ignores the client's INFORMATIONAL N(AUTH_FAILED) mid-IKE_AUTH)
  await waitForGatewaySaCount(gw, 0, gw.kind === 'strongswan' ? (REFERENCE_HALF_OPEN_TIMEOUT_S + 5) * 1000 : 5000);
}

describe('EAP-MSCHAPv2, the Windows pattern', () => {
  it.each([
    { proposal: 'aes256-sha1-modp1024', integ: 'HMAC_SHA1_96', prf: 'PRF_HMAC_SHA1' },
    { proposal: 'aes256-sha256-modp1024', integ: 'HMAC_SHA2_256_128', prf: 'PRF_HMAC_SHA2_256' },
  ])('IDi = own IP, no IDr, $proposal, EAP-Identity then MSCHAPv2: connects with v4+v6 leases', async (p) => {
    setup.check();
    await client.configure(mschapv2Client(topo.gw.wanV4, node.v4, ALICE.id, ALICE.secret, { proposals: [p.proposal] }));
    const res = await client.initiate();
    await expectWindowsPatternLogin(res, ALICE.id);
    expect(res.sa?.encrAlg).toBe('AES_CBC');
    expect(res.sa?.encrKeysize).toBe(256);
    expect(res.sa?.integAlg).toBe(p.integ);
    expect(res.sa?.prfAlg).toBe(p.prf);
    expect(res.sa?.dhGroup).toBe('MODP_1024');

    await client.terminate();
    await waitForGatewaySaCount(gw, 0);
  });

  it('a wrong password, then an unknown user fail cleanly; the next correct login gets the first pool address', async () => {
    setup.check();
    // wrong password for a known user
    await client.configure(mschapv2Client(topo.gw.wanV4, node.v4, ALICE.id, 'not-alices-password'));
    let mark = gw.logLines().length;
    const wrong = await client.initiate({ timeoutSec: 20 });
    await expectCleanFailure(wrong, mark);

    // a user the gateway has no secret for
    await client.configure(mschapv2Client(topo.gw.wanV4, node.v4, 'mallory', 'whatever-password'));
    mark = gw.logLines().length;
    const unknown = await client.initiate({ timeoutSec: 20 });
    await expectCleanFailure(unknown, mark);

    // the gateway is still fine: alice gets in, and no lease leaked from the failures
    await client.configure(mschapv2Client(topo.gw.wanV4, node.v4, ALICE.id, ALICE.secret));
    const good = await client.initiate();
    const vips = await expectWindowsPatternLogin(good, ALICE.id);
    expect(vips.v4).toBe(FIRST_V4);
    expect(vips.v6).toBe(FIRST_V6);
    await client.terminate();
    await waitForGatewaySaCount(gw, 0);
  });

  it('a DOMAIN\\user EAP identity (EXAMPLE\\alice) authenticates as alice', async () => {
    setup.check();
    await client.configure(mschapv2Client(topo.gw.wanV4, node.v4, DOMAIN_ALICE, ALICE.secret));
    const res = await client.initiate();
    await expectWindowsPatternLogin(res, DOMAIN_ALICE);
    await client.terminate();
    await waitForGatewaySaCount(gw, 0);
  });
});
