// `ikegate run` without --config: the embedded default configuration (src/config/default.ts)
// in an empty state directory, against real strongSwan clients. The first start creates a CA,
// a server certificate naming every address of the gateway, and the EAP user vpnuser with a
// random password, and prints what a client needs; a restart reuses all of it. Then what a
// user does with that output: a Windows-like EAP-MSCHAPv2 client (IDi = own IP, the gateway's
// IP typed as the server, only the generated CA trusted, IKE aes256-sha1-modp1024, ESP
// aes256-sha1) connects with the printed password; a certificate from `ikegate cert issue`
// connects with auth = pubkey; a wrong password fails and the next client still gets in.
//
// The daemon listens on 0.0.0.0 and :: (expanded to the namespace's addresses) and puts its
// control socket at /run/ikegate/ikegate.sock: it runs in a private mount namespace whose /run
// is a directory of this test (startIkegateDefault), and list-sas runs inside it (nsenter).
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ikegateCli, startIkegateDefault } from './harness/gateway.js';
import type { DefaultConnectionInfo, DefaultGateway } from './harness/gateway.js';
import { buildTopology, nsExec } from './harness/netns.js';
import type { ClientNode, Topology } from './harness/netns.js';
import { run, stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { FileSetup, jsonMentionsAddress, mschapv2Client, waitForAuthFailureLog, waitForGatewaySaCount } from './harness/scenario.js';
import { formatTrace, startStrongswanClient } from './harness/strongswan-client.js';
import type { ClientConnection, InitiateResult, StrongswanClient } from './harness/strongswan-client.js';

const USER = 'vpnuser';
const CA_FILE = 'ikegate-ca.pem';

let topo: Topology;
let c1: ClientNode;
let c2: ClientNode;
let client1: StrongswanClient;
let client2: StrongswanClient;
let stateDir: string;
/** The daemon of the second start, serving every client scenario. */
let gw: DefaultGateway;
const setup = new FileSetup();

/** What the first start printed and left behind, and how it ended. */
const first = {
  info: undefined as unknown as DefaultConnectionInfo,
  stderr: '',
  listening: [] as string[],
  exit: undefined as number | string | undefined,
  serverCertPem: '',
  serverCertText: '',
  caFingerprintOpenssl: '',
  startMs: 0,
  /** The daemon's log records (stdout), JSON. */
  logJson: '',
};
let secondServerCertPem = '';
/** The password printed on the first start. */
let password = '';

const caPath = (): string => join(stateDir, 'swanctl', 'x509ca', CA_FILE);
const serverCertPath = (): string => join(stateDir, 'swanctl', 'x509', 'server.pem');
const usersPath = (): string => join(stateDir, 'swanctl', 'conf.d', 'users.conf');

async function opensslFingerprint(file: string): Promise<string> {
  const r = await run(['openssl', 'x509', '-noout', '-fingerprint', '-sha256', '-in', file]);
  const m = /Fingerprint=([0-9A-F:]+)/i.exec(r.stdout);
  if (!m?.[1]) throw new Error(`no fingerprint in openssl output: ${r.stdout}`);
  return m[1].toUpperCase();
}

function listeningOf(g: DefaultGateway): string[] {
  const l = g.findLog((x) => x.msg === 'ikegate ready');
  return Array.isArray(l?.listening) ? (l.listening as string[]) : [];
}

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare', 'nsenter', 'openssl', 'ping']);
    topo = await buildTopology({ tag: 'defcfg', clients: 2 });
    const [n1, n2] = topo.clients;
    if (!n1 || !n2) throw new Error('topology has fewer than two clients');
    c1 = n1;
    c2 = n2;
    stateDir = join(topo.workDir, 'state');

    // first start in an empty state directory
    const t = Date.now();
    const g1 = await startIkegateDefault({ ns: topo.gw.ns, stateDir });
    first.startMs = Date.now() - t;
    first.info = g1.info;
    first.stderr = g1.stderrText();
    first.listening = listeningOf(g1);
    first.logJson = JSON.stringify(g1.logLines());
    first.exit = await g1.stop();
    first.serverCertPem = readFileSync(serverCertPath(), 'utf8');
    first.serverCertText = (await run(['openssl', 'x509', '-noout', '-text', '-in', serverCertPath()])).stdout;
    first.caFingerprintOpenssl = await opensslFingerprint(caPath());
    password = first.info.password ?? '';

    // second start in the same state directory: this daemon serves the client scenarios
    gw = await startIkegateDefault({ ns: topo.gw.ns, stateDir });
    secondServerCertPem = readFileSync(serverCertPath(), 'utf8');

    // the clients trust nothing but the generated CA, copied as a user would
    const trust = join(topo.workDir, 'client-trust');
    mkdirSync(join(trust, 'x509ca'), { recursive: true });
    copyFileSync(caPath(), join(trust, 'x509ca', CA_FILE));
    client1 = await startStrongswanClient({ node: c1, dir: join(topo.workDir, 'c1'), credDir: trust });
    client2 = await startStrongswanClient({ node: c2, dir: join(topo.workDir, 'c2'), credDir: trust });
  }),
);

afterEach(async () => {
  await client1?.terminate();
  await client2?.terminate();
});

afterAll(async () => {
  await client1?.stop();
  await client2?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

function explain(client: StrongswanClient, res: InitiateResult): string {
  return `${client.describe(res)}\n--- IKE messages (client view) ---\n${formatTrace(res.trace)}\n${gw.describe()}`;
}

const isPool4 = (a: string): boolean => /^10\.42\.0\.(\d{1,3})$/.test(a) && Number(a.split('.')[3]) >= 1 && Number(a.split('.')[3]) <= 255;
const isPool6 = (a: string): boolean => /^fd42:1::[0-9a-f]{1,4}$/i.test(a) && a.toLowerCase() !== 'fd42:1::';

/** Subject Alternative Name entries of `openssl x509 -noout -text` output. */
function sanEntries(text: string): string[] {
  const m = /X509v3 Subject Alternative Name:[^\n]*\n\s*([^\n]+)/.exec(text);
  return (m?.[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** openssl prints iPAddress IPv6 entries fully expanded, upper case: 2001:DB8:0:0:0:0:0:1. */
function opensslIp6(a: string): string {
  const [head = '', tailPart = ''] = a.split('::');
  const h = head === '' ? [] : head.split(':');
  const tl = tailPart === '' ? [] : tailPart.split(':');
  const groups = a.includes('::') ? [...h, ...Array<string>(8 - h.length - tl.length).fill('0'), ...tl] : h;
  return groups.map((g) => g.replace(/^0+(?=.)/, '').toUpperCase()).join(':');
}

/**
 * `ikegate cert issue NAME` (the state dir of this test), its PEM output split the way a user
 * would into a strongSwan credential dir: x509/NAME.pem, private/NAME.key, x509ca/<the CA>.
 */
async function issueClientCredDir(name: string): Promise<string> {
  const issued = await ikegateCli(['cert', 'issue', name], { stateDir });
  const blocks = [...issued.stdout.matchAll(/-----BEGIN ([A-Z ]+)-----\n[\s\S]*?-----END \1-----\n/g)];
  const cert = blocks.filter((b) => b[1] === 'CERTIFICATE');
  const key = blocks.filter((b) => /PRIVATE KEY$/.test(b[1] ?? ''));
  if (cert.length !== 1 || key.length !== 1) {
    throw new Error(`cert issue ${name}: expected one certificate and one key:\n${issued.stdout}\n${issued.stderr}`);
  }
  const dir = join(topo.workDir, `cred-${name}`);
  for (const d of ['x509', 'x509ca', 'private']) mkdirSync(join(dir, d), { recursive: true });
  writeFileSync(join(dir, 'x509', `${name}.pem`), cert[0]?.[0] ?? '');
  writeFileSync(join(dir, 'private', `${name}.key`), key[0]?.[0] ?? '', { mode: 0o600 });
  copyFileSync(caPath(), join(dir, 'x509ca', CA_FILE));
  return dir;
}

/** The gateway's IKE_SA list once it holds exactly one SA; returns it. */
async function oneGatewaySa(): Promise<Record<string, unknown>> {
  const sas = await waitForGatewaySaCount(gw, 1);
  const sa = sas[0];
  if (!sa) throw new Error('no SA');
  return sa;
}

/** Successful EAP-MSCHAPv2 login of `client` as vpnuser, Windows proposal; returns the VIPs. */
async function expectEapLogin(client: StrongswanClient, node: ClientNode, res: InitiateResult): Promise<{ v4: string; v6: string }> {
  const why = explain(client, res);
  expect(res.ok, why).toBe(true);
  const sa = res.sa;
  if (!sa) throw new Error(`no IKE_SA on the client\n${why}`);
  expect(sa.state, why).toBe('ESTABLISHED');
  expect(sa.localId, why).toBe(node.v4);
  expect([sa.encrAlg, sa.encrKeysize, sa.integAlg, sa.prfAlg, sa.dhGroup], why).toEqual([
    'AES_CBC', 256, 'HMAC_SHA1_96', 'PRF_HMAC_SHA1', 'MODP_1024',
  ]);
  // the gateway proved itself with the server certificate, chained to the generated CA only
  expect(res.attemptLog, why).toMatch(/using trusted ca certificate "O=ikegate, CN=ikegate CA [^"]+"/);
  expect(res.attemptLog, why).toMatch(/authentication of '[^']+' with ECDSA\S* successful/);
  expect(res.attemptLog, why).toMatch(new RegExp(`server requested EAP_IDENTITY \\(id 0x[0-9A-Fa-f]+\\), sending '${USER}'`));
  expect(res.attemptLog, why).toMatch(/EAP method EAP_MSCHAPV2 succeeded, MSK established/);
  // the Windows pattern: IDi (own IP) without IDr, no AUTH in the first IKE_AUTH request
  const firstAuth = res.trace.find((m) => m.exchange === 'IKE_AUTH' && m.dir === 'sent');
  expect(firstAuth?.payloads, why).toContain('IDi');
  expect(firstAuth?.payloads, why).not.toContain('AUTH');

  const v4 = sa.localVips.filter(isPool4);
  const v6 = sa.localVips.filter(isPool6);
  expect(v4, `local-vips: ${sa.localVips.join(' ')}\n${why}`).toHaveLength(1);
  expect(v6, `local-vips: ${sa.localVips.join(' ')}\n${why}`).toHaveLength(1);
  const child = sa.childSas[0];
  expect(child?.state, why).toBe('INSTALLED');
  expect([child?.protocol, child?.encrAlg, child?.encrKeysize, child?.integAlg], why).toEqual(['ESP', 'AES_CBC', 256, 'HMAC_SHA1_96']);
  expect(child?.localTs.slice().sort(), why).toEqual([`${v4[0]}/32`, `${v6[0]}/128`].sort());

  // the gateway's view through `list-sas --json` on the default control socket
  const g = await oneGatewaySa();
  const json = JSON.stringify(g);
  expect(g.eapIdentity, json).toBe(USER);
  expect(g.connection ?? g.name, json).toBe('rw-eap');
  expect(g.state, json).toBe('ESTABLISHED');
  expect(json, json).toMatch(/ms-?chap-?v2/i);
  expect(jsonMentionsAddress(json, node.v4), json).toBe(true);
  expect(jsonMentionsAddress(json, v4[0] ?? 'none'), json).toBe(true);
  expect(jsonMentionsAddress(json, v6[0] ?? 'none'), json).toBe(true);
  return { v4: v4[0] ?? '', v6: v6[0] ?? '' };
}

describe('ikegate run without --config', () => {
  it('first start in an empty state dir: creates and prints the CA, its fingerprint and vpnuser with a password', () => {
    setup.check();
    const why = first.stderr;
    expect(first.info.stateDir, why).toBe(stateDir);
    expect(first.info.caCertPath, why).toBe(caPath());
    expect(existsSync(caPath()), why).toBe(true);
    // the printed fingerprint is the CA file's, as openssl computes it
    expect(first.info.caFingerprint, why).toMatch(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/);
    expect(first.info.caFingerprint, why).toBe(first.caFingerprintOpenssl);
    // the user and password, and the file they are kept in (readable by root only)
    expect(first.stderr).toMatch(/user 'vpnuser', password '[^']+'/);
    expect(first.info.user, why).toBe(USER);
    expect(password, why).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const users = readFileSync(usersPath(), 'utf8');
    expect(users).toContain(`id = ${USER}`);
    expect(users).toContain(`"${password}"`);
    expect(statSync(usersPath()).mode & 0o077).toBe(0);
    // printed once on stderr, never logged
    expect(first.logJson.length).toBeGreaterThan(0);
    expect(first.logJson).not.toContain(password);
    expect(statSync(join(stateDir, 'swanctl', 'private', 'ikegate-ca.key')).mode & 0o077).toBe(0);
    // it listened on every address of the namespace (0.0.0.0 and :: expanded) and stopped cleanly
    for (const a of [topo.gw.wanV4, topo.gw.wanV6, topo.gw.lanV4, topo.gw.lanV6]) {
      const ep = a.includes(':') ? `[${a}]` : a;
      expect(first.listening, JSON.stringify(first.listening)).toEqual(expect.arrayContaining([`${ep}:500`, `${ep}:4500`]));
      expect(first.info.connectTo, why).toContain(a);
    }
    expect(first.exit, `first start (CA, server key and certificate created) took ${first.startMs} ms`).toBe(0);
  });

  it("the server certificate names every gateway address (SAN iPAddress and dNSName), chains to the CA and is for IKE servers", async () => {
    setup.check();
    const text = first.serverCertText;
    const san = sanEntries(text);
    for (const a of [topo.gw.wanV4, topo.gw.lanV4]) {
      expect(san, text).toContain(`IP Address:${a}`);
      expect(san, text).toContain(`DNS:${a}`);
    }
    for (const a of [topo.gw.wanV6, topo.gw.lanV6]) {
      expect(san, text).toContain(`IP Address:${opensslIp6(a)}`);
      expect(san, text).toContain(`DNS:${a}`);
    }
    // nothing internal: no loopback, no link-local
    expect(san.filter((s) => /127\.0\.0\.1|IP Address:0:0:0:0:0:0:0:1$|FE80|fe80/.test(s)), text).toEqual([]);
    expect(text).toMatch(/X509v3 Extended Key Usage:[^\n]*\n[^\n]*TLS Web Server Authentication/);
    expect(text).toMatch(/X509v3 Extended Key Usage:[^\n]*\n[^\n]*(1\.3\.6\.1\.5\.5\.8\.2\.2|IKE Intermediate|ipsec Internet Key Exchange)/);
    expect(text).toMatch(/Public Key Algorithm: id-ecPublicKey/);
    const verify = await run(['openssl', 'verify', '-CAfile', caPath(), '-purpose', 'sslserver', serverCertPath()], { check: false });
    expect(verify.stdout + verify.stderr).toMatch(/: OK/);
  });

  it('a second start in the same state dir reuses the CA, the server certificate and the user, and prints no password', async () => {
    setup.check();
    const why = gw.stderrText();
    expect(gw.info.caFingerprint, why).toBe(first.info.caFingerprint);
    expect(await opensslFingerprint(caPath())).toBe(first.caFingerprintOpenssl);
    expect(secondServerCertPem).toBe(first.serverCertPem);
    expect(gw.info.password, why).toBeUndefined();
    expect(why).not.toMatch(/password '/i);
    expect(why).not.toContain(password);
    expect(gw.info.usersFile, why).toBe(usersPath());
    expect(readFileSync(usersPath(), 'utf8')).toContain(`"${password}"`);
    // the control socket is at its default path inside the daemon's /run, and answers
    expect(existsSync(join(gw.runDir, 'ikegate', 'ikegate.sock'))).toBe(true);
    expect(await gw.listSas()).toEqual([]);
  });
});

describe('the Windows pattern against the default: EAP-MSCHAPv2 with the printed password', () => {
  const cases: Array<{ label: string; server: () => string; remoteId: () => string | undefined }> = [
    { label: 'IPv4, remote id = gateway IP', server: () => topo.gw.wanV4, remoteId: () => topo.gw.wanV4 },
    { label: 'IPv4, remote id %any (no IDr)', server: () => topo.gw.wanV4, remoteId: () => undefined },
    { label: 'IPv6, remote id = gateway IP', server: () => topo.gw.wanV6, remoteId: () => topo.gw.wanV6 },
    { label: 'IPv6, remote id %any (no IDr)', server: () => topo.gw.wanV6, remoteId: () => undefined },
  ];
  it.each(cases)('server = gateway address, $label: IKE and CHILD up, v4 + v6 leases, list-sas shows vpnuser, pings the LAN', async (c) => {
    setup.check();
    const conn: ClientConnection = mschapv2Client(c.server(), c1.v4, USER, password, {
      remote: { auth: 'pubkey', id: c.remoteId(), cacerts: [CA_FILE] },
    });
    await client1.configure(conn);
    const res = await client1.initiate();
    await expectEapLogin(client1, c1, res);
    expect(res.sa?.remoteHost).toBe(c.server());
    // the identity the gateway answered with: the requested one, or its certificate's subject
    expect(res.sa?.remoteId, explain(client1, res)).toBe(c.remoteId() ?? `CN=${hostname()}`);
    // traffic flows through the tunnel to the LAN behind the gateway, IPv4 and IPv6 inside
    for (const target of [topo.lan.v4, topo.lan.v6]) {
      const ping = await nsExec(c1.ns, ['ping', '-n', '-c', '5', '-i', '0.2', '-W', '2', target], { check: false, timeoutMs: 30_000 });
      const received = Number(/(\d+) received/.exec(ping.stdout)?.[1] ?? '0');
      expect(received, `ping ${target} from ${c1.label} through the tunnel\n${ping.stdout}${ping.stderr}\n${gw.describe()}`).toBeGreaterThanOrEqual(4);
    }
    await client1.terminate();
    await waitForGatewaySaCount(gw, 0);
  });
});

describe('a client certificate from `ikegate cert issue`', () => {
  it('laptop1 connects with auth = pubkey (aes256gcm16-prfsha256-x25519)', async () => {
    setup.check();
    const credDir = await issueClientCredDir('laptop1');
    const verify = await run(['openssl', 'verify', '-CAfile', caPath(), join(credDir, 'x509', 'laptop1.pem')], { check: false });
    expect(verify.stdout + verify.stderr).toMatch(/: OK/);

    client2.useCredentials(credDir);
    await client2.configure({
      remoteAddrs: topo.gw.wanV4,
      proposals: ['aes256gcm16-prfsha256-x25519'],
      local: { auth: 'pubkey', id: 'laptop1', certs: ['laptop1.pem'] },
      // no remote id: the gateway's certificate from the trusted CA decides (the IP-address
      // identity case is covered by the EAP scenarios above)
      remote: { auth: 'pubkey', cacerts: [CA_FILE] },
      children: { net: { espProposals: ['aes256gcm16'] } },
    });
    const res = await client2.initiate();
    const why = explain(client2, res);
    expect(res.ok, why).toBe(true);
    const sa = res.sa;
    if (!sa) throw new Error(`no IKE_SA\n${why}`);
    expect(sa.state).toBe('ESTABLISHED');
    expect([sa.encrAlg, sa.encrKeysize, sa.prfAlg, sa.dhGroup], why).toEqual(['AES_GCM_16', 256, 'PRF_HMAC_SHA2_256', 'CURVE_25519']);
    expect(res.attemptLog, why).toMatch(/authentication of 'laptop1' \(myself\) with ECDSA\S* successful/);
    expect(res.attemptLog, why).toMatch(/using trusted ca certificate "O=ikegate, CN=ikegate CA [^"]+"/);
    expect(sa.localVips.filter(isPool4), why).toHaveLength(1);
    expect(sa.localVips.filter(isPool6), why).toHaveLength(1);
    expect(sa.childSas[0]?.state, why).toBe('INSTALLED');
    expect(sa.childSas[0]?.encrAlg, why).toBe('AES_GCM_16');

    const g = await oneGatewaySa();
    const json = JSON.stringify(g);
    expect(g.connection ?? g.name, json).toBe('rw');
    expect(json, json).toContain('laptop1');
    expect(g.eapIdentity, json).toBeUndefined();
    // remoteAuth names the verified certificate
    expect(g.remoteAuth, json).toBe('CN=laptop1');
    await client2.terminate();
    await waitForGatewaySaCount(gw, 0);
  });
});

describe('a wrong password', () => {
  it('fails, leaves nothing behind, and the gateway keeps serving the next correct client', async () => {
    setup.check();
    await client1.configure(mschapv2Client(topo.gw.wanV4, c1.v4, USER, `${password}x`, { remote: { auth: 'pubkey', cacerts: [CA_FILE] } }));
    const mark = gw.logLines().length;
    const bad = await client1.initiate({ timeoutSec: 20 });
    const why = explain(client1, bad);
    expect(bad.ok, why).toBe(false);
    expect(bad.sas, why).toHaveLength(0);
    expect(bad.attemptLog, why).toMatch(
      /EAP-MS-CHAPv2 (verification )?failed|EAP_MSCHAPV2 method failed|EAP method EAP_MSCHAPV2 failed|received EAP_FAILURE|AUTHENTICATION_FAILED/,
    );
    expect(gw.isRunning(), gw.describe()).toBe(true);
    await waitForAuthFailureLog(gw, 5000, mark);
    await waitForGatewaySaCount(gw, 0);

    // the next client, with the right password
    client2.useCredentials(join(topo.workDir, 'client-trust'));
    await client2.configure(mschapv2Client(topo.gw.wanV4, c2.v4, USER, password, { remote: { auth: 'pubkey', cacerts: [CA_FILE] } }));
    const good = await client2.initiate();
    await expectEapLogin(client2, c2, good);
    await client2.terminate();
    await waitForGatewaySaCount(gw, 0);
  });
});

describe('a client that rejects the gateway', () => {
  it("a certificate client whose remote id the gateway's certificate does not contain aborts; the gateway keeps no SA and no lease", async () => {
    setup.check();
    const credDir = await issueClientCredDir('laptop2');
    client2.useCredentials(credDir);
    await client2.configure({
      remoteAddrs: topo.gw.wanV4,
      proposals: ['aes256gcm16-prfsha256-x25519'],
      local: { auth: 'pubkey', id: 'laptop2', certs: ['laptop2.pem'] },
      remote: { auth: 'pubkey', id: 'vpn.wrong.example', cacerts: [CA_FILE] },
      children: { net: { espProposals: ['aes256gcm16'] } },
    });
    const res = await client2.initiate({ timeoutSec: 20 });
    const why = explain(client2, res);
    expect(res.ok, why).toBe(false);
    // the client verified the gateway's AUTH, then refused its identity and said so
    expect(res.attemptLog, why).toMatch(/constraint check failed: identity 'vpn\.wrong\.example' required/);
    expect(res.trace.some((m) => m.dir === 'sent' && m.exchange === 'INFORMATIONAL' && m.payloads.includes('N(AUTH_FAILED)')), why).toBe(true);
    expect(gw.isRunning(), gw.describe()).toBe(true);
    // RFC 7296 §2.21.2: the IKE_SA is not established; nothing (no SA, no lease) may stay behind
    await waitForGatewaySaCount(gw, 0);
  });
});
