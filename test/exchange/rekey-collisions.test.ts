// Rekey collisions (RFC 7296 §2.8.1, §2.8.2, §2.25): the orderings of strongSwan's
// test_child_rekey.c and test_ike_rekey.c, ported as our own tests (names in the comments).
// The gateway plays one peer, the test client the other; messages are held back to produce
// each ordering. Nonces are steered by their first byte: the replacement whose exchange holds
// the lowest of the four nonces is redundant and is deleted by the side that initiated it; the
// replaced SA is deleted by the side that initiated the surviving replacement.
import { describe, expect, it } from 'vitest';
import { seededRng } from '../../src/crypto/random.js';
import { ExchangeType, NotifyType } from '../../src/ike/constants.js';
import type { PayloadOf } from '../../src/ike/codec/payload.js';
import { tsAny } from '../../src/policy/traffic-selectors.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';
import { NonceSteeringRng, PeerSession, errorOf, nonceStarting, outgoing, rekeyConfig, u32, type RekeyConfigOptions } from '../helpers/rekey-peer.js';

const ALICE: AuthOptions = { id: '@client.example.com', psk: 'correct horse battery staple', cp: { v4: true }, esp: ['aes256-sha256'], tsi: [tsAny(4)], tsr: [tsAny(4)] };
const HOUR = 3600_000;
const TS = { tsi: [tsAny(4)], tsr: [tsAny(4)] };

async function established(c: RekeyConfigOptions) {
  const rng = new NonceSteeringRng(seededRng('collisions'));
  const gw = makeGateway(rekeyConfig(c), undefined, { rng });
  const client = new TestInitiator(gw);
  const auth = await client.connect(ALICE);
  gw.transport.take();
  return { gw, rng, client, peer: PeerSession.of(gw, client), child: auth.child! };
}

async function advance(gw: Gateway, ms: number) {
  gw.clock.advance(ms);
  await gw.settle();
}

const deleted = (inner: { kind: string }[]) => u32((inner[0] as PayloadOf<'delete'>).spis[0]!);

/** The four nonce first bytes of strongSwan's data[] rows: N1 gateway Ni, N2 peer Ni, N3 peer Nr, N4 gateway Nr. */
const ORDERINGS = [
  { nonces: [0x00, 0xff, 0xff, 0xff], gatewayWins: false },
  { nonces: [0xff, 0x00, 0xff, 0xff], gatewayWins: true },
  { nonces: [0xff, 0xff, 0x00, 0xff], gatewayWins: false },
  { nonces: [0xff, 0xff, 0xff, 0x00], gatewayWins: true },
] as const;

describe('CHILD_SA rekey collisions (test_child_rekey.c)', () => {
  /**
   * Both sides rekey the same CHILD_SA at once and the gateway (a) sees both exchanges before
   * deciding. Returns everything a test needs to finish the ordering.
   */
  async function bothRekey(nonces: readonly number[]) {
    const e = await established({ childRekey: '1h', childLife: '2h' });
    const { gw, rng, client, peer, child } = e;
    const reqid = peer.gatewaySa.children[0]!.reqid;
    // a: rekey ----\       /---- rekey :b
    rng.firstByte = nonces[0];
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    //                \-----/----> b answers a (below)
    // a handles b's   <---/
    rng.firstByte = nonces[3];
    const b = peer.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha256'], ni: nonceStarting(nonces[1]!), ...TS });
    const respB = await peer.exchange(ExchangeType.CREATE_CHILD_SA, b.inner);
    const peerChild = peer.childResult(respB!.inner, b.pending);
    const sa = peer.gatewaySa;
    expect(sa.children[0]!.state).toBe('rekeyed');
    // b answers a's request.
    const answerA = peer.answerChildRequest(reqA, { nr: nonceStarting(nonces[2]!) });
    return { ...e, sa, answerA, peerChild, reqid };
  }

  for (const [i, o] of ORDERINGS.entries()) {
    it(`test_collision #${i}: ${o.gatewayWins ? 'the peer' : 'the gateway'} holds the lowest nonce and deletes its redundant SA`, async () => {
      const { gw, sa, peer, child, answerA, peerChild, reqid } = await bothRekey(o.nonces);
      // <-- CREATE_CHILD_SA { SA, Nr, TSi, TSr } (the answer to the gateway's rekey)
      const afterA = await peer.deliver(answerA.bytes);
      const gwDelete = peer.open(afterA[0]!);
      if (o.gatewayWins) {
        // The gateway keeps its replacement and deletes the old SA; the peer deletes its redundant one.
        expect(deleted(gwDelete.inner)).toBe(child.spiOut);
        const theirs = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(peerChild.spiIn)]);
        expect(deleted(theirs!.inner)).toBe(peerChild.spiOut);
        await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(child.spiIn)]));
        expect(sa.children.map((c) => [c.spiIn, c.spiOut])).toEqual([[answerA.result.spiOut, answerA.result.spiIn]]);
      } else {
        // The gateway deletes its own redundant replacement (never installed); the peer deletes the old SA.
        expect(deleted(gwDelete.inner)).toBe(answerA.result.spiOut);
        const theirs = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(child.spiIn)]);
        expect(deleted(theirs!.inner)).toBe(child.spiOut);
        await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(answerA.result.spiIn)]));
        expect(sa.children.map((c) => [c.spiIn, c.spiOut])).toEqual([[peerChild.spiOut, peerChild.spiIn]]);
      }
      // One pair left, both directions installed, policies never touched.
      const [survivor] = sa.children;
      expect(survivor!.state).toBe('installed');
      expect(survivor!.reqid).toBe(reqid);
      expect(gw.logs.some((l) => l.msg.includes(`rekey collision ${o.gatewayWins ? 'won' : 'lost'}`))).toBe(true);
      expect(gw.dataplane.sas.size).toBe(2);
      expect(gw.dataplane.calls.filter((c) => c.startsWith('deletePolicy'))).toEqual([]);
      expect(gw.errors()).toEqual([]);
    });

    it(`test_collision_delayed_response #${i}: the peer settles the collision before the gateway sees its answer`, async () => {
      const { gw, sa, peer, child, answerA, peerChild } = await bothRekey(o.nonces);
      // The peer's answer to the gateway is delayed; the peer already acts on the collision.
      if (o.gatewayWins) {
        // The peer lost: it deletes its redundant SA, which gives the policies back to the old one.
        const theirs = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(peerChild.spiIn)]);
        expect(deleted(theirs!.inner)).toBe(peerChild.spiOut);
        const afterA = await peer.deliver(answerA.bytes);
        const gwDelete = peer.open(afterA[0]!);
        expect(deleted(gwDelete.inner)).toBe(child.spiOut);
        await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(child.spiIn)]));
        expect(sa.children.map((c) => c.spiIn)).toEqual([answerA.result.spiOut]);
      } else {
        // The peer won: it deletes the old SA first; the gateway's late answer makes it delete its redundant one.
        const theirs = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(child.spiIn)]);
        expect(deleted(theirs!.inner)).toBe(child.spiOut);
        const afterA = await peer.deliver(answerA.bytes);
        const gwDelete = peer.open(afterA[0]!);
        expect(deleted(gwDelete.inner)).toBe(answerA.result.spiOut);
        await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(answerA.result.spiIn)]));
        expect(sa.children.map((c) => c.spiIn)).toEqual([peerChild.spiOut]);
      }
      expect(gw.dataplane.sas.size).toBe(2);
      expect(gw.dataplane.policies.size).toBeGreaterThan(0);
      expect(gw.errors()).toEqual([]);
    });
  }

  it('test_collision_delayed_request (gateway answers): the peer rekey arrives after ours completed: TEMPORARY_FAILURE', async () => {
    const { gw, client, peer, child } = await established({ childRekey: '1h', childLife: '2h' });
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    const delayed = peer.request(ExchangeType.CREATE_CHILD_SA, peer.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha256'], ...TS }).inner);
    const answerA = peer.answerChildRequest(reqA);
    const gwDelete = peer.open((await peer.deliver(answerA.bytes))[0]!);
    expect(deleted(gwDelete.inner)).toBe(child.spiOut);
    // CREATE_CHILD_SA { N(REKEY_SA), … } --> (delayed)   <-- { N(TEMPORARY_FAILURE) }
    const tf = peer.open((await peer.deliver(delayed))[0]!);
    expect(errorOf(tf.inner)).toBe(NotifyType.TEMPORARY_FAILURE);
    await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(child.spiIn)]));
    expect(peer.gatewaySa.children.map((c) => c.spiIn)).toEqual([answerA.result.spiOut]);
    expect(gw.errors()).toEqual([]);
  });

  it('test_collision_delayed_request (gateway rekeys): the peer completes first and answers our late request with TEMPORARY_FAILURE', async () => {
    const { gw, client, peer, child } = await established({ childRekey: '1h', childLife: '2h' });
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    const b = peer.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha256'], ...TS });
    const peerChild = peer.childResult((await peer.exchange(ExchangeType.CREATE_CHILD_SA, b.inner))!.inner, b.pending);
    // The peer deletes the old SA (it never saw our request yet).
    const d = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(child.spiIn)]);
    expect(deleted(d!.inner)).toBe(child.spiOut);
    // <-- { N(TEMPORARY_FAILURE) } for our rekey: nothing left to rekey, no retry.
    await peer.deliver(peer.response(reqA.header, [{ kind: 'notify', critical: false, protocol: 0, spi: new Uint8Array(0), notify: NotifyType.TEMPORARY_FAILURE, data: new Uint8Array(0) }]));
    await advance(gw, 20_000);
    expect(outgoing(gw, client.local)).toEqual([]);
    expect(peer.gatewaySa.children.map((c) => [c.spiIn, c.state])).toEqual([[peerChild.spiOut, 'installed']]);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.errors()).toEqual([]);
  });

  it('test_collision_delayed_request_more: the peer rekey arrives after the old SA is gone: CHILD_SA_NOT_FOUND', async () => {
    const { gw, client, peer, child } = await established({ childRekey: '1h', childLife: '2h' });
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    const delayed = peer.request(ExchangeType.CREATE_CHILD_SA, peer.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha256'], ...TS }).inner);
    const gwDelete = peer.open((await peer.deliver(peer.answerChildRequest(reqA).bytes))[0]!);
    await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(child.spiIn)]));
    const nf = peer.open((await peer.deliver(delayed))[0]!);
    expect(errorOf(nf.inner)).toBe(NotifyType.CHILD_SA_NOT_FOUND);
    expect(peer.gatewaySa.children).toHaveLength(1);
  });

  it('test_collision_delete (gateway rekeys, peer deletes): the Delete is answered as usual; TEMPORARY_FAILURE ends our rekey', async () => {
    const { gw, client, peer, child } = await established({ childRekey: '1h', childLife: '2h' });
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    const d = await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(child.spiIn)]);
    expect(deleted(d!.inner)).toBe(child.spiOut);
    expect(peer.gatewaySa.children).toEqual([]);
    await peer.deliver(peer.response(reqA.header, [{ kind: 'notify', critical: false, protocol: 0, spi: new Uint8Array(0), notify: NotifyType.TEMPORARY_FAILURE, data: new Uint8Array(0) }]));
    await advance(gw, 20_000);
    expect(outgoing(gw, client.local)).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    expect(gw.errors()).toEqual([]);
  });

  it('test_collision_delete (gateway deletes, peer rekeys): TEMPORARY_FAILURE for the rekey of a CHILD_SA being deleted', async () => {
    const { gw, client, peer, child } = await established({ childLife: '2h' });
    await advance(gw, 2 * HOUR);
    const gwDelete = peer.open(outgoing(gw, client.local)[0]!);
    const tf = await peer.exchange(ExchangeType.CREATE_CHILD_SA, peer.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha256'], ...TS }).inner);
    expect(errorOf(tf!.inner)).toBe(NotifyType.TEMPORARY_FAILURE);
    await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(child.spiIn)]));
    expect(peer.gatewaySa.children).toEqual([]);
  });

  it('test_collision_delete_drop_rekey: the rekey arrives after the delete completed: CHILD_SA_NOT_FOUND', async () => {
    const { gw, client, peer, child } = await established({ childLife: '2h' });
    const delayed = peer.request(ExchangeType.CREATE_CHILD_SA, peer.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha256'], ...TS }).inner);
    await advance(gw, 2 * HOUR);
    const gwDelete = peer.open(outgoing(gw, client.local)[0]!);
    await peer.deliver(peer.response(gwDelete.header, [TestInitiator.deleteChild(child.spiIn)]));
    expect(errorOf(peer.open((await peer.deliver(delayed))[0]!).inner)).toBe(NotifyType.CHILD_SA_NOT_FOUND);
  });

  it('test_collision_ike_rekey (gateway rekeys the CHILD_SA, peer the IKE_SA): TEMPORARY_FAILURE both ways, retried later', async () => {
    const { gw, client, peer } = await established({ childRekey: '1h', childLife: '2h' });
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    // CREATE_CHILD_SA { SA(IKE), Ni, KEi } -->  <-- { N(TEMPORARY_FAILURE) }   (§2.25.2)
    const ike = peer.ikeRekeyRequest({ ike: ['aes256gcm16-prfsha256-x25519'] });
    expect(errorOf((await peer.exchange(ExchangeType.CREATE_CHILD_SA, ike.inner))!.inner)).toBe(NotifyType.TEMPORARY_FAILURE);
    expect(peer.gatewaySa.phase).toBe('established');
    // The peer refuses ours too; we retry a few seconds later.
    await peer.deliver(peer.response(reqA.header, [{ kind: 'notify', critical: false, protocol: 0, spi: new Uint8Array(0), notify: NotifyType.TEMPORARY_FAILURE, data: new Uint8Array(0) }]));
    expect(peer.gatewaySa.children[0]!.state).toBe('installed');
    await advance(gw, 20_000);
    expect(peer.open(outgoing(gw, client.local)[0]!).header.exchange).toBe(ExchangeType.CREATE_CHILD_SA);
  });

  it('test_collision_ike_rekey (gateway rekeys the IKE_SA, peer a CHILD_SA): TEMPORARY_FAILURE for the CHILD_SA rekey', async () => {
    const { gw, client, peer, child } = await established({ ikeRekey: '1h' });
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    const tf = await peer.exchange(ExchangeType.CREATE_CHILD_SA, peer.childRequest({ rekeySpi: child.spiIn, esp: ['aes256-sha256'], ...TS }).inner);
    expect(errorOf(tf!.inner)).toBe(NotifyType.TEMPORARY_FAILURE);
    await peer.deliver(peer.response(reqA.header, [{ kind: 'notify', critical: false, protocol: 0, spi: new Uint8Array(0), notify: NotifyType.TEMPORARY_FAILURE, data: new Uint8Array(0) }]));
    expect(peer.gatewaySa.phase).toBe('established');
    expect(peer.gatewaySa.ikeRekey).toBeUndefined();
  });

  it('test_collision_ike_delete: the peer deletes the IKE_SA while our CHILD_SA rekey is in flight', async () => {
    const { gw, client, peer } = await established({ childRekey: '1h', childLife: '2h' });
    await advance(gw, HOUR);
    expect(outgoing(gw, client.local)).toHaveLength(1);
    expect((await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()]))!.inner).toEqual([]);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.errors()).toEqual([]);
  });
});

describe('IKE_SA rekey collisions (test_ike_rekey.c)', () => {
  for (const [i, o] of ORDERINGS.entries()) {
    it(`test_collision #${i}: ${o.gatewayWins ? "the gateway's" : "the peer's"} new IKE_SA survives with the CHILD_SA`, async () => {
      const { gw, rng, client, peer } = await established({ ikeRekey: '1h' });
      const old = peer.gatewaySa;
      rng.firstByte = o.nonces[0];
      await advance(gw, HOUR);
      const reqA = peer.open(outgoing(gw, client.local)[0]!);
      // CREATE_CHILD_SA { SA, Ni, KEi } from the peer, answered while ours is in flight.
      rng.firstByte = o.nonces[3];
      const b = peer.ikeRekeyRequest({ ike: ['aes256gcm16-prfsha256-x25519'], ni: nonceStarting(o.nonces[1]!) });
      const sB = peer.ikeRekeyResult((await peer.exchange(ExchangeType.CREATE_CHILD_SA, b.inner))!.inner, b.pending);
      expect(old.phase).toBe('established');
      expect(old.children).toHaveLength(1);
      // <-- our { SA, Nr, KEr }: the gateway decides.
      const { bytes, session: sA } = peer.answerIkeRekey(reqA, { nr: nonceStarting(o.nonces[2]!) });
      const after = await peer.deliver(bytes);
      if (o.gatewayWins) {
        // The gateway keeps sA and deletes the old IKE_SA; the peer deletes its redundant sB.
        const del = peer.open(after.find((d) => peer.owns(d))!);
        expect(del.inner).toEqual([expect.objectContaining({ kind: 'delete', protocol: 1 })]);
        expect(await sB.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()])).toMatchObject({ inner: [] });
        await peer.deliver(peer.response(del.header, []));
        await gw.settle();
        expect(sA.gatewaySa.children).toHaveLength(1);
      } else {
        // The gateway deletes its redundant sA and keeps sB; the peer deletes the old IKE_SA.
        const del = sA.open(after.find((d) => sA.owns(d))!);
        expect(del.inner).toEqual([expect.objectContaining({ kind: 'delete', protocol: 1 })]);
        expect(old.phase).toBe('rekeyed');
        expect(await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()])).toMatchObject({ inner: [] });
        await sA.deliver(sA.response(del.header, []));
        await gw.settle();
        expect(sB.gatewaySa.children).toHaveLength(1);
      }
      expect(gw.logs.some((l) => l.msg.includes(`IKE_SA rekey collision ${o.gatewayWins ? 'won' : 'lost'}`))).toBe(true);
      expect(gw.engine.listSas()).toHaveLength(1);
      expect(gw.engine.listSas()[0]!.vips).toEqual(['10.3.0.1']);
      expect(gw.dataplane.sas.size).toBe(2);
      expect(gw.errors()).toEqual([]);
    });
  }

  it('test_collision_delayed_request: the peer IKE_SA rekey arrives after ours completed: TEMPORARY_FAILURE', async () => {
    const { gw, client, peer } = await established({ ikeRekey: '1h' });
    await advance(gw, HOUR);
    const reqA = peer.open(outgoing(gw, client.local)[0]!);
    const delayed = peer.request(ExchangeType.CREATE_CHILD_SA, peer.ikeRekeyRequest({ ike: ['aes256gcm16-prfsha256-x25519'] }).inner);
    const { bytes, session } = peer.answerIkeRekey(reqA);
    const del = peer.open((await peer.deliver(bytes)).find((d) => peer.owns(d))!);
    expect(errorOf(peer.open((await peer.deliver(delayed)).find((d) => peer.owns(d))!).inner)).toBe(NotifyType.TEMPORARY_FAILURE);
    await peer.deliver(peer.response(del.header, []));
    await gw.settle();
    expect(session.gatewaySa.children).toHaveLength(1);
    expect(gw.engine.listSas()).toHaveLength(1);
  });

  it('test_collision_delete: the peer deletes the IKE_SA while our IKE_SA rekey is in flight', async () => {
    const { gw, client, peer } = await established({ ikeRekey: '1h' });
    await advance(gw, HOUR);
    expect(outgoing(gw, client.local)).toHaveLength(1);
    expect((await peer.exchange(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()]))!.inner).toEqual([]);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
  });
});
