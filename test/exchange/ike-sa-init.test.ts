// IKE_SA_INIT as responder: the error answers of RFC 7296 §1.2, §2.5, §2.6, §2.7, §2.21 and
// NAT detection (§2.23). Error answers are unprotected, carry a zero SPIr and keep no state.
import { describe, expect, it } from 'vitest';
import { ExchangeType, HeaderFlag, KeId, NotifyType } from '../../src/ike/constants.js';
import type { Payload } from '../../src/ike/codec/payload.js';
import { endpoint } from '../../src/net/endpoint.js';
import { PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway, type Gateway } from '../helpers/gateway.js';
import { TestInitiator, clearPayloads } from '../helpers/initiator.js';

const CLIENT_ID = '@client.example.com';

/** The single notify of an unprotected error response, with header checks every such answer must pass. */
function errorAnswer(bytes: Uint8Array | undefined, ispi: Uint8Array): { notify: number; data: Uint8Array; majorVersion: number } {
  expect(bytes).toBeDefined();
  const { header, payloads } = clearPayloads(bytes!);
  expect(header.exchange).toBe(ExchangeType.IKE_SA_INIT);
  expect(header.flags & HeaderFlag.RESPONSE).toBeTruthy();
  expect(header.flags & HeaderFlag.INITIATOR).toBe(0);
  expect(Buffer.from(header.ispi)).toEqual(Buffer.from(ispi));
  expect(Buffer.from(header.rspi)).toEqual(Buffer.alloc(8));
  expect(payloads).toHaveLength(1);
  const n = payloads[0]!;
  if (n.kind !== 'notify') throw new Error(`expected a notify, got ${n.kind}`);
  return { notify: n.notify, data: n.data, majorVersion: header.majorVersion };
}

function noState(gw: Gateway): void {
  expect(gw.engine.sas.size).toBe(0);
  expect(gw.engine.halfOpenCount()).toBe(0);
  expect(gw.clock.pending).toBe(0);
}

describe('IKE_SA_INIT errors', () => {
  it('NO_PROPOSAL_CHOSEN when no configured proposal matches, and no state is kept', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw, { ike: ['aes192-sha512-ecp256'] });
    // HDR, SAi1(AES_CBC_192/HMAC_SHA2_512/ECP_256), KEi, Ni  -->  <--  HDR, N(NO_PROPOSAL_CHOSEN)
    const [answer] = await client.transmit(client.initRequest());
    expect(errorAnswer(answer, client.ispi).notify).toBe(NotifyType.NO_PROPOSAL_CHOSEN);
    noState(gw);
  });

  it('INVALID_KE_PAYLOAD names the group to use; the retry with that group succeeds', async () => {
    const gw = makeGateway(pskConfig({ proposals: 'aes256gcm16-prfsha384-ecp384' }));
    const client = new TestInitiator(gw, { ike: ['aes256gcm16-prfsha384-modp3072-ecp384'], keGroup: KeId.MODP_3072 });
    // HDR, SAi1(MODP_3072, ECP_384), KEi(MODP_3072), Ni  -->  <--  HDR, N(INVALID_KE_PAYLOAD, ECP_384)
    const [answer] = await client.transmit(client.initRequest());
    const n = errorAnswer(answer, client.ispi);
    expect(n.notify).toBe(NotifyType.INVALID_KE_PAYLOAD);
    expect([...n.data]).toEqual([0, KeId.ECP_384]);
    noState(gw);

    expect(client.handleInitResponse(answer)).toEqual({ kind: 'invalid-ke', group: KeId.ECP_384 });
    // HDR, SAi1, KEi(ECP_384), Ni  -->  <--  HDR, SAr1, KEr(ECP_384), Nr
    const [ok] = await client.transmit(client.initRequest());
    expect(client.handleInitResponse(ok).kind).toBe('ok');
    expect(gw.engine.listSas()[0]!.proposal).toBe('IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384');
    expect((await client.auth({ id: CLIENT_ID, psk: PSK })).ok).toBe(true);
  });

  it('demands a COOKIE at the half-open threshold, accepts the right one and refuses a wrong one', async () => {
    const gw = makeGateway(pskConfig({ ikegate: 'cookie_threshold = 2' }));
    for (const host of ['198.51.100.1', '198.51.100.2']) {
      const c = new TestInitiator(gw, { local: endpoint(host, 500) });
      expect((await c.init()).kind).toBe('ok');
    }
    expect(gw.engine.halfOpenCount()).toBe(2);

    // HDR, SAi1, KEi, Ni  -->  <--  HDR, N(COOKIE)
    const late = new TestInitiator(gw, { local: endpoint('198.51.100.3', 500) });
    const [cookieAnswer] = await late.transmit(late.initRequest());
    const n = errorAnswer(cookieAnswer, late.ispi);
    expect(n.notify).toBe(NotifyType.COOKIE);
    expect(n.data.length).toBeGreaterThan(0);
    expect(gw.engine.sas.size).toBe(2);

    // A cookie that is not the one handed out: another COOKIE demand, still no state.
    const forged = n.data.slice();
    forged[forged.length - 1]! ^= 0x01;
    const [again] = await late.transmit(late.initRequest({ cookie: forged }));
    expect(errorAnswer(again, late.ispi).notify).toBe(NotifyType.COOKIE);
    expect(gw.engine.sas.size).toBe(2);

    // A cookie made for another initiator SPI is refused as well (it is bound to Ni | IPi | SPIi).
    const thief = new TestInitiator(gw, { local: endpoint('198.51.100.3', 500) });
    const [stolen] = await thief.transmit(thief.initRequest({ cookie: n.data }));
    expect(errorAnswer(stolen, thief.ispi).notify).toBe(NotifyType.COOKIE);
    expect(gw.engine.sas.size).toBe(2);

    // HDR, N(COOKIE), SAi1, KEi, Ni  -->  <--  HDR, SAr1, KEr, Nr
    const [accepted] = await late.transmit(late.initRequest({ cookie: n.data }));
    expect(late.handleInitResponse(accepted).kind).toBe('ok');
    expect(gw.engine.sas.size).toBe(3);
    // AUTH covers the IKE_SA_INIT request that was accepted, the one with the cookie (RFC 7296 §2.15).
    expect((await late.auth({ id: CLIENT_ID, psk: PSK })).ok).toBe(true);
  });

  it('UNSUPPORTED_CRITICAL_PAYLOAD names the type of an unknown critical payload; a non-critical one is skipped', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    const unknown = (critical: boolean): Payload => ({ kind: 'unknown', critical, type: 200, body: new Uint8Array([1, 2, 3, 4]) });
    // HDR, SAi1, KEi, Ni, ??(200, critical)  -->  <--  HDR, N(UNSUPPORTED_CRITICAL_PAYLOAD, 200)
    const [answer] = await client.transmit(client.initRequest({ extra: [unknown(true)] }));
    const n = errorAnswer(answer, client.ispi);
    expect(n.notify).toBe(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD);
    expect([...n.data]).toEqual([200]);
    noState(gw);

    const other = new TestInitiator(gw);
    const [ok] = await other.transmit(other.initRequest({ extra: [unknown(false)] }));
    expect(other.handleInitResponse(ok).kind).toBe('ok');
  });

  const malformed: [string, (p: Payload[]) => Payload[]][] = [
    ['a nonce of 8 octets (RFC 7296 §2.10: at least 16)', (p) => p.map((x) => (x.kind === 'nonce' ? { ...x, nonce: new Uint8Array(8) } : x))],
    ['no KE payload', (p) => p.filter((x) => x.kind !== 'ke')],
    ['two SA payloads', (p) => [...p.filter((x) => x.kind === 'sa'), ...p]],
    ['an SK payload in IKE_SA_INIT', (p) => [...p, { kind: 'sk', critical: false, firstInner: 0, body: new Uint8Array(32) }]],
    ['a KE payload of the wrong length for its group', (p) => p.map((x) => (x.kind === 'ke' ? { ...x, data: x.data.subarray(0, 16) } : x))],
  ];
  it.each(malformed)('INVALID_SYNTAX for %s', async (_, edit) => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    const [answer] = await client.transmit(client.initRequest({ edit }));
    expect(errorAnswer(answer, client.ispi).notify).toBe(NotifyType.INVALID_SYNTAX);
    noState(gw);
    expect(gw.errors()).toEqual([]);
  });

  it('INVALID_SYNTAX for a payload whose length runs past the message', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    const bytes = client.initRequest();
    // The first payload (SA) header starts at offset 28; its length field is at 30..31.
    const broken = bytes.slice();
    new DataView(broken.buffer).setUint16(30, bytes.length);
    const [answer] = await client.transmit(broken);
    expect(errorAnswer(answer, client.ispi).notify).toBe(NotifyType.INVALID_SYNTAX);
    noState(gw);
  });

  it('INVALID_MAJOR_VERSION for IKE version 3, answered as version 2 (RFC 7296 §2.5)', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    const [answer] = await client.transmit(client.initRequest({ header: { majorVersion: 3 } }));
    const n = errorAnswer(answer, client.ispi);
    expect(n.notify).toBe(NotifyType.INVALID_MAJOR_VERSION);
    expect(n.majorVersion).toBe(2);
    noState(gw);
  });

  it('a response-flagged IKE_SA_INIT is not a request and gets no answer', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    const answers = await client.transmit(client.initRequest({ header: { flags: HeaderFlag.RESPONSE } }));
    expect(answers).toEqual([]);
    noState(gw);
  });
});

describe('NAT detection (RFC 7296 §2.23)', () => {
  it('the responder reports hashes of the addresses as it sees them', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const { natHash } = await import('../../src/ike/exchanges/steps/nat-detection.js');
    const src = client.initNotify(NotifyType.NAT_DETECTION_SOURCE_IP)!;
    const dst = client.initNotify(NotifyType.NAT_DETECTION_DESTINATION_IP)!;
    expect(Buffer.from(src.data)).toEqual(Buffer.from(natHash(client.ispi, client.rspi, gw.address)));
    expect(Buffer.from(dst.data)).toEqual(Buffer.from(natHash(client.ispi, client.rspi, client.local)));
    expect(gw.engine.listSas()[0]).toMatchObject({ natLocal: false, natRemote: false });
  });

  it('a mismatching source hash marks the peer as behind NAT and the CHILD_SA as UDP-encapsulated', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw, { nat: 'wrong-source' });
    const auth = await client.connect({ id: CLIENT_ID, psk: PSK });
    expect(auth.ok).toBe(true);
    expect(gw.engine.listSas()[0]).toMatchObject({ natRemote: true, natLocal: false });
    for (const sa of gw.dataplane.sas.values()) expect(sa.encap).toBeDefined();
  });

  it('a mismatching destination hash means we are behind NAT', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw, { nat: 'wrong-destination' });
    await client.init();
    expect(gw.engine.listSas()[0]).toMatchObject({ natRemote: false, natLocal: true });
  });
});
