// EAP-TLS server (src/eap/tls) against an independent test peer built on node:tls: full
// handshakes for TLS 1.2 (RFC 5216) and TLS 1.3 (RFC 9190) with RSA and ECDSA client certificates,
// fragmentation both ways (RFC 5216 §2.1.5), the MSK recomputed from the key log per RFC 5216 §2.3
// and RFC 9190 §2.3 / RFC 8446 §7.5, policy rejections, and hostile framing.
import { createHmac, createHash, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRng } from '../../../src/crypto/random.js';
import type { EapPacket } from '../../../src/eap/packet.js';
import type { EapServerMethod, EapStep } from '../../../src/eap/method.js';
import { createEapTlsServer, type EapTlsOptions } from '../../../src/eap/tls/eap-tls.js';
import { EapTlsPki, testVerifier, type Pem } from './tls-helpers/certs.js';
import { EapTlsTestPeer, runEapTls } from './tls-helpers/peer.js';

const RESPONSE = 2;
const TLS = 13;
const rng = seededRng('eap-tls');

let pki: EapTlsPki;
let ca: Pem & { certFile: string; keyFile: string };
let rogueCa: Pem & { certFile: string; keyFile: string };
let server: Pem;
let aliceEc: Pem;
let aliceRsa: Pem;
let mallory: Pem;
let base: EapTlsOptions;

beforeAll(() => {
  pki = new EapTlsPki();
  ca = pki.root('EAP Test Root');
  rogueCa = pki.root('Rogue Root', 'rsa2048');
  const srv = pki.issue(ca, 'gw.example.org', 'p256', ['DNS:gw.example.org'], 'serverAuth');
  // The gateway sends its chain: leaf + the root is harmless and exercises chain PEM parsing.
  server = { certPem: srv.certPem + ca.certPem, keyPem: srv.keyPem };
  aliceEc = pki.issue(ca, 'alice', 'p256', ['email:alice@example.org'], 'clientAuth');
  aliceRsa = pki.issue(ca, 'alice', 'rsa2048', ['email:alice@example.org'], 'clientAuth');
  mallory = pki.issue(rogueCa, 'alice', 'p256', ['email:alice@example.org'], 'clientAuth');
  base = { certChainPem: server.certPem, keyPem: server.keyPem, caPem: [ca.certPem], verifyPeer: testVerifier([ca.certPem]) };
}, 60_000);

afterAll(() => pki?.cleanup());

function peerFor(client: Pem | undefined, o: Partial<ConstructorParameters<typeof EapTlsTestPeer>[0]> = {}): EapTlsTestPeer {
  return new EapTlsTestPeer({ caPem: ca.certPem, ...(client ? { certPem: client.certPem, keyPem: client.keyPem } : {}), ...o });
}

function success(step: EapStep): Extract<EapStep, { kind: 'success' }> {
  if (step.kind !== 'success') throw new Error(`expected success, got ${step.kind}: ${step.kind === 'failure' ? step.reason : ''}`);
  return step;
}

function failure(step: EapStep): string {
  if (step.kind !== 'failure') throw new Error(`expected failure, got ${step.kind}`);
  return step.reason;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

// --- independent MSK computation from the peer's NSS key log --------------------------------------

/** RFC 5246 §5 PRF: P_hash(secret, label ‖ seed). */
function tls12Prf(hash: string, secret: Buffer, label: string, seed: Buffer, len: number): Buffer {
  const labelSeed = Buffer.concat([Buffer.from(label, 'latin1'), seed]);
  const out: Buffer[] = [];
  let a = labelSeed;
  let n = 0;
  while (n < len) {
    a = createHmac(hash, secret).update(a).digest();
    const block = createHmac(hash, secret).update(a).update(labelSeed).digest();
    out.push(block);
    n += block.length;
  }
  return Buffer.concat(out).subarray(0, len);
}

/** RFC 8446 §7.1 HKDF-Expand-Label. */
function hkdfExpandLabel(hash: string, secret: Buffer, label: string, context: Buffer, len: number): Buffer {
  const full = Buffer.from(`tls13 ${label}`, 'latin1');
  const info = Buffer.concat([Buffer.from([len >> 8, len & 0xff, full.length]), full, Buffer.from([context.length]), context]);
  const out: Buffer[] = [];
  let t = Buffer.alloc(0);
  for (let i = 1; Buffer.concat(out).length < len; i++) {
    t = createHmac(hash, secret).update(t).update(info).update(Buffer.from([i])).digest();
    out.push(t);
  }
  return Buffer.concat(out).subarray(0, len);
}

/** RFC 8446 §7.5 TLS-Exporter from exporter_master_secret. */
function tls13Exporter(hash: string, exporterSecret: Buffer, label: string, context: Buffer, len: number): Buffer {
  const empty = createHash(hash).digest();
  const derived = hkdfExpandLabel(hash, exporterSecret, label, empty, empty.length);
  return hkdfExpandLabel(hash, derived, 'exporter', createHash(hash).update(context).digest(), len);
}

function hashOfSuite(standardName: string): string {
  return standardName.endsWith('SHA384') ? 'sha384' : 'sha256';
}

/** server.random from the ServerHello at the start of the server's first flight (RFC 5246 §7.4.1.3). */
function serverRandom(serverTls: Uint8Array[]): Buffer {
  const flight = Buffer.concat(serverTls);
  expect(flight[0]).toBe(22); // handshake record
  expect(flight[5]).toBe(2); // ServerHello
  return flight.subarray(11, 43);
}

// --- full handshakes ----------------------------------------------------------------------------

describe.each(['TLSv1.2', 'TLSv1.3'] as const)('EAP-TLS over %s', (version) => {
  for (const [name, client] of [
    ['ECDSA P-256', () => aliceEc],
    ['RSA 2048', () => aliceRsa],
  ] as const) {
    it(`authenticates a ${name} client certificate; both sides derive the same 64-byte MSK`, async () => {
      const keylog: string[] = [];
      const peer = peerFor(client(), { maxVersion: version, onKeylog: (l) => keylog.push(l) });
      const method = createEapTlsServer(base, 'alice@example.org', rng);
      const { final } = await runEapTls(method, peer);
      const ok = success(final);
      expect(peer.protocol).toBe(version);
      expect(ok.identity).toBe('alice@example.org');
      expect(ok.msk).toHaveLength(64);
      expect(hex(ok.msk!)).toBe(hex(peer.msk()));

      // Recompute the MSK from the key log, independently of exportKeyingMaterial.
      const suite = peer.tls.getCipher().standardName;
      const hash = hashOfSuite(suite);
      if (version === 'TLSv1.2') {
        const line = keylog.find((l) => l.startsWith('CLIENT_RANDOM '));
        const [, cr, master] = line!.split(' ');
        const seed = Buffer.concat([Buffer.from(cr!, 'hex'), serverRandom(peer.stats.serverTls)]);
        // RFC 5216 §2.3: Key_Material = TLS-PRF-128(master_secret, "client EAP encryption", client.random ‖ server.random)
        const km = tls12Prf(hash, Buffer.from(master!, 'hex'), 'client EAP encryption', seed, 128);
        expect(hex(ok.msk!)).toBe(hex(km.subarray(0, 64)));
        expect(peer.appData).toHaveLength(0);
      } else {
        const line = keylog.find((l) => l.startsWith('EXPORTER_SECRET '));
        const [, , secret] = line!.split(' ');
        // RFC 9190 §2.3: Key_Material = TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", 0x0D, 128); MSK = first 64
        const km = tls13Exporter(hash, Buffer.from(secret!, 'hex'), 'EXPORTER_EAP_TLS_Key_Material', Buffer.of(13), 128);
        expect(hex(ok.msk!)).toBe(hex(km.subarray(0, 64)));
        // RFC 9190 §2.5: the protected success indication arrived, as application data 0x00.
        expect(peer.appData.map(hex)).toEqual(['00']);
      }
      peer.destroy();
    });
  }

  it('fragments both ways with fragmentSize 200 (M/L flags, empty acks)', async () => {
    const peer = peerFor(aliceRsa, { maxVersion: version, fragmentSize: 200 });
    const method = createEapTlsServer({ ...base, fragmentSize: 200 }, 'alice@example.org', rng);
    const { final, rounds } = await runEapTls(method, peer);
    const ok = success(final);
    expect(hex(ok.msk!)).toBe(hex(peer.msk()));
    expect(peer.stats.serverFragments).toBeGreaterThanOrEqual(3); // our flight, cut by the server
    expect(peer.stats.peerFragments).toBeGreaterThanOrEqual(3); // the client's certificate flight
    expect(peer.stats.serverAcks).toBeGreaterThanOrEqual(3); // server acked each peer fragment
    expect(rounds).toBeGreaterThan(10);
    peer.destroy();
  });

  it('rejects a client certificate from an untrusted CA (verifyPeer says no)', async () => {
    const peer = peerFor(mallory, { maxVersion: version });
    const method = createEapTlsServer({ ...base, caPem: [ca.certPem] }, 'alice@example.org', rng);
    const reason = failure((await runEapTls(method, peer)).final);
    expect(reason).toMatch(/^client certificate '.*CN=alice' rejected: issuer '.*Rogue Root' is not a trusted CA$/);
    peer.destroy();
  });

  it('rejects an identity mismatch and an expired certificate', async () => {
    const p1 = peerFor(aliceEc, { maxVersion: version });
    const r1 = failure((await runEapTls(createEapTlsServer(base, 'bob@example.org', rng), p1)).final);
    expect(r1).toContain("identity 'bob@example.org' not in certificate");
    p1.destroy();

    const later = () => new Date(Date.now() + 10 * 86_400_000);
    const p2 = peerFor(aliceEc, { maxVersion: version });
    const r2 = failure((await runEapTls(createEapTlsServer({ ...base, verifyPeer: testVerifier([ca.certPem], later) }, 'alice@example.org', rng), p2)).final);
    expect(r2).toContain('expired');
    p2.destroy();
  });

  it('fails a client without certificate', async () => {
    const peer = peerFor(undefined, { maxVersion: version });
    const reason = failure((await runEapTls(createEapTlsServer(base, 'alice@example.org', rng), peer)).final);
    expect(reason).toBe('client sent no certificate');
    peer.destroy();
  });

  it('forwards the TLS alert when the client rejects our certificate, then fails with its text', async () => {
    // The peer distrusts our certificate and aborts after our first flight with a fatal alert.
    const peer = peerFor(aliceEc, { maxVersion: version, rejectServerWithAlert: true });
    const reason = failure((await runEapTls(createEapTlsServer(base, 'alice@example.org', rng), peer)).final);
    // OpenSSL takes the plaintext alert in both versions (TLS 1.3 would normally encrypt it).
    expect(reason).toBe('TLS handshake failed: tlsv1 alert unknown ca (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)');
    peer.destroy();
  });
});

describe('version negotiation', () => {
  it('maxVersion TLSv1.2 negotiates 1.2 with a 1.3-capable client', async () => {
    const peer = peerFor(aliceEc);
    const ok = success((await runEapTls(createEapTlsServer({ ...base, maxVersion: 'TLSv1.2' }, 'alice@example.org', rng), peer)).final);
    expect(peer.protocol).toBe('TLSv1.2');
    expect(hex(ok.msk!)).toBe(hex(peer.msk()));
    peer.destroy();
  });

  it('a 1.3-only client against a 1.2-only server fails with a TLS error (alert sent to the client first)', async () => {
    const peer = peerFor(aliceEc, { minVersion: 'TLSv1.3' });
    const method = createEapTlsServer({ ...base, maxVersion: 'TLSv1.2' }, 'alice@example.org', rng);
    let req = await method.start(1);
    const resp = await peer.handle(req); // ClientHello
    const step = await method.process(resp);
    expect(step.kind).toBe('request'); // the protocol_version alert
    req = (step as Extract<EapStep, { kind: 'request' }>).packet;
    expect(req.data[0]! & 0x80).toBe(0x80);
    expect(req.data[5]).toBe(21); // TLS record type alert
    const final = await method.process({ code: RESPONSE, identifier: req.identifier, type: TLS, data: Uint8Array.of(0) });
    expect(failure(final)).toBe('TLS handshake failed: unsupported protocol (ERR_SSL_UNSUPPORTED_PROTOCOL)');
    peer.destroy();
  });
});

// --- hostile input -----------------------------------------------------------------------------

function resp(data: Uint8Array, identifier = 1): EapPacket {
  return { code: RESPONSE, identifier, type: TLS, data };
}

async function started(opts: Partial<EapTlsOptions> = {}): Promise<EapServerMethod> {
  const m = createEapTlsServer({ ...base, ...opts }, 'alice@example.org', rng);
  const start = await m.start(1);
  expect(start.data).toEqual(Uint8Array.of(0x20)); // RFC 5216 §3.1 Start: S flag, no data
  return m;
}

/** Type-Data with L set and the given announced length. */
function withLength(flags: number, announced: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(5 + body.length);
  out[0] = flags | 0x80;
  new DataView(out.buffer).setUint32(1, announced);
  out.set(body, 5);
  return out;
}

describe('hostile or broken peers: failure, never a throw', () => {
  it('garbage instead of a ClientHello', async () => {
    const m = await started();
    let step = await m.process(resp(Uint8Array.of(0, ...randomBytes(300))));
    if (step.kind === 'request') step = await m.process(resp(Uint8Array.of(0)));
    expect(failure(step)).toMatch(/^TLS handshake failed/);
  });

  it('empty Type-Data, truncated L, S flag from the peer, wrong Type', async () => {
    expect(failure(await (await started()).process(resp(new Uint8Array(0))))).toContain('without Flags');
    expect(failure(await (await started()).process(resp(Uint8Array.of(0x80, 0, 1))))).toContain('truncated');
    expect(failure(await (await started()).process(resp(Uint8Array.of(0x20))))).toContain('S (start)');
    expect(failure(await (await started()).process({ code: RESPONSE, identifier: 1, type: 26, data: Uint8Array.of(0) }))).toContain('unexpected EAP');
  });

  it('an announced TLS Message Length over 64 KiB', async () => {
    const m = await started();
    expect(failure(await m.process(resp(withLength(0x40, 1 << 20, new Uint8Array(100)))))).toContain('exceeds limit');
  });

  it('fragments exceeding the announced length, or a length mismatch at the end', async () => {
    const m1 = await started();
    expect((await m1.process(resp(withLength(0x40, 150, new Uint8Array(100))))).kind).toBe('request'); // ack
    expect(failure(await m1.process(resp(Uint8Array.of(0x40, ...new Uint8Array(100)))))).toContain('exceed announced');

    const m2 = await started();
    expect((await m2.process(resp(withLength(0x40, 300, new Uint8Array(100))))).kind).toBe('request');
    expect(failure(await m2.process(resp(Uint8Array.of(0x00, ...new Uint8Array(100)))))).toContain('announced 300');
  });

  it('unannounced fragments beyond 64 KiB', async () => {
    const m = await started();
    let step: EapStep = { kind: 'request', packet: resp(new Uint8Array(0)) };
    for (let i = 0; i < 20 && step.kind === 'request'; i++) step = await m.process(resp(Uint8Array.of(0x40, ...new Uint8Array(8000))));
    expect(failure(step)).toContain('exceeds limit');
  });

  it('endless tiny fragments hit the round limit', async () => {
    const m = await started();
    let step: EapStep = { kind: 'request', packet: resp(new Uint8Array(0)) };
    let n = 0;
    while (step.kind === 'request' && n++ < 1000) step = await m.process(resp(Uint8Array.of(0x40, 0x16)));
    expect(failure(step)).toMatch(/more than \d+ EAP-TLS messages/);
  });

  it('data instead of an ack while our fragments are pending', async () => {
    const peer = peerFor(aliceEc, { maxVersion: 'TLSv1.3' });
    const m = createEapTlsServer({ ...base, fragmentSize: 100 }, 'alice@example.org', rng);
    const hello = await peer.handle(await m.start(1));
    const step = await m.process(hello);
    expect(step.kind).toBe('request');
    expect(failure(await m.process(resp(Uint8Array.of(0x00, 0x16, 0x03, 0x03))))).toContain('while our fragments were pending');
    peer.destroy();
  });

  it('a method that was closed answers with failure', async () => {
    const m = await started();
    m.close?.();
    expect(failure(await m.process(resp(Uint8Array.of(0))))).toContain('already finished');
  });

  it('random Type-Data sequences never throw (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 0, maxLength: 300 }), { minLength: 1, maxLength: 5 }), async (datas) => {
        const m = await started();
        for (const d of datas) {
          const step = await m.process(resp(d));
          expect(['request', 'failure']).toContain(step.kind);
          if (step.kind === 'failure') break;
        }
        m.close?.();
      }),
      { numRuns: 60 },
    );
  });
});
