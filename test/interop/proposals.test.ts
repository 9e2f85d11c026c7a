// Algorithm negotiation against ikegate with a real strongSwan client. The gateway offers
// all of aes256gcm16-prfsha384-ecp384, aes256gcm16-prfsha256-x25519 and the Windows default
// aes256-sha1-modp1024 (IKE), aes256gcm16 and aes256-sha1 (ESP); the client offers exactly
// one proposal per case, so the case only passes if that one is accepted. The algorithms are
// read back from the client's own view of the SA (swanctl --list-sas).
import { describe, expect, it } from 'vitest';
import { pskScenario } from './harness/psk-scenario.js';
import { pskClient } from './harness/scenario.js';

const s = pskScenario({ tag: 'props' });

interface IkeCase {
  proposal: string;
  encrAlg: string;
  encrKeysize: number;
  integAlg: string | undefined;
  prfAlg: string;
  dhGroup: string;
}

const IKE_CASES: IkeCase[] = [
  { proposal: 'aes256gcm16-prfsha384-ecp384', encrAlg: 'AES_GCM_16', encrKeysize: 256, integAlg: undefined, prfAlg: 'PRF_HMAC_SHA2_384', dhGroup: 'ECP_384' },
  { proposal: 'aes256gcm16-prfsha256-x25519', encrAlg: 'AES_GCM_16', encrKeysize: 256, integAlg: undefined, prfAlg: 'PRF_HMAC_SHA2_256', dhGroup: 'CURVE_25519' },
  { proposal: 'aes256-sha1-modp1024', encrAlg: 'AES_CBC', encrKeysize: 256, integAlg: 'HMAC_SHA1_96', prfAlg: 'PRF_HMAC_SHA1', dhGroup: 'MODP_1024' },
];

interface EspCase {
  proposal: string;
  encrAlg: string;
  encrKeysize: number;
  integAlg: string | undefined;
}

const ESP_CASES: EspCase[] = [
  { proposal: 'aes256gcm16', encrAlg: 'AES_GCM_16', encrKeysize: 256, integAlg: undefined },
  { proposal: 'aes256-sha1', encrAlg: 'AES_CBC', encrKeysize: 256, integAlg: 'HMAC_SHA1_96' },
];

describe('IKE proposals', () => {
  it.each(IKE_CASES)('negotiates IKE $proposal', async (c) => {
    s.check();
    await s.client.configure(pskClient(s.topo.gw.wanV4, s.secret, { proposals: [c.proposal] }));
    const res = await s.client.initiate();
    expect(res.ok, `${s.client.describe(res)}\n${s.gw.describe()}`).toBe(true);
    const sa = res.sa;
    expect(sa?.state).toBe('ESTABLISHED');
    expect(sa?.encrAlg).toBe(c.encrAlg);
    expect(sa?.encrKeysize).toBe(c.encrKeysize);
    expect(sa?.integAlg).toBe(c.integAlg);
    expect(sa?.prfAlg).toBe(c.prfAlg);
    expect(sa?.dhGroup).toBe(c.dhGroup);
    expect(sa?.childSas[0]?.state).toBe('INSTALLED');
  });
});

describe('ESP proposals', () => {
  it.each(ESP_CASES)('negotiates ESP $proposal', async (c) => {
    s.check();
    await s.client.configure(
      pskClient(s.topo.gw.wanV4, s.secret, { children: { net: { espProposals: [c.proposal] } } }),
    );
    const res = await s.client.initiate();
    expect(res.ok, `${s.client.describe(res)}\n${s.gw.describe()}`).toBe(true);
    const child = res.sa?.childSas[0];
    expect(child?.state).toBe('INSTALLED');
    expect(child?.protocol).toBe('ESP');
    expect(child?.encrAlg).toBe(c.encrAlg);
    expect(child?.encrKeysize).toBe(c.encrKeysize);
    expect(child?.integAlg).toBe(c.integAlg);
  });

  it('rejects an ESP proposal it does not offer (IKE_SA up, CHILD_SA NO_PROPOSAL_CHOSEN)', async () => {
    s.check();
    await s.client.configure(
      pskClient(s.topo.gw.wanV4, s.secret, { children: { net: { espProposals: ['3des-md5'] } } }),
    );
    const res = await s.client.initiate({ timeoutSec: 20 });
    expect(res.ok).toBe(false);
    expect(res.log).toMatch(/received NO_PROPOSAL_CHOSEN notify/);
    expect(s.gw.isRunning(), s.gw.describe()).toBe(true);
  });
});
