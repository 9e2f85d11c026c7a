// The embedded default configuration loads and says what the product promises.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CONFIG_TEXT, defaultConfigFor, ensureDefaultUser } from '../../../src/config/default.js';
import { loadConfigText } from '../../../src/config/load.js';
import { KeId, IntegId } from '../../../src/ike/constants.js';

describe('default config', () => {
  const { config, warnings } = loadConfigText(defaultConfigFor('/var/lib/ikegate-test'), '<default>', '/var/lib/ikegate-test/swanctl');

  it('substitutes the state dir', () => {
    expect(DEFAULT_CONFIG_TEXT).toContain('@STATE_DIR@');
    expect(config.daemon.stateDir).toBe('/var/lib/ikegate-test');
    expect(warnings).toEqual([]);
  });

  it('has a certificate connection rw and a password (EAP-MSCHAPv2) connection rw-eap sharing two pools', () => {
    expect(config.connections.map((c) => c.name)).toEqual(['rw', 'rw-eap']);
    const [rw, eap] = config.connections;
    expect(rw?.remoteAddrs).toEqual(['%any']);
    expect(rw?.pools).toEqual(['rw4', 'rw6']);
    expect(rw?.local[0]).toMatchObject({ auth: 'pubkey', certs: ['server.pem'] });
    expect(rw?.remote[0]?.auth).toBe('pubkey');
    expect(rw?.sendCert).toBe('always');
    expect(eap?.local[0]).toMatchObject({ auth: 'pubkey', certs: ['server.pem'] });
    expect(eap?.remote[0]).toMatchObject({ auth: 'eap-mschapv2', eapId: { any: true } });
    expect(eap?.pools).toEqual(['rw4', 'rw6']);
    expect(config.pools.map((p) => p.addrs)).toEqual(['10.42.0.0/24', 'fd42:1::/112']);
  });

  it('creates one EAP user with a random password once, in a file the config includes', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ikegate-default-'));
    const first = ensureDefaultUser(dir);
    expect(first.user).toBe('vpnuser');
    expect(first.password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(statSync(first.file).mode & 0o777).toBe(0o600);
    const again = ensureDefaultUser(dir);
    expect(again.password).toBeUndefined();
    const loaded = loadConfigText(defaultConfigFor(dir), '<default>', join(dir, 'swanctl')).config;
    const secret = loaded.secrets.find((s) => s.kind === 'eap');
    expect(secret?.ids.map((i) => i.text)).toEqual(['vpnuser']);
    expect(Buffer.from(secret!.secret!).toString()).toBe(first.password);
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
