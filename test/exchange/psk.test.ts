// The initial exchanges with pre-shared keys (RFC 7296 §1.2, §2.15) for the suites remote-access
// clients use, then a wrong PSK (§2.21.2: AUTHENTICATION_FAILED, nothing kept).
import { describe, expect, it } from 'vitest';
import { AuthMethod, CpAttr, NotifyType } from '../../src/ike/constants.js';
import { formatIp } from '../../src/net/address.js';
import { tsToString } from '../../src/policy/traffic-selectors.js';
import { DNS4, DNS6, FIRST_V4, FIRST_V6, IKE_SUITES, PSK, SERVER_ID, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator } from '../helpers/initiator.js';
import { endpoint } from '../../src/net/endpoint.js';
import { parseIdentity } from '../../src/policy/identity.js';

const CLIENT_ID = '@client.example.com';

describe.each(IKE_SUITES)('PSK remote access with %s', (suite) => {
  it('establishes the IKE_SA and one CHILD_SA with virtual IPs, keys matching the initiator', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw, { ike: [suite] });

    // HDR, SAi1, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP), N(HASH_ALG)  -->
    //                   <--  HDR, SAr1, KEr, Nr, N(NATD_S_IP), N(NATD_D_IP)
    const init = await client.init();
    expect(init.kind).toBe('ok');
    expect(gw.engine.listSas()).toHaveLength(1);
    expect(gw.engine.listSas()[0]!.state).toBe('HALF-OPEN');

    // HDR, SK { IDi, AUTH, CP(CFG_REQUEST), SAi2, TSi, TSr }  -->
    //                   <--  HDR, SK { IDr, AUTH, CP(CFG_REPLY), SAr2, TSi, TSr }
    const auth = await client.auth({ id: CLIENT_ID, psk: PSK });
    expect(auth.error).toBeUndefined();
    expect(auth.authMethod).toBe(AuthMethod.SHARED_KEY_MIC);
    expect(auth.authVerified).toBe(true);
    expect(auth.idr).toEqual(parseIdentity(SERVER_ID));

    // CP(CFG_REPLY): the first address of each pool and the pools' DNS servers (RFC 7296 §3.15.4).
    expect(auth.cp?.v4).toBe(FIRST_V4);
    expect(auth.cp?.v6).toBe(FIRST_V6);
    expect(auth.cp?.dns.sort()).toEqual([DNS4, DNS6].sort());
    // TSi narrowed to the virtual IPs, TSr stays the whole address space (RFC 7296 §2.9).
    expect(auth.tsi.map(tsToString).sort()).toEqual([`${FIRST_V4}/32`, `${FIRST_V6}/128`].sort());
    expect(auth.tsr.map(tsToString).sort()).toEqual(['0.0.0.0/0', '::/0']);

    // Exactly two ESP SAs: inbound with the responder's SPI (our outbound), outbound with ours.
    const child = auth.child!;
    const sas = [...gw.dataplane.sas.values()];
    expect(sas).toHaveLength(2);
    const inbound = sas.find((s) => s.direction === 'in')!;
    const outbound = sas.find((s) => s.direction === 'out')!;
    expect(inbound.id).toMatchObject({ spi: child.spiOut, src: client.local.address, dst: gw.address.address });
    expect(outbound.id).toMatchObject({ spi: child.spiIn, src: gw.address.address, dst: client.local.address });
    // KEYMAT mirrored: the responder's inbound SA carries initiator-to-responder keys (RFC 7296 §2.17).
    expect(Buffer.from(inbound.enc.key)).toEqual(Buffer.from(child.keymat.initiatorToResponder.enc));
    expect(Buffer.from(outbound.enc.key)).toEqual(Buffer.from(child.keymat.responderToInitiator.enc));
    if (child.transforms.integ) {
      expect(Buffer.from(inbound.integ!.key)).toEqual(Buffer.from(child.keymat.initiatorToResponder.integ));
      expect(Buffer.from(outbound.integ!.key)).toEqual(Buffer.from(child.keymat.responderToInitiator.integ));
    } else {
      expect(inbound.integ).toBeUndefined();
    }
    expect(inbound.enc.alg.name).toBe(child.transforms.encr.kernel.name);
    // The inbound SA is installed before the outbound one.
    expect(gw.dataplane.calls.filter((c) => c.startsWith('installSa')).map((c) => c.split(' ')[1])).toEqual(['in', 'out']);

    // out/in/fwd policies for each family between the peer's virtual IP and everything.
    const policies = [...gw.dataplane.policies.values()];
    expect(policies.map((p) => `${p.direction} ${p.selector.local} ${p.selector.remote}`).sort()).toEqual(
      [
        `fwd 0.0.0.0/0 ${FIRST_V4}/32`,
        `fwd ::/0 ${FIRST_V6}/128`,
        `in 0.0.0.0/0 ${FIRST_V4}/32`,
        `in ::/0 ${FIRST_V6}/128`,
        `out 0.0.0.0/0 ${FIRST_V4}/32`,
        `out ::/0 ${FIRST_V6}/128`,
      ].sort(),
    );
    for (const p of policies) {
      expect(p.tunnel).toEqual(p.direction === 'out' ? { src: gw.address.address, dst: client.local.address } : { src: client.local.address, dst: gw.address.address });
    }

    const [summary] = gw.engine.listSas();
    expect(summary).toMatchObject({
      state: 'ESTABLISHED',
      connection: 'rw-psk',
      remoteId: 'client.example.com',
      localId: 'vpn.example.com',
      remoteAuth: 'PSK',
      vips: [FIRST_V4, FIRST_V6],
      natLocal: false,
      natRemote: false,
    });
    expect(summary!.children).toHaveLength(1);
    expect(summary!.children[0]!.spiIn).toBe(child.spiOut.toString(16).padStart(8, '0'));
    expect(gw.events.up).toHaveLength(1);
    expect(gw.errors()).toEqual([]);
  });
});

describe('wrong PSK', () => {
  it('is answered with AUTHENTICATION_FAILED and leaves no SA, lease or dataplane state', async () => {
    const gw = makeGateway(pskConfig());
    const mallory = new TestInitiator(gw, { local: endpoint('198.51.100.66', 500) });
    expect((await mallory.init()).kind).toBe('ok');

    // HDR, SK { IDi, AUTH(wrong key), CP, SAi2, TSi, TSr }  -->
    //                   <--  HDR, SK { N(AUTHENTICATION_FAILED) }
    const failed = await mallory.auth({ id: '@mallory.example.com', psk: 'not the secret' });
    expect(failed.error).toBe(NotifyType.AUTHENTICATION_FAILED);
    expect(failed.inner.map((p) => p.kind)).toEqual(['notify']);
    expect(failed.authVerified).toBe(false);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
    expect(gw.pools.list()).toEqual([]);
    expect(gw.events.authFailed).toHaveLength(1);
    // The dead SA lingers only to answer a retransmit of the failed request with the same answer.
    expect([...gw.engine.sas.values()].map((s) => s.phase)).toEqual(['dead']);
    const again = await mallory.retransmitLastRequest();
    expect(again.map((d) => Buffer.from(d).toString('hex'))).toEqual(failed.datagrams!.map((d) => Buffer.from(d).toString('hex')));
    gw.clock.advance(30_000);
    expect(gw.engine.sas.size).toBe(0);

    // A following good client gets the first address of each pool.
    const alice = new TestInitiator(gw);
    const ok = await alice.connect({ id: CLIENT_ID, psk: PSK });
    expect(ok.cp?.v4).toBe(FIRST_V4);
    expect(ok.cp?.v6).toBe(FIRST_V6);
    expect(gw.errors()).toEqual([]);
  });

  it('a responder AUTH made with another key does not verify at the initiator', async () => {
    // The initiator's own check (RFC 7296 §2.15): guards against a test initiator that accepts anything.
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ id: CLIENT_ID, psk: PSK, responderPsk: 'something else' });
    expect(auth.error).toBeUndefined();
    expect(auth.authVerified).toBe(false);
    expect(auth.ok).toBe(false);
  });

  it('CP attributes the gateway does not serve are ignored (RFC 7296 §3.15.1)', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw);
    await client.init();
    const auth = await client.auth({ id: CLIENT_ID, psk: PSK, cp: { v4: true } });
    expect(auth.ok).toBe(true);
    expect(auth.cp?.attributes.map((a) => a.type)).toContain(CpAttr.INTERNAL_IP4_ADDRESS);
    expect(auth.cp?.v6).toBeUndefined();
    expect(auth.tsi.map(tsToString)).toEqual([`${FIRST_V4}/32`]);
    expect(formatIp(auth.cp!.attributes.find((a) => a.type === CpAttr.INTERNAL_IP4_ADDRESS)!.value)).toBe(FIRST_V4);
  });
});
