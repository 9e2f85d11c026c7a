// SA lifecycle around the initial exchanges: half-open SAs expire (RFC 7296 §2.6 advises
// discarding them "after a timeout"), virtual IP leases per identity (RFC 7296 §3.15.4),
// and junk that must never escape the engine or disturb other SAs (§2.21, architecture §12.9).
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType } from '../../src/ike/constants.js';
import { seededRng } from '../../src/crypto/random.js';
import { endpoint } from '../../src/net/endpoint.js';
import { FIRST_V4, FIRST_V6, PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { MemoryDataplane } from '../../src/xfrm/memory-dataplane.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';

const ALICE: AuthOptions = { id: '@alice.example.com', psk: PSK };
const BOB: AuthOptions = { id: '@bob.example.com', psk: PSK };

describe('half-open timeout', () => {
  it('an IKE_SA_INIT without IKE_AUTH disappears after half_open_timeout', async () => {
    const gw = makeGateway(pskConfig({ ikegate: 'half_open_timeout = 10s' }));
    const client = new TestInitiator(gw);
    expect((await client.init()).kind).toBe('ok');
    expect(gw.engine.halfOpenCount()).toBe(1);

    gw.clock.advance(9_999);
    await gw.settle();
    expect(gw.engine.listSas()).toHaveLength(1);

    gw.clock.advance(1);
    await gw.settle();
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.engine.sas.size).toBe(0);
    expect(gw.engine.halfOpenCount()).toBe(0);
    expect(gw.events.down.map((e) => e.reason)).toEqual(['not authenticated within 10s']);
    // The IKE_AUTH that comes too late is for an unknown SA: dropped.
    expect(await client.transmit(client.authRequest(ALICE))).toEqual([]);
    expect(gw.errors()).toEqual([]);
  });

  it('an SA that authenticated in time is not affected by the timer', async () => {
    const gw = makeGateway(pskConfig({ ikegate: 'half_open_timeout = 10s' }));
    const client = new TestInitiator(gw);
    await client.connect(ALICE);
    // Only the lifetime timers (CHILD_SA rekey/expiry, IKE_SA rekey) remain armed.
    expect([...gw.engine.sas.values()][0]!.timers.has('half-open')).toBe(false);
    gw.clock.advance(60_000);
    await gw.settle();
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    expect(gw.engine.halfOpenCount()).toBe(0);
  });

  it('half-open SAs count towards the cookie threshold only while they are half-open', async () => {
    const gw = makeGateway(pskConfig({ ikegate: 'cookie_threshold = 1\nhalf_open_timeout = 5s' }));
    const first = new TestInitiator(gw, { local: endpoint('198.51.100.1', 500) });
    await first.init();
    const second = new TestInitiator(gw, { local: endpoint('198.51.100.2', 500) });
    // HDR, SAi1, KEi, Ni  -->  <--  HDR, N(COOKIE): one half-open SA reaches the threshold of 1.
    expect(second.handleInitResponse((await second.transmit(second.initRequest()))[0]).kind).toBe('cookie');
    gw.clock.advance(5_000);
    await gw.settle();
    const third = new TestInitiator(gw, { local: endpoint('198.51.100.3', 500) });
    expect((await third.init(1)).kind).toBe('ok');
  });
});

describe('virtual IP leases', () => {
  it('two clients at once get different IPv4 and IPv6 addresses', async () => {
    const gw = makeGateway(pskConfig());
    const alice = await new TestInitiator(gw, { local: endpoint('198.51.100.1', 500) }).connect(ALICE);
    const bob = await new TestInitiator(gw, { local: endpoint('198.51.100.2', 500) }).connect(BOB);
    expect(alice.cp).toMatchObject({ v4: FIRST_V4, v6: FIRST_V6 });
    expect(bob.cp!.v4).not.toBe(alice.cp!.v4);
    expect(bob.cp!.v6).not.toBe(alice.cp!.v6);
    expect(bob.cp).toMatchObject({ v4: '10.3.0.2', v6: 'fd00:3::2' });
    expect(gw.engine.listSas().map((s) => s.vips)).toEqual([
      [alice.cp!.v4, alice.cp!.v6],
      [bob.cp!.v4, bob.cp!.v6],
    ]);
    expect(gw.dataplane.sas.size).toBe(4);
    expect(gw.dataplane.policies.size).toBe(12);
  });

  it('the same identity reconnecting gets its old addresses back; asking for another one\'s address does not take it', async () => {
    const gw = makeGateway(pskConfig());
    const a1 = new TestInitiator(gw, { local: endpoint('198.51.100.1', 500) });
    const first = await a1.connect(ALICE);
    const bob = await new TestInitiator(gw, { local: endpoint('198.51.100.2', 500) }).connect(BOB);
    // HDR, SK { D(IKE) } -->  <-- HDR, SK {}
    await a1.informational([TestInitiator.deleteIke()]);
    expect(gw.engine.listSas()).toHaveLength(1);

    const a2 = new TestInitiator(gw, { local: endpoint('198.51.100.9', 4500) });
    const again = await a2.connect(ALICE);
    expect(again.cp).toMatchObject({ v4: first.cp!.v4, v6: first.cp!.v6 });

    // Carol asks for Bob's address (RFC 7296 §3.15.1 allows a requested address); Bob keeps it.
    const carol = await new TestInitiator(gw, { local: endpoint('198.51.100.3', 500) }).connect({ id: '@carol.example.com', psk: PSK, cp: { v4: true, v6: true, requestV4: bob.cp!.v4! } });
    expect(carol.cp!.v4).not.toBe(bob.cp!.v4);
    expect(carol.cp!.v4).not.toBe(first.cp!.v4);
  });
});

describe('junk never escapes', () => {
  it('random bytes, truncated datagrams and unknown SPIs are dropped without exceptions; other SAs stay up', async () => {
    const gw = makeGateway(pskConfig());
    const alice = new TestInitiator(gw);
    const auth = await alice.connect(ALICE);
    const peer = endpoint('203.0.113.7', 500);
    const rng = seededRng('junk');

    // Random datagrams of every small length and a few large ones.
    for (let len = 0; len < 80; len++) expect(await gw.send(rng.bytes(len), peer)).toEqual([]);
    for (const len of [300, 1200, 9000]) expect(await gw.send(rng.bytes(len), peer)).toEqual([]);

    // Every truncation of a valid IKE_AUTH request and of an INFORMATIONAL request of the live SA.
    const bob = new TestInitiator(gw, { local: endpoint('198.51.100.20', 500) });
    await bob.init();
    const [authRequest] = bob.authRequest(BOB);
    const [info] = alice.request(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()], { messageId: 2 });
    for (const whole of [authRequest!, info!]) {
      for (let len = 0; len < whole.length; len += 3) expect(await alice.transmit(whole.subarray(0, len))).toEqual([]);
    }

    // Unknown SPIs: a well-formed request for an SA we never had.
    const stranger = new TestInitiator(gw, { local: endpoint('203.0.113.8', 500) });
    const fake = new Uint8Array(info!);
    fake.set(stranger.ispi, 0);
    expect(await gw.send(fake, endpoint('203.0.113.8', 500))).toEqual([]);
    const unknownR = new Uint8Array(info!);
    unknownR.set(rng.bytes(8), 8);
    expect(await alice.transmit(unknownR)).toEqual([]);

    // Alice's SA and CHILD_SA are intact and answer; Bob's half-open SA can still complete.
    expect(gw.engine.listSas().find((s) => s.remoteId === 'alice.example.com')?.state).toBe('ESTABLISHED');
    expect([...gw.dataplane.sas.values()].map((s) => s.id.spi)).toEqual(expect.arrayContaining([auth.child!.spiIn, auth.child!.spiOut]));
    alice.nextMessageId = 2;
    expect((await alice.informational([]))?.inner).toEqual([]);
    expect(bob.handleAuthResponse(await bob.transmit(authRequest!)).ok).toBe(true);
    expect(gw.errors()).toEqual([]);
  });

  it('mutated IKE_SA_INIT requests (every single-byte change of the first 200 bytes) never cause an internal error', async () => {
    const gw = makeGateway(pskConfig({ ikegate: 'cookie_threshold = 1000' }));
    const rng = seededRng('mutations');
    for (let i = 0; i < 200; i++) {
      const client = new TestInitiator(gw, { local: endpoint('198.51.100.50', 1000 + i), rng });
      const bytes = client.initRequest();
      if (i >= bytes.length) break;
      bytes[i] = bytes[i]! ^ (1 + (rng.bytes(1)[0]! % 255));
      await gw.send(bytes, client.local);
    }
    expect(gw.errors()).toEqual([]);
  });
});

describe('engine shutdown and dataplane failures', () => {
  it('close() removes every SA and its dataplane state, and ignores datagrams afterwards', async () => {
    const gw = makeGateway(pskConfig());
    const alice = new TestInitiator(gw, { local: endpoint('198.51.100.1', 500) });
    await alice.connect(ALICE);
    await new TestInitiator(gw, { local: endpoint('198.51.100.2', 500) }).connect(BOB);
    const halfOpen = new TestInitiator(gw, { local: endpoint('198.51.100.3', 500) });
    await halfOpen.init();
    await gw.engine.close('shutdown');
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
    expect(gw.clock.pending).toBe(0);
    expect(await alice.informational([])).toBeUndefined();
    expect(await new TestInitiator(gw, { local: endpoint('198.51.100.4', 500) }).transmit(new TestInitiator(undefined).initRequest())).toEqual([]);
  });

  it('a dataplane that refuses a policy leaks nothing and leaves no SA stuck half-way', async () => {
    class RefusingDataplane extends MemoryDataplane {
      override async installPolicy(): Promise<void> {
        throw new Error('EPERM: policy install refused');
      }
    }
    const gw = makeGateway(pskConfig(), undefined, { dataplane: new RefusingDataplane() });
    const client = new TestInitiator(gw);
    await client.init();
    const answer = await client.transmit(client.authRequest(ALICE));
    await gw.settle();
    // Whatever the answer, the kernel must not keep SAs of a CHILD_SA that does not exist,
    // and the IKE_SA must not hang in 'authenticating' until someone restarts the daemon.
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.engine.listSas().filter((s) => s.state === 'AUTHENTICATING' || s.state === 'HALF-OPEN')).toEqual([]);
    // HDR, SK { IDr, AUTH, CP, N(NO_PROPOSAL_CHOSEN) }: the CHILD_SA failed, the IKE_SA stands (RFC 7296 §1.2).
    const auth = client.handleAuthResponse(answer);
    expect(auth.error).toBe(NotifyType.NO_PROPOSAL_CHOSEN);
    expect(auth.authVerified).toBe(true);
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', children: [] });
    expect(gw.errors().map((l) => l.msg)).toEqual([expect.stringContaining('EPERM: policy install refused')]);
  });
});
