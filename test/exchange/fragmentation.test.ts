// IKE message fragmentation (RFC 7383): the responder reassembles fragments that arrive in any
// order, each authenticated on its own (§2.6), and fragments its own large responses when the
// peer announced support with N(IKEV2_FRAGMENTATION_SUPPORTED) in IKE_SA_INIT (§2.3, §2.5).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotifyType } from '../../src/ike/constants.js';
import { decodeMessage } from '../../src/ike/codec/message.js';
import { certConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, flipBit } from '../helpers/initiator.js';
import { TestPki, clientCredential, gatewayStore, type Issued } from '../helpers/pki.js';
import type { LocalCredential } from '../../src/credentials/store.js';

let pki: TestPki;
let root: Issued;
let intermediate: Issued;
let server: Issued;
let alice: LocalCredential;

beforeAll(() => {
  pki = new TestPki();
  root = pki.root('root', '/C=CH/O=ikegate test/CN=Root', 'rsa3072');
  intermediate = pki.issue('intermediate', '/C=CH/O=ikegate test/CN=Intermediate', 'rsa3072', root, { ca: true });
  server = pki.issue('server', '/C=CH/O=ikegate test/CN=vpn.example.com', 'rsa3072', intermediate, { san: ['DNS:vpn.example.com'] });
  alice = clientCredential(pki.issue('alice', '/C=CH/O=ikegate test/CN=alice', 'rsa3072', intermediate, { san: ['email:alice@example.com'] }), [intermediate]);
}, 60_000);

afterAll(() => pki?.cleanup());

const gateway = () => makeGateway(certConfig(), gatewayStore({ own: [{ leaf: server, chain: [intermediate] }], anchors: [root] }));
const ALICE = () => ({ id: 'alice@example.com', credential: alice });

/** Fragment number of an SKF datagram. */
function fragmentNumber(d: Uint8Array): number {
  const last = decodeMessage(d).payloads.at(-1);
  if (last?.kind !== 'skf') throw new Error('not a fragment');
  return last.fragmentNumber;
}

describe('RFC 7383 fragmentation', () => {
  it('an IKE_AUTH request sent in many fragments, in shuffled order, is reassembled', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { fragmentation: true });
    await client.init();
    expect(client.initNotify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED)).toBeDefined();

    // HDR, SKF(n/N) { ... }  -->  x N, out of order
    const fragments = client.authRequest({ ...ALICE(), fragmentSize: 300, shuffle: true });
    expect(fragments.length).toBeGreaterThanOrEqual(8);
    expect(fragments.map(fragmentNumber)).not.toEqual([...fragments.keys()].map((i) => i + 1));
    for (const f of fragments) expect(f.length).toBeLessThanOrEqual(300);

    const answers: Uint8Array[] = [];
    for (const [i, f] of fragments.entries()) {
      const got = await client.transmit(f);
      // Nothing is answered before the last missing fragment arrived.
      if (i < fragments.length - 1) expect(got).toEqual([]);
      answers.push(...got);
    }
    const auth = client.handleAuthResponse(answers);
    expect(auth.ok).toBe(true);
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    expect(gw.dataplane.sas.size).toBe(2);
  });

  it('a large response is fragmented when the peer supports it, and the initiator reassembles it', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { fragmentation: true });
    await client.init();
    // <--  HDR, SKF(1/N) { IDr, CERT, CERT, AUTH, CP, SAr2, TSi, TSr } ... SKF(N/N)
    const answers = await client.transmit(client.authRequest(ALICE()));
    expect(answers.length).toBeGreaterThan(1);
    expect(answers.map(fragmentNumber)).toEqual([...answers.keys()].map((i) => i + 1));
    // 1280-byte IPv4 datagrams less IP and UDP headers (RFC 7383 §2.5.1).
    for (const d of answers) expect(d.length).toBeLessThanOrEqual(1280 - 28);
    const auth = client.handleAuthResponse(answers.slice().reverse());
    expect(auth.ok).toBe(true);
    expect(auth.certs.map((c) => Buffer.from(c))).toEqual([Buffer.from(server.cert.der), Buffer.from(intermediate.cert.der)]);
  });

  it('without N(IKEV2_FRAGMENTATION_SUPPORTED) the same response goes out whole', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { fragmentation: false });
    await client.init();
    expect(client.initNotify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED)).toBeUndefined();
    const answers = await client.transmit(client.authRequest(ALICE()));
    expect(answers).toHaveLength(1);
    expect(answers[0]!.length).toBeGreaterThan(1280);
    expect(client.handleAuthResponse(answers).ok).toBe(true);
  });

  it('a retransmitted fragmented request is answered once, with all response fragments (RFC 7383 §2.6.1)', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { fragmentation: true });
    await client.init();
    const fragments = client.authRequest({ ...ALICE(), fragmentSize: 400 });
    const first = await client.transmit(fragments);
    expect(first.length).toBeGreaterThan(1);
    const callsBefore = gw.dataplane.calls.length;
    const again = await client.transmit(fragments);
    expect(again.map((b) => Buffer.from(b))).toEqual(first.map((b) => Buffer.from(b)));
    expect(gw.dataplane.calls.length).toBe(callsBefore);
    expect(client.handleAuthResponse(first).ok).toBe(true);
  });

  it('a damaged fragment is dropped on its own; its intact copy completes the message', async () => {
    const gw = gateway();
    const client = new TestInitiator(gw, { fragmentation: true });
    await client.init();
    const fragments = client.authRequest({ ...ALICE(), fragmentSize: 500 });
    const [head, ...rest] = fragments;
    const middle = rest.pop()!;
    expect(await client.transmit([head!, ...rest, flipBit(middle, -1)])).toEqual([]);
    expect(gw.engine.listSas()[0]!.state).toBe('HALF-OPEN');
    const answers = await client.transmit(middle);
    expect(client.handleAuthResponse(answers).ok).toBe(true);
  });
});
