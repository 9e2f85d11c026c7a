// CHILD_SA failures inside IKE_AUTH and later exchanges (RFC 7296 §1.2, §1.3, §2.9, §3.15.4):
// they are notified while the IKE_SA survives; nothing half-made reaches the dataplane.
import { describe, expect, it } from 'vitest';
import { ExchangeType, NotifyType } from '../../src/ike/constants.js';
import { endpoint } from '../../src/net/endpoint.js';
import { tsFromCidr } from '../../src/policy/traffic-selectors.js';
import { FIRST_V4, PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';

const ALICE: AuthOptions = { id: '@alice.example.com', psk: PSK };

describe('CHILD_SA errors in IKE_AUTH', () => {
  it('TS_UNACCEPTABLE when TSi lies outside the virtual IP; the IKE_SA is kept, nothing is installed', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    // HDR, SK { IDi, AUTH, CP, SAi2, TSi(10.99.0.0/16), TSr }  -->  <--  HDR, SK { IDr, AUTH, CP, N(TS_UNACCEPTABLE) }
    const auth = await client.auth({ ...ALICE, tsi: [tsFromCidr('10.99.0.0/16')] });
    expect(auth.error).toBe(NotifyType.TS_UNACCEPTABLE);
    expect(auth.authVerified).toBe(true);
    expect(auth.inner.map((p) => p.kind)).not.toContain('sa');
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
    expect(gw.engine.listSas()[0]).toMatchObject({ state: 'ESTABLISHED', children: [] });
  });

  it('NO_PROPOSAL_CHOSEN for unacceptable ESP proposals; the IKE_SA is kept', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ ...ALICE, esp: ['aes192-sha512'] });
    expect(auth.error).toBe(NotifyType.NO_PROPOSAL_CHOSEN);
    expect(auth.authVerified).toBe(true);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
  });

  it('INTERNAL_ADDRESS_FAILURE when the pool is exhausted: no CHILD_SA, and the first client keeps its address', async () => {
    const text = pskConfig().replace('addrs = 10.3.0.0/24', 'addrs = 10.3.0.1-10.3.0.1');
    const gw = makeGateway(text);
    const first = await new TestInitiator(gw, { local: endpoint('198.51.100.1', 500) }).connect({ ...ALICE, cp: { v4: true } });
    expect(first.cp?.v4).toBe(FIRST_V4);
    const second = new TestInitiator(gw, { local: endpoint('198.51.100.2', 500) });
    await second.init();
    const auth = await second.auth({ id: '@bob.example.com', psk: PSK, cp: { v4: true } });
    expect(auth.error).toBe(NotifyType.INTERNAL_ADDRESS_FAILURE);
    expect(auth.child).toBeUndefined();
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.pools.list().filter((l) => l.online).map((l) => l.identity)).toEqual(['alice.example.com']);
  });

  it('an IKE_AUTH without AUTH (EAP) is refused with AUTHENTICATION_FAILED when no connection offers EAP', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ id: '@alice.example.com' });
    expect(auth.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    expect(gw.engine.listSas()).toEqual([]);
  });
});

describe('after IKE_AUTH', () => {
  it('CREATE_CHILD_SA creates an additional CHILD_SA (RFC 7296 §1.3.1); the first one stays', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.connect(ALICE);
    // HDR, SK { SA, Ni, TSi, TSr }  -->  <--  HDR, SK { SA, Nr, TSi, TSr }
    const inner = client.authPayloads(ALICE).filter((p) => p.kind === 'sa' || p.kind === 'tsi' || p.kind === 'tsr');
    const answer = await client.transmit(client.request(ExchangeType.CREATE_CHILD_SA, [inner[0]!, { kind: 'nonce', critical: false, nonce: client.rng.bytes(32) }, inner[1]!, inner[2]!]));
    expect(client.openResponse(answer)?.inner.map((p) => p.kind)).toEqual(['sa', 'nonce', 'tsi', 'tsr']);
    expect(gw.engine.listSas()[0]!.state).toBe('ESTABLISHED');
    expect(gw.engine.listSas()[0]!.children).toHaveLength(2);
    expect(gw.dataplane.sas.size).toBe(4);
    // The window moved on: the next request uses the next message ID.
    expect((await client.informational([]))?.inner).toEqual([]);
  });

  it('a second IKE_AUTH on an established SA is a protocol error: INVALID_SYNTAX and the SA is deleted', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.connect(ALICE);
    const answer = await client.transmit(client.authRequest(ALICE));
    expect(client.openResponse(answer)?.inner).toEqual([expect.objectContaining({ kind: 'notify', notify: NotifyType.INVALID_SYNTAX })]);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
  });

  it('INFORMATIONAL before IKE_AUTH is a protocol error (RFC 7296 §1.4: only after the initial exchanges)', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    // HDR, SK { D(ESP) } with message ID 1, where IKE_AUTH is due  -->  <--  HDR, SK { N(INVALID_SYNTAX) }
    const answer = await client.transmit(client.request(ExchangeType.INFORMATIONAL, [TestInitiator.deleteChild(1)]));
    expect(client.openResponse(answer)?.inner).toEqual([expect.objectContaining({ kind: 'notify', notify: NotifyType.INVALID_SYNTAX })]);
    // The unauthenticated SA is gone; an IKE_AUTH for it is no longer answered.
    expect(gw.engine.listSas()).toEqual([]);
    expect(await client.transmit(client.authRequest(ALICE))).toEqual([]);
  });
});
