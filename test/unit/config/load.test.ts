// swanctl.conf → GatewayConfig: a realistic road-warrior config, defaults, warnings for keys
// ikegate ignores, and errors that name file, line and key.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig, loadConfigText } from '../../../src/config/load.js';
import { ConfigError } from '../../../src/ike/errors.js';
import { IdType, KeId, CpAttr, EncrId } from '../../../src/ike/constants.js';
import { formatIdentity } from '../../../src/policy/identity.js';

// A Windows/Apple/Android road-warrior gateway as strongSwan users write it: certificate
// clients and EAP-MSCHAPv2 clients, v4 + v6 pools, one full-tunnel child.
const ROADWARRIOR = `# vpn.example.org
connections {
    rw-base {
        version = 2
        local_addrs = 192.0.2.1, 2001:db8::1
        proposals = aes256-sha256-modp2048, aes256-sha1-modp1024, default
        pools = v4, v6
        send_certreq = no
        fragmentation = yes
        dpd_delay = 60s
        rekey_time = 0
        unique = replace
        local {
            auth = pubkey
            certs = vpnCert.pem
            id = vpn.example.org
        }
        children {
            net {
                local_ts = 0.0.0.0/0, ::/0
                esp_proposals = aes256-sha256, aes256-sha1, default
                rekey_time = 0
                dpd_action = clear
            }
        }
    }
    ikev2-eap : connections.rw-base {
        remote {
            auth = eap-mschapv2
            eap_id = %any
        }
    }
    ikev2-pubkey : connections.rw-base {
        remote {
            auth = pubkey
            id = "C=CH, O=Example, CN=*"
            cacerts = caCert.pem
            revocation = ifuri
        }
    }
}

pools {
    v4 {
        addrs = 10.10.10.0/24
        dns = 192.0.2.53, 2001:db8::53
        server = 192.0.2.53
    }
    v6 {
        addrs = fd00:10::/112
    }
}

secrets {
    eap-carol {
        id = carol
        secret = "Ar3etTnp"
    }
    eap-dave {
        id-1 = dave@example.org
        id-2 = dave
        secret = 0x4461766550617373
    }
    ntlm-erin {
        id = erin
        secret = 0x8846f7eaee8fb117ad06bdd830b7586c
    }
    ike-site {
        id = 198.51.100.7
        secret = 0sc2VjcmV0
    }
    private-vpn {
        file = vpnKey.pem
        secret = "key passphrase"
    }
}

authorities {
    example {
        cacert = caCert.pem
        crl_uris = http://crl.example.org/ca.crl
    }
}

ikegate {
    log_level = debug
    keepalive = 30s
    listen = 192.0.2.1
}
`;

function load(text: string) {
  return loadConfigText(text, '/etc/ikegate/swanctl.conf', '/etc/ikegate');
}

function loadError(text: string): ConfigError {
  try {
    load(text);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('realistic road-warrior config', () => {
  const { config, warnings } = load(ROADWARRIOR);

  it('loads connections including inherited ones', () => {
    expect(config.connections.map((c) => c.name)).toEqual(['rw-base', 'ikev2-eap', 'ikev2-pubkey']);
    const eap = config.connections.find((c) => c.name === 'ikev2-eap');
    expect(eap).toBeDefined();
    if (!eap) return;
    expect(eap.localAddrs).toEqual(['192.0.2.1', '2001:db8::1']);
    expect(eap.remoteAddrs).toEqual(['%any']);
    expect(eap.pools).toEqual(['v4', 'v6']);
    expect(eap.sendCertreq).toBe(false);
    expect(eap.dpdDelay).toBe(60);
    expect(eap.rekeyTime).toBe(0);
    expect(eap.unique).toBe('replace');
    expect(eap.mobike).toBe(true);
    expect(eap.remote[0]?.auth).toBe('eap-mschapv2');
    expect(eap.remote[0]?.eapId.any).toBe(true);
    expect(eap.local[0]?.certs).toEqual(['vpnCert.pem']);
    const localId = eap.local[0]?.id;
    expect(localId && !localId.any && localId.id.type).toBe(IdType.ID_FQDN);
    // Local pubkey: our certificate always goes out (Apple sends no CERTREQ).
    expect(eap.sendCert).toBe('always');
    expect(eap.where).toMatch(/^\/etc\/ikegate\/swanctl\.conf:\d+$/);
  });

  it('maps proposals through the proposal parser, `default` expanded in place', () => {
    const c = config.connections[0];
    expect(c?.ikeProposals[0]?.text).toBe('aes256-sha256-modp2048');
    expect(c?.ikeProposals[1]?.ke).toEqual([KeId.MODP_1024]);
    expect(c?.ikeProposals.length).toBeGreaterThan(2);
    const child = c?.children[0];
    expect(child?.name).toBe('net');
    expect(child?.espProposals[0]?.encr[0]).toEqual({ id: EncrId.AES_CBC, keyBits: 256 });
    expect(child?.localTs).toEqual(['0.0.0.0/0', '::/0']);
    expect(child?.remoteTs).toEqual(['dynamic']);
    expect(child?.rekeyTime).toBe(0);
    expect(child?.replayWindow).toBe(32);
  });

  it('reads the DN wildcard remote id', () => {
    const r = config.connections[2]?.remote[0];
    expect(r?.auth).toBe('pubkey');
    expect(r?.revocation).toBe('ifuri');
    expect(r?.cacerts).toEqual(['caCert.pem']);
    expect(r && !r.id.any && formatIdentity(r.id.id)).toBe('C=CH, O=Example, CN=*');
  });

  it('loads pools with dns and extra attributes', () => {
    expect(config.pools).toHaveLength(2);
    expect(config.pools[0]).toMatchObject({ name: 'v4', addrs: '10.10.10.0/24', dns: ['192.0.2.53', '2001:db8::53'], nbns: [] });
    expect(config.pools[0]?.attributes).toEqual([{ type: CpAttr.MS_INTERNAL_IP4_SERVER, values: ['192.0.2.53'] }]);
  });

  it('decodes secrets (plain, quoted, 0x, 0s, NT hash)', () => {
    const byName = new Map(config.secrets.map((s) => [s.name, s]));
    expect(new TextDecoder().decode(byName.get('eap-carol')?.secret)).toBe('Ar3etTnp');
    expect(new TextDecoder().decode(byName.get('eap-dave')?.secret)).toBe('DavePass');
    expect(byName.get('eap-dave')?.ids.map((i) => i.text)).toEqual(['dave@example.org', 'dave']);
    expect(byName.get('ntlm-erin')?.kind).toBe('ntlm');
    expect(Buffer.from(byName.get('ntlm-erin')?.ntHash ?? []).toString('hex')).toBe('8846f7eaee8fb117ad06bdd830b7586c');
    expect(new TextDecoder().decode(byName.get('ike-site')?.secret)).toBe('secret');
    expect(byName.get('private-vpn')).toMatchObject({ kind: 'private', file: 'vpnKey.pem' });
  });

  it('loads authorities and daemon settings with defaults', () => {
    expect(config.authorities).toEqual([
      { name: 'example', cacert: 'caCert.pem', crlUris: ['http://crl.example.org/ca.crl'], ocspUris: [], where: expect.stringMatching(/swanctl\.conf:\d+$/) },
    ]);
    expect(config.daemon).toMatchObject({ logLevel: 'debug', keepaliveInterval: 30, listen: ['192.0.2.1'], port: 500, portNatT: 4500, cookieThreshold: 10 });
    expect(config.credentialDir).toBe('/etc/ikegate');
    // Revocation settings are parsed but not enforced yet: the operator is told.
    expect(warnings.map((w) => w.message)).toEqual([
      'connections.ikev2-pubkey.remote.revocation is not supported by ikegate yet; ignored',
      'authorities.example.crl_uris is not supported by ikegate yet; ignored',
    ]);
  });
});

describe('defaults', () => {
  it('fills strongSwan defaults for a minimal connection', () => {
    const { config } = load('connections { c { children { x { } } } }\n');
    const c = config.connections[0];
    expect(c).toMatchObject({
      localAddrs: ['%any'],
      remoteAddrs: ['%any'],
      mobike: true,
      encap: false,
      fragmentation: 'yes',
      rekeyTime: 4 * 3600,
      reauthTime: 0,
      overTime: 1440,
      randTime: 1440,
      unique: 'replace', // ikegate's default (strongSwan's is no)
      keyingTries: 1,
      sendCertreq: true,
      sendCert: 'always', // local auth defaults to pubkey
    });
    expect(c?.ikeProposals.length).toBeGreaterThan(0);
    expect(c?.children[0]).toMatchObject({ localTs: ['dynamic'], remoteTs: ['dynamic'], mode: 'tunnel', rekeyTime: 3600, lifeTime: 3960, randTime: 360, replayWindow: 32, dpdAction: 'clear' });
    expect(config.daemon).toMatchObject({ stateDir: '/var/lib/ikegate', controlSocket: '/run/ikegate/ikegate.sock', logLevel: 'info', dataplane: 'auto', routingTable: 220, retransmitBase: 1.8 });
  });

  it('send_cert stays ifasked for PSK connections and honours an explicit value', () => {
    const { config } = load('connections {\n a { local { auth = psk } }\n b { send_cert = never }\n}\n');
    expect(config.connections[0]?.sendCert).toBe('ifasked');
    expect(config.connections[1]?.sendCert).toBe('never');
  });

  it('reauth_time disables the default rekey and sizes over_time', () => {
    const c = load('connections { c { reauth_time = 2h } }\n').config.connections[0];
    expect(c).toMatchObject({ reauthTime: 7200, rekeyTime: 0, overTime: 720 });
  });

  it('life_time follows an explicit rekey_time; byte volumes use binary suffixes', () => {
    const ch = load('connections { c { children { x {\n rekey_time = 10m\n rekey_bytes = 1m\n } } } }\n').config.connections[0]?.children[0];
    expect(ch).toMatchObject({ rekeyTime: 600, lifeTime: 660, rekeyBytes: 1048576, lifeBytes: Math.round(1048576 * 1.1) });
  });

  it('auth aliases: rsa/ecdsa → pubkey, eap → eap-dynamic; auth rounds sorted by round', () => {
    const c = load('connections { c {\n remote-b { auth = eap\n round = 2 }\n remote-a { auth = ecdsa\n round = 1 }\n local { auth = rsa }\n} }\n').config.connections[0];
    expect(c?.remote.map((r) => r.auth)).toEqual(['pubkey', 'eap-dynamic']);
    expect(c?.local[0]?.auth).toBe('pubkey');
  });

  it('rounds without round numbers keep file order', () => {
    const c = load('connections { c {\n remote-1 { auth = pubkey }\n remote-2 { auth = eap-md5 }\n} }\n').config.connections[0];
    expect(c?.remote.map((r) => r.auth)).toEqual(['pubkey', 'eap-md5']);
  });
});

describe('warnings', () => {
  it('swanctl keys ikegate ignores are warnings with file and line', () => {
    const { config, warnings } = load('connections {\n c {\n  vips = 0.0.0.0\n  children { x {\n   mark_in = 42\n  } }\n }\n}\n');
    expect(config.connections).toHaveLength(1);
    expect(warnings).toEqual([
      { file: '/etc/ikegate/swanctl.conf', line: 3, message: expect.stringContaining('connections.c.vips') },
      { file: '/etc/ikegate/swanctl.conf', line: 5, message: expect.stringContaining('connections.c.children.x.mark_in') },
    ]);
  });

  it('overlapping pools warn', () => {
    const { warnings } = load('pools {\n a { addrs = 10.0.0.0/24 }\n b { addrs = 10.0.0.128-10.0.1.10 }\n}\n');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ line: 3, message: expect.stringContaining('overlaps pools.a') });
  });

  it('DNS names in remote_addrs warn; start_action warns for a responder', () => {
    const { warnings } = load('connections { c {\n remote_addrs = peer.example.org\n children { x {\n start_action = start\n } }\n} }\n');
    expect(warnings.map((w) => w.line).sort((a, b) => a - b)).toEqual([2, 4]);
  });
});

describe('errors name file, line and key', () => {
  it.each([
    ['connections { rw { children { net {\n bogus = 1\n } } } }\n', "unknown key 'bogus' in connections.rw.children.net", 2],
    ['connections { rw {\n frobnicate = yes\n} }\n', "unknown key 'frobnicate' in connections.rw", 2],
    ['connections { rw {\n version = 1\n} }\n', 'connections.rw.version: IKEv1', 2],
    ['connections { rw {\n pools = nope\n} }\n', "connections.rw.pools: pool 'nope' is not defined", 2],
    ['connections { rw {\n proposals = aes256-sha256-modp9999\n} }\n', "connections.rw.proposals: unknown algorithm keyword 'modp9999'", 2],
    ['connections { rw { children { c {\n esp_proposals =\n } } } }\n', 'child has no proposals', 2],
    ['connections { rw {\n local_addrs = 10.0.0.300\n} }\n', "connections.rw.local_addrs: '10.0.0.300'", 2],
    ['connections { rw { children { c {\n local_ts = 10.0.0.0/33\n } } } }\n', 'connections.rw.children.c.local_ts', 2],
    ['connections { rw {\n remote { auth = xauth }\n} }\n', 'XAuth', 2],
    ['connections { rw {\n remote { auth = eap-radius }\n} }\n', "unsupported auth 'eap-radius'", 2],
    ['connections { rw {\n dpd_delay = 10 minutes\n} }\n', 'connections.rw.dpd_delay', 2],
    ['connections { rw {\n mobike = perhaps\n} }\n', 'connections.rw.mobike', 2],
    ['connections { rw { children { c {\n mode = beet\n } } } }\n', "mode 'beet' is not supported", 2],
    ['connections { rw {\n weird { }\n} }\n', "unknown section 'weird' in connections.rw", 2],
    ['pools {\n p { dns = 1.2.3.4 }\n}\n', "'addrs' is missing", 2],
    ['pools {\n p {\n addrs = 10.0.0.0/24\n dns = not-an-ip\n }\n}\n', 'pools.p.dns', 4],
    ['secrets {\n eap-x {\n id = x\n }\n}\n', "'secret' is missing", 2],
    ['secrets {\n ntlm-x {\n id = x\n secret = password\n }\n}\n', 'NT hash', 4],
    ['secrets {\n foo-x { secret = y }\n}\n', "unknown secret type 'foo-x'", 2],
    ['secrets {\n ike-x {\n secret = 0xabc\n }\n}\n', 'invalid hex', 3],
    ['ikegate {\n dataplane = dpdk\n}\n', 'ikegate.dataplane', 2],
    ['ikegate {\n port = 70000\n}\n', 'ikegate.port', 2],
    ['wat = 1\n', "unknown key 'wat' at top level", 1],
  ])('%j', (text, msg, line) => {
    const e = loadError(text);
    expect(e.message).toContain(msg);
    expect(e.file).toBe('/etc/ikegate/swanctl.conf');
    expect(e.line).toBe(line);
  });
});

describe('loadConfig(path)', () => {
  it('reads the file, follows includes and uses its directory for credentials', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ikegate-load-'));
    writeFileSync(join(dir, 'swanctl.conf'), 'include pools.conf\nconnections { rw { pools = p } }\n');
    writeFileSync(join(dir, 'pools.conf'), 'pools { p { addrs = 10.1.0.0/24 } }\n');
    const { config } = loadConfig(join(dir, 'swanctl.conf'));
    expect(config.credentialDir).toBe(dir);
    expect(config.files).toEqual([join(dir, 'swanctl.conf'), join(dir, 'pools.conf')]);
    expect(config.connections[0]?.pools).toEqual(['p']);
  });

  it('a missing file is a ConfigError', () => {
    expect(() => loadConfig('/nonexistent/ikegate.conf')).toThrow(ConfigError);
  });
});

describe('settings that would promise a check ikegate does not do', () => {
  it('refuses revocation = strict with file and line', () => {
    expect(() => loadConfigText('connections { rw {\n remote {\n auth = pubkey\n revocation = strict\n }\n} }\n', '/etc/swanctl/swanctl.conf', '/etc/swanctl')).toThrow(
      /swanctl\.conf:4: .*revocation = strict: ikegate does not check CRLs or OCSP/,
    );
  });
});
