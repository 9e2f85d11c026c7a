// IKE_SA uniqueness (swanctl `unique`, strongSwan semantics) and INITIAL_CONTACT (RFC 7296
// §2.4): what happens to an established IKE_SA when the same identity authenticates again.
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType, ProtocolId } from '../../src/ike/constants.js';
import { endpoint } from '../../src/net/endpoint.js';
import { FIRST_V4, PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';
import { deliver, openGatewayRequest, sealResponse } from '../helpers/peer-requests.js';

const ALICE: AuthOptions = { id: '@client.example.com', psk: PSK };
const FIRST = endpoint('198.51.100.10', 500);
const SECOND = endpoint('198.51.100.11', 500);
const MS_VID_INITIAL_CONTACT = Buffer.from('26244d38eddb61b3172a36e3d0cfb819', 'hex');

async function twice(unique: string | undefined, second: Partial<AuthOptions> = {}, o: { vid?: boolean } = {}) {
  const gw = makeGateway(pskConfig(unique ? { extra: `unique = ${unique}` } : {}));
  const a = new TestInitiator(gw, { local: FIRST });
  await a.connect(ALICE);
  const firstId = gw.engine.listSas()[0]!.id;
  const b = new TestInitiator(gw, { local: SECOND });
  const init = o.vid
    ? b.handleInitResponse((await b.transmit(b.initRequest({ extra: [{ kind: 'vendor', critical: false, data: new Uint8Array(MS_VID_INITIAL_CONTACT) }] })))[0])
    : await b.init();
  expect(init.kind).toBe('ok');
  const auth = await b.auth({ ...ALICE, ...second });
  await gw.settle();
  return { gw, a, b, auth, firstId };
}

/** Requests the gateway sent to the first client, over the whole test. */
function requestsTo(gw: Gateway, client: TestInitiator) {
  return gw.transport.sent
    .filter((d) => d.remote.address === client.local.address && d.remote.port === client.local.port)
    .map((d) => openGatewayRequest(client, d))
    .filter((r) => r !== undefined);
}

const ids = (gw: Gateway) => gw.engine.listSas().map((s) => s.id);

describe('unique = replace', () => {
  it('the older IKE_SA is deleted (INFORMATIONAL Delete to the old peer); the new one gets the same virtual IP', async () => {
    const { gw, a, auth, firstId } = await twice('replace');
    expect(auth.ok).toBe(true);
    expect(auth.cp?.v4).toBe(FIRST_V4);
    // <--  (to the old peer) HDR, SK { D(IKE) }
    const [del] = requestsTo(gw, a);
    expect(del?.header.exchange).toBe(ExchangeType.INFORMATIONAL);
    expect(del?.inner).toEqual([{ kind: 'delete', critical: false, protocol: ProtocolId.IKE, spiSize: 0, spis: [] }]);
    // The old CHILD_SA is gone at once (its policies would collide with the new ones).
    expect(gw.dataplane.sas.size).toBe(2);
    expect([...gw.engine.sas.values()].find((s) => s.id === firstId)?.phase).toBe('deleting');
    // HDR, SK {}  -->   (the old peer acknowledges)
    await deliver(gw, sealResponse(a, del!.header, []), FIRST);
    expect(ids(gw)).not.toContain(firstId);
    expect(ids(gw)).toHaveLength(1);
    expect(gw.events.down.map((d) => d.reason)).toEqual([expect.stringContaining('unique = replace')]);
  });

  it('an old peer that does not answer the Delete is retired after the retransmission schedule', async () => {
    const { gw, firstId } = await twice('replace');
    // Default schedule: 4 s x 1.8^n, 5 retransmits: about 165 s until it gives up.
    for (let t = 0; t < 200; t++) {
      gw.clock.advance(1000);
      await gw.settle();
    }
    expect(ids(gw)).not.toContain(firstId);
    expect(gw.errors()).toEqual([]);
  });
});

describe('unique = keep', () => {
  it('the new IKE_SA is refused with AUTHENTICATION_FAILED; the old one keeps everything', async () => {
    const { gw, auth, firstId } = await twice('keep');
    expect(auth.ok).toBe(false);
    expect(auth.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    expect(ids(gw)).toEqual([firstId]);
    expect(gw.dataplane.sas.size).toBe(2);
  });

  it('INITIAL_CONTACT still replaces (strongSwan: INITIAL_CONTACT forces the replacement)', async () => {
    const { gw, auth, firstId } = await twice('keep', { initialContact: true });
    expect(auth.ok).toBe(true);
    expect(ids(gw)).toHaveLength(1);
    expect(ids(gw)).not.toContain(firstId);
  });
});

describe('unique = never', () => {
  it('several IKE_SAs per identity, even with INITIAL_CONTACT', async () => {
    const { gw, auth } = await twice('never', { initialContact: true });
    expect(auth.ok).toBe(true);
    expect(ids(gw)).toHaveLength(2);
    expect(gw.dataplane.sas.size).toBe(4);
  });
});

describe('unique = no (what legacy uniqueids=no becomes: several SAs per identity)', () => {
  it('both IKE_SAs stay, even with INITIAL_CONTACT (as never)', async () => {
    const { gw, auth } = await twice('no', { initialContact: true });
    expect(auth.ok).toBe(true);
    expect(ids(gw)).toHaveLength(2);
    expect(gw.dataplane.sas.size).toBe(4);
  });
});

describe('INITIAL_CONTACT with the default unique = replace', () => {
  it('N(INITIAL_CONTACT) deletes the older IKE_SA silently (the peer has no state for it)', async () => {
    const { gw, a, auth, firstId } = await twice(undefined, { initialContact: true });
    expect(auth.ok).toBe(true);
    expect(auth.cp?.v4).toBe(FIRST_V4);
    expect(ids(gw)).toEqual([expect.not.stringMatching(firstId)]);
    expect(requestsTo(gw, a)).toEqual([]);
  });

  it('the Windows Vid-Initial-Contact vendor ID counts as INITIAL_CONTACT', async () => {
    const { gw, auth, firstId } = await twice(undefined, {}, { vid: true });
    expect(auth.ok).toBe(true);
    expect(ids(gw)).toHaveLength(1);
    expect(ids(gw)).not.toContain(firstId);
  });
});
