// The embedded default configuration loads and says what the product promises.
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG_TEXT, defaultConfigFor } from '../../../src/config/default.js';
import { loadConfigText } from '../../../src/config/load.js';
import { KeId, IntegId } from '../../../src/ike/constants.js';

describe('default config', () => {
  const { config, warnings } = loadConfigText(defaultConfigFor('/var/lib/ikegate-test'), '<default>', '/var/lib/ikegate-test/swanctl');

  it('substitutes the state dir', () => {
    expect(DEFAULT_CONFIG_TEXT).toContain('@STATE_DIR@');
    expect(config.daemon.stateDir).toBe('/var/lib/ikegate-test');
    expect(warnings).toEqual([]);
  });

  it('has one remote-access connection rw with pubkey auth on both sides and two pools', () => {
    expect(config.connections.map((c) => c.name)).toEqual(['rw']);
    const rw = config.connections[0];
    expect(rw?.remoteAddrs).toEqual(['%any']);
    expect(rw?.pools).toEqual(['rw4', 'rw6']);
    expect(rw?.local[0]).toMatchObject({ auth: 'pubkey', certs: ['server.pem'] });
    expect(rw?.remote[0]?.auth).toBe('pubkey');
    expect(rw?.sendCert).toBe('always');
    expect(config.pools.map((p) => p.addrs)).toEqual(['10.42.0.0/24', 'fd42:1::/112']);
  });

  it('accepts what Windows proposes by default (AES-CBC-256, SHA-1, MODP-1024) besides modern suites', () => {
    const ike = config.connections[0]?.ikeProposals ?? [];
    expect(ike.some((p) => p.ke.includes(KeId.MODP_1024) && p.integ.includes(IntegId.HMAC_SHA1_96))).toBe(true);
    expect(ike.some((p) => p.ke.includes(KeId.CURVE25519))).toBe(true);
    const esp = config.connections[0]?.children[0]?.espProposals ?? [];
    expect(esp.some((p) => p.integ.includes(IntegId.HMAC_SHA1_96))).toBe(true);
  });

  it('rejects a state dir that would break the syntax', () => {
    expect(() => defaultConfigFor('/tmp/x\ny')).toThrow();
  });
});
