// Message IDs, retransmissions and damaged messages (RFC 7296 §2.1, §2.2, §2.5, §2.21.2):
// a retransmitted request gets the cached response and changes nothing; old or future
// message IDs and failed integrity checks are dropped silently; authenticated garbage is
// answered with INVALID_SYNTAX and costs the peer its IKE_SA.
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType, PayloadType } from '../../src/ike/constants.js';
import type { Payload } from '../../src/ike/codec/payload.js';
import { PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, flipBit, withMessageId, type AuthOptions } from '../helpers/initiator.js';

const ALICE: AuthOptions = { id: '@client.example.com', psk: PSK };

async function established(): Promise<{ gw: Gateway; client: TestInitiator }> {
  const gw = makeGateway(pskConfig());
  const client = new TestInitiator(gw);
  await client.connect(ALICE);
  return { gw, client };
}

function gone(gw: Gateway): void {
  expect(gw.engine.listSas()).toEqual([]);
  expect(gw.dataplane.sas.size).toBe(0);
  expect(gw.dataplane.policies.size).toBe(0);
  expect(gw.pools.list().every((l) => !l.online)).toBe(true);
}

describe('retransmissions', () => {
  it('a retransmitted IKE_SA_INIT gets the identical response and creates no second SA', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    const request = client.initRequest();
    // HDR, SAi1, KEi, Ni  -->  <--  HDR, SAr1, KEr, Nr ; the same request again --> the same response
    const [first] = await client.transmit(request);
    const [second] = await client.transmit(request);
    expect(first).toBeDefined();
    expect(Buffer.from(second!)).toEqual(Buffer.from(first!));
    expect(gw.engine.sas.size).toBe(1);
    expect(gw.engine.halfOpenCount()).toBe(1);

    // Same SPIi and address but different content is not a retransmission: dropped.
    const other = client.initRequest({ extra: [{ kind: 'vendor', critical: false, data: new Uint8Array([1, 2, 3]) }] });
    expect(await client.transmit(other)).toEqual([]);
    expect(gw.engine.sas.size).toBe(1);

    expect(client.handleInitResponse(first).kind).toBe('ok');
    client.message1 = request;
    expect((await client.auth(ALICE)).ok).toBe(true);
  });

  it('a retransmitted IKE_AUTH gets the cached response and installs nothing twice', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const request = client.authRequest(ALICE);
    const first = await client.transmit(request);
    const callsAfterFirst = [...gw.dataplane.calls];
    const leasesAfterFirst = gw.pools.list();

    const second = await client.transmit(request);
    expect(second.map((b) => Buffer.from(b))).toEqual(first.map((b) => Buffer.from(b)));
    expect(gw.dataplane.calls).toEqual(callsAfterFirst);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.pools.list()).toEqual(leasesAfterFirst);
    expect(gw.events.up).toHaveLength(1);
    expect(client.handleAuthResponse(second).ok).toBe(true);
  });

  it('a request with an old message ID but new content is dropped; so is one from the future', async () => {
    const { gw, client } = await established();
    // INFORMATIONAL request 1 (IKE_AUTH used 1 already) with different content: no answer.
    const stale = client.request(ExchangeType.INFORMATIONAL, [], { messageId: 1 });
    expect(await client.transmit(stale)).toEqual([]);
    // Message ID 7 while 2 is expected: outside the window of 1 (RFC 7296 §2.3), no answer.
    const future = client.request(ExchangeType.INFORMATIONAL, [], { messageId: 7 });
    expect(await client.transmit(future)).toEqual([]);
    // A message ID changed in transit breaks the ICV.
    const tampered = withMessageId(client.request(ExchangeType.INFORMATIONAL, [], { messageId: 2 })[0]!, 3);
    expect(await client.transmit(tampered)).toEqual([]);
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    // The right next request is still answered.
    client.nextMessageId = 2;
    const live = await client.informational([]);
    expect(live?.header.messageId).toBe(2);
    expect(live?.inner).toEqual([]);
  });
});

describe('damaged messages', () => {
  it('a flipped bit in the ICV of IKE_AUTH is dropped silently; the intact request then succeeds', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const [request] = client.authRequest(ALICE);
    expect(await client.transmit(flipBit(request!, -1))).toEqual([]);
    expect(gw.engine.listSas()[0]!.state).toBe('HALF-OPEN');
    expect(gw.dataplane.sas.size).toBe(0);
    const answer = await client.transmit(request!);
    expect(client.handleAuthResponse(answer).ok).toBe(true);
  });

  it('a flipped bit in the ciphertext of an INFORMATIONAL request is dropped; the SA stays up', async () => {
    const { gw, client } = await established();
    const [request] = client.request(ExchangeType.INFORMATIONAL, [TestInitiator.deleteIke()]);
    expect(await client.transmit(flipBit(request!, 28 + 4 + 20))).toEqual([]);
    expect(await client.transmit(flipBit(request!, -1, 7))).toEqual([]);
    expect(gw.engine.listSas()).toHaveLength(1);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.errors()).toEqual([]);
  });

  it('authenticated but undecodable inner payloads: INVALID_SYNTAX, then the IKE_SA is deleted', async () => {
    const { gw, client } = await established();
    // HDR, SK { N with a length running past the end }  -->  <--  HDR, SK { N(INVALID_SYNTAX) }
    const garbage = new Uint8Array([0, 0, 0x40, 0x00, 1, 2, 3, 4]);
    const answer = await client.transmit(client.requestRaw(ExchangeType.INFORMATIONAL, PayloadType.NOTIFY, garbage));
    const opened = client.openResponse(answer);
    expect(opened?.inner).toEqual([expect.objectContaining({ kind: 'notify', notify: NotifyType.INVALID_SYNTAX })]);
    gone(gw);
  });

  it('authenticated but illegal payloads in INFORMATIONAL: INVALID_SYNTAX, then the IKE_SA is deleted (architecture §9.3)', async () => {
    const { gw, client } = await established();
    // HDR, SK { IDi }: IDi is not allowed in INFORMATIONAL (RFC 7296 §1.4)
    const idi: Payload = { kind: 'idi', critical: false, idType: 2, data: new TextEncoder().encode('x') };
    const opened = await client.informational([idi]);
    expect(opened?.inner).toEqual([expect.objectContaining({ kind: 'notify', notify: NotifyType.INVALID_SYNTAX })]);
    gone(gw);
  });

  it('an unknown critical payload inside SK of INFORMATIONAL is refused with UNSUPPORTED_CRITICAL_PAYLOAD (RFC 7296 §2.5)', async () => {
    const { gw, client } = await established();
    const unknown: Payload = { kind: 'unknown', critical: true, type: 201, body: new Uint8Array(4) };
    // HDR, SK { D(IKE), ??(201, critical) }: the whole message must be rejected, the Delete not acted on.
    const opened = await client.informational([TestInitiator.deleteIke(), unknown]);
    expect(opened?.inner).toEqual([expect.objectContaining({ kind: 'notify', notify: NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD })]);
    const n = opened!.inner[0]!;
    expect(n.kind === 'notify' && [...n.data]).toEqual([201]);
    expect(gw.engine.listSas()).toHaveLength(1);
  });

  it('an unknown critical payload inside SK of IKE_AUTH: UNSUPPORTED_CRITICAL_PAYLOAD, nothing installed, SA gone', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ ...ALICE, extraInner: [{ kind: 'unknown', critical: true, type: 202, body: new Uint8Array(2) }] });
    expect(auth.error).toBe(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
    gone(gw);
  });

  it('authenticated garbage in IKE_AUTH: INVALID_SYNTAX, the half-open SA is deleted', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const answer = await client.transmit(client.requestRaw(ExchangeType.IKE_AUTH, PayloadType.IDi, new Uint8Array([0, 0, 0, 3])));
    expect(client.openResponse(answer)?.inner).toEqual([expect.objectContaining({ kind: 'notify', notify: NotifyType.INVALID_SYNTAX })]);
    gone(gw);
    expect(gw.engine.halfOpenCount()).toBe(0);
  });
});
