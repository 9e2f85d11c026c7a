// INFORMATIONAL as responder (RFC 7296 §1.4, §1.5, §2.4): liveness checks, deleting the
// CHILD_SA, deleting the IKE_SA, and INITIAL_CONTACT replacing stale SAs of the same peer.
import { describe, expect, it } from 'vitest';
import { HeaderFlag, NotifyType, ProtocolId } from '../../src/ike/constants.js';
import { endpoint } from '../../src/net/endpoint.js';
import { FIRST_V4, FIRST_V6, PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';

const ALICE: AuthOptions = { id: '@client.example.com', psk: PSK };

async function established() {
  const gw = makeGateway(pskConfig());
  const client = new TestInitiator(gw);
  const auth = await client.connect(ALICE);
  return { gw, client, auth };
}

describe('INFORMATIONAL', () => {
  it('an empty request is a liveness check and gets an empty response', async () => {
    const { gw, client } = await established();
    // HDR, SK {}  -->  <--  HDR, SK {}
    const answer = await client.informational([]);
    expect(answer?.inner).toEqual([]);
    expect(answer?.header.messageId).toBe(2);
    expect(answer!.header.flags & HeaderFlag.RESPONSE).toBeTruthy();
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    // And the next one advances the window.
    expect((await client.informational([]))?.header.messageId).toBe(3);
  });

  it('Delete of the CHILD_SA is answered with the responder SPI of the pair; SAs and policies go, the IKE_SA stays', async () => {
    const { gw, client, auth } = await established();
    const child = auth.child!;
    // HDR, SK { D(ESP, SPIi) }  -->  <--  HDR, SK { D(ESP, SPIr) }   (RFC 7296 §1.4.1)
    const answer = await client.informational([TestInitiator.deleteChild(child.spiIn)]);
    expect(answer?.inner).toHaveLength(1);
    const d = answer!.inner[0]!;
    if (d.kind !== 'delete') throw new Error(`expected D, got ${d.kind}`);
    expect(d.protocol).toBe(ProtocolId.ESP);
    expect(d.spis.map((s) => Buffer.from(s).readUInt32BE(0))).toEqual([child.spiOut]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
    const [sa] = gw.engine.listSas();
    expect(sa).toMatchObject({ state: 'ESTABLISHED', children: [] });
    // The virtual IPs belong to the IKE_SA and stay assigned.
    expect(gw.pools.list().filter((l) => l.online).map((l) => l.address).sort()).toEqual([FIRST_V4, FIRST_V6].sort());
  });

  it('Delete of an unknown CHILD_SA is answered with an empty response and changes nothing', async () => {
    const { gw, client } = await established();
    const answer = await client.informational([TestInitiator.deleteChild(0x12345678)]);
    expect(answer?.inner).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(2);
  });

  it('Delete of the IKE_SA is answered with an empty response; the SA, its CHILD_SA and its leases go', async () => {
    const { gw, client } = await established();
    // HDR, SK { D(IKE) }  -->  <--  HDR, SK {}
    const answer = await client.informational([TestInitiator.deleteIke()]);
    expect(answer?.inner).toEqual([]);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
    expect(gw.pools.list().map((l) => l.online)).toEqual([false, false]);
    expect(gw.events.down).toHaveLength(1);
    // Only the retransmit-answering linger timer is left; after it the SA is forgotten.
    expect(gw.clock.pending).toBe(1);
    gw.clock.advance(30_000);
    expect(gw.engine.sas.size).toBe(0);
    expect(gw.clock.pending).toBe(0);
    // Anything after the delete is for an unknown SA: no answer.
    expect(await client.informational([])).toBeUndefined();
  });

  it('INITIAL_CONTACT from a new IKE_SA with the same identities deletes the old one (RFC 7296 §2.4)', async () => {
    const { gw, auth: first } = await established();
    const firstSpi = gw.engine.listSas()[0]!.id;
    // The client restarted (new port after its NAT, new SPIs) and says so.
    const again = new TestInitiator(gw, { local: endpoint('198.51.100.10', 4501) });
    const second = await again.connect({ ...ALICE, initialContact: true });
    await gw.settle();
    const sas = gw.engine.listSas();
    expect(sas).toHaveLength(1);
    expect(sas[0]!.id).not.toBe(firstSpi);
    expect(sas[0]!.remote).toBe('198.51.100.10:4501');
    // Only the new CHILD_SA is in the dataplane, complete with its policies.
    const spis = [...gw.dataplane.sas.values()].map((s) => s.id.spi).sort();
    expect(spis).toEqual([second.child!.spiIn, second.child!.spiOut].sort());
    expect(spis).not.toContain(first.child!.spiOut);
    expect(gw.dataplane.policies.size).toBe(6);
    for (const p of gw.dataplane.policies.values()) expect(p.selector.remote === `${second.cp!.v4}/32` || p.selector.remote === `${second.cp!.v6}/128`).toBe(true);
    expect(gw.pools.list().filter((l) => l.online).map((l) => l.address).sort()).toEqual([second.cp!.v4, second.cp!.v6].sort());
    expect(gw.errors()).toEqual([]);
  });

  it('with unique = never and without INITIAL_CONTACT a second IKE_SA of the same identity coexists', async () => {
    const gw = makeGateway(pskConfig({ extra: 'unique = never' }));
    await new TestInitiator(gw).connect(ALICE);
    const again = new TestInitiator(gw, { local: endpoint('198.51.100.10', 4501) });
    await again.connect(ALICE);
    await gw.settle();
    expect(gw.engine.listSas()).toHaveLength(2);
    expect(gw.dataplane.sas.size).toBe(4);
  });

  it('an error notify from the peer is acknowledged with an empty response', async () => {
    const { gw, client } = await established();
    const answer = await client.informational([{ kind: 'notify', critical: false, protocol: 0, spi: new Uint8Array(0), notify: NotifyType.TEMPORARY_FAILURE, data: new Uint8Array(0) }]);
    expect(answer?.inner).toEqual([]);
    expect(gw.engine.listSas()).toHaveLength(1);
  });
});
