// Connection selection: addresses at IKE_SA_INIT, identities and auth method at IKE_AUTH.
import { describe, expect, it } from 'vitest';
import { loadConfigText } from '../../../src/config/load.js';
import { candidatesForInit, selectForAuth } from '../../../src/policy/select.js';
import { parseIdentity } from '../../../src/policy/identity.js';

const { config } = loadConfigText(
  `connections {
    eap { remote { auth = eap-mschapv2
                   eap_id = %any } }
    certs-corp { remote { id = *@corp.example
                          auth = pubkey } }
    certs-any { remote { auth = pubkey } }
    alice { remote { id = alice@corp.example
                     auth = pubkey } }
    psk-site { local_addrs = 192.0.2.1
               remote_addrs = 198.51.100.0/24
               local { auth = psk
                       id = gw.example }
               remote { auth = psk
                        id = site.example } }
    v6only { remote_addrs = 2001:db8::/32 }
    range { remote_addrs = 203.0.113.10-203.0.113.20 }
    exact { remote_addrs = 203.0.113.15 }
  }
  secrets { ike-1 { secret = x } }
`,
  'sel.conf',
  '/tmp',
);
const names = (l: { name: string }[]): string[] => l.map((c) => c.name);

describe('candidatesForInit', () => {
  it('orders by address specificity', () => {
    expect(names(candidatesForInit(config.connections, '192.0.2.1', '203.0.113.15')).slice(0, 2)).toEqual(['exact', 'range']);
    expect(names(candidatesForInit(config.connections, '192.0.2.1', '198.51.100.9'))[0]).toBe('psk-site');
  });

  it('filters by local address and family', () => {
    const c = names(candidatesForInit(config.connections, '192.0.2.99', '198.51.100.9'));
    expect(c).not.toContain('psk-site');
    expect(names(candidatesForInit(config.connections, '2001:db8::1', '2001:db8::2'))[0]).toBe('v6only');
    expect(names(candidatesForInit(config.connections, '192.0.2.1', '10.0.0.1'))).not.toContain('v6only');
  });

  it('garbage addresses match nothing', () => {
    expect(candidatesForInit(config.connections, 'x', '10.0.0.1')).toEqual([]);
  });
});

describe('selectForAuth', () => {
  const cands = candidatesForInit(config.connections, '192.0.2.1', '10.9.9.9');

  it('EAP client (no AUTH payload, no IDr — Windows) → the EAP connection', () => {
    const r = selectForAuth(cands, { idi: parseIdentity('10.9.9.9'), authMethod: 'none' });
    expect(r.ok && r.connection.name).toBe('eap');
  });

  it('exact id beats wildcard beats %any', () => {
    const pick = (id: string): string | false => {
      const r = selectForAuth(cands, { idi: parseIdentity(id), authMethod: 'signature' });
      return r.ok && r.connection.name;
    };
    expect(pick('alice@corp.example')).toBe('alice');
    expect(pick('bob@corp.example')).toBe('certs-corp');
    expect(pick('C=CH, CN=someone')).toBe('certs-any');
  });

  it('a PSK client needs a PSK connection and the IDr ranks', () => {
    const site = candidatesForInit(config.connections, '192.0.2.1', '198.51.100.9');
    const r = selectForAuth(site, { idi: parseIdentity('site.example'), idr: parseIdentity('gw.example'), authMethod: 'psk' });
    expect(r.ok && r.connection.name).toBe('psk-site');
    const bad = selectForAuth(site, { idi: parseIdentity('other.example'), authMethod: 'psk' });
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.reason).toContain('psk-site: remote id site.example does not match other.example');
  });

  it('explains why nothing matched', () => {
    const r = selectForAuth([], { idi: parseIdentity('x'), authMethod: 'psk' });
    expect(!r.ok && r.reason).toContain('addresses');
  });
});
