// Maps a parsed swanctl.conf tree (connections, pools, secrets, authorities; swanctl.conf(5))
// plus ikegate's own top-level `ikegate { }` section onto the immutable GatewayConfig. Keys
// swanctl knows but ikegate ignores become warnings; unknown keys and bad values are
// ConfigErrors naming file, line and key. Nothing partial is ever returned.
import { dirname, resolve } from 'node:path';
import type {
  AuthClass,
  AuthRound,
  AuthorityConfig,
  ChildConfig,
  Connection,
  DaemonSettings,
  GatewayConfig,
  PoolConfig,
  ProposalSpec,
  SecretConfig,
} from '../policy/policy.js';
import { ConfigError } from '../ike/errors.js';
import { CpAttr } from '../ike/constants.js';
import { parseProposals } from '../crypto/proposal-syntax.js';
import { parseIdentityPattern } from '../policy/identity.js';
import { type AddrRange, formatRange, parseAddrRange, parseIp, rangesOverlap } from '../net/address.js';
import { parseTsSpec } from '../policy/traffic-selectors.js';
import { type ConfSection, type ConfValue, type ParseOptions, parseSettings, parseSettingsFile } from './swanctl-syntax.js';
import {
  AUTHORITY_KEYS,
  CERT_SECTION_KEYS,
  CHILD_KEYS,
  CONNECTION_KEYS,
  IKEGATE_KEYS,
  type KeyTable,
  LOCAL_KEYS,
  POOL_ATTRS,
  REMOTE_KEYS,
  SECRET_TYPES,
} from './keys.js';
import { parseBool, parseBytes, parseDuration, parseEnum, parseFloatStrict, parseList, parseSecret, parseUint } from './values.js';

export interface ConfigWarning {
  file: string;
  line: number;
  message: string;
}

export interface LoadResult {
  config: GatewayConfig;
  warnings: ConfigWarning[];
}

/** Defaults of the `ikegate { }` section. */
export const DAEMON_DEFAULTS: DaemonSettings = {
  listen: ['0.0.0.0', '::'],
  port: 500,
  portNatT: 4500,
  stateDir: '/var/lib/ikegate',
  // Under /run (tmpfs, cleaned at boot) like charon.vici; a directory of its own so that its
  // permissions can restrict who may control the daemon.
  controlSocket: '/run/ikegate/ikegate.sock',
  logLevel: 'info',
  dataplane: 'auto',
  cookieThreshold: 10,
  halfOpenTimeout: 30,
  retransmitTimeout: 4,
  retransmitTries: 5,
  retransmitBase: 1.8,
  keepaliveInterval: 20,
  routingTable: 220,
  // Client order within our policy (RFC 7296 §2.7 lets the responder choose); 'server' = ours first.
  proposalOrder: 'client',
  fragmentSize: 1280,
  eapOnly: false,
};

/** Reads swanctl.conf at `path` (and its includes); credentials live next to it, as in /etc/swanctl. */
export function loadConfig(path: string, options: ParseOptions = {}): LoadResult {
  const abs = resolve(path);
  const { root, files } = parseSettingsFile(abs, options);
  return configFromTree(root, files, dirname(abs));
}

/** Same from text; `virtualPath` names it in errors and anchors relative includes. */
export function loadConfigText(text: string, virtualPath: string, credentialDir: string, options: ParseOptions = {}): LoadResult {
  const root = parseSettings(text, virtualPath, options);
  return configFromTree(root, [virtualPath], credentialDir);
}

export function configFromTree(root: ConfSection, files: string[], credentialDir: string): LoadResult {
  const l = new Loader();
  for (const v of root.values.values()) throw new ConfigError(`unknown key '${v.key}' at top level`, v.file, v.line);
  for (const [name, sec] of root.sections) {
    if (!['connections', 'pools', 'secrets', 'authorities', 'ikegate'].includes(name)) {
      throw new ConfigError(`unknown section '${name}' at top level`, sec.file, sec.line);
    }
  }
  const daemon = l.daemon(root.sections.get('ikegate'));
  const pools = l.pools(root.sections.get('pools'));
  const connections = l.connections(root.sections.get('connections'), pools).map((c) => ({
    ...c,
    preferServerOrder: daemon.proposalOrder === 'server',
    fragmentSize: daemon.fragmentSize,
  }));
  const config: GatewayConfig = {
    daemon,
    connections,
    pools,
    secrets: l.secrets(root.sections.get('secrets')),
    credentialDir,
    files,
    authorities: l.authorities(root.sections.get('authorities')),
  };
  return { config, warnings: l.warnings };
}

const where = (x: { file: string; line: number }): string => `${x.file}:${x.line}`;

/** Values and their error context: every failure names the dotted path of the key. */
class Loader {
  readonly warnings: ConfigWarning[] = [];

  warn(at: { file: string; line: number }, message: string): void {
    this.warnings.push({ file: at.file, line: at.line, message });
  }

  /** Checks value keys against a table; `extra` accepts keys matched by the caller. */
  checkKeys(sec: ConfSection, table: KeyTable, path: string, extra?: (key: string) => boolean): void {
    for (const v of sec.values.values()) {
      if (table.implemented.includes(v.key) || extra?.(v.key)) continue;
      if (table.ignored.includes(v.key)) {
        this.warn(v, `${path}.${v.key} is not supported by ikegate yet; ignored`);
        continue;
      }
      throw new ConfigError(`unknown key '${v.key}' in ${path}`, v.file, v.line);
    }
  }

  /** Runs `parse` on a value, turning its Error into a ConfigError at the value's line. */
  get<T>(sec: ConfSection, key: string, path: string, parse: (s: string, v: ConfValue) => T): T | undefined {
    const v = sec.values.get(key);
    if (!v) return undefined;
    try {
      return parse(v.value, v);
    } catch (e) {
      if (e instanceof ConfigError) throw e;
      throw new ConfigError(`${path}.${key}: ${(e as Error).message}`, v.file, v.line);
    }
  }

  // ---- ikegate { } ----------------------------------------------------------------------

  daemon(sec: ConfSection | undefined): DaemonSettings {
    const d: DaemonSettings = { ...DAEMON_DEFAULTS, listen: [...DAEMON_DEFAULTS.listen] };
    if (!sec) return d;
    const p = 'ikegate';
    this.checkKeys(sec, IKEGATE_KEYS, p);
    noSubsections(sec, p);
    const port = (s: string): number => parseUint(s, 65535);
    d.listen = this.get(sec, 'listen', p, (s) => {
      const l = parseList(s);
      for (const a of l) if (!parseIp(a)) throw new Error(`'${a}' is not an IP address`);
      if (l.length === 0) throw new Error('at least one address is needed');
      return l;
    }) ?? d.listen;
    d.port = this.get(sec, 'port', p, port) ?? d.port;
    d.portNatT = this.get(sec, 'port_nat_t', p, port) ?? d.portNatT;
    d.stateDir = this.get(sec, 'state_dir', p, nonEmpty) ?? d.stateDir;
    d.controlSocket = this.get(sec, 'control_socket', p, nonEmpty) ?? d.controlSocket;
    d.logLevel = this.get(sec, 'log_level', p, (s) => parseEnum(s, ['trace', 'debug', 'info', 'warn', 'error'] as const)) ?? d.logLevel;
    d.dataplane = this.get(sec, 'dataplane', p, (s) => parseEnum(s, ['auto', 'memory', 'xfrm', 'userspace'] as const)) ?? d.dataplane;
    d.cookieThreshold = this.get(sec, 'cookie_threshold', p, (s) => parseUint(s)) ?? d.cookieThreshold;
    d.halfOpenTimeout = this.get(sec, 'half_open_timeout', p, parseDuration) ?? d.halfOpenTimeout;
    d.retransmitTimeout = this.get(sec, 'retransmit_timeout', p, positive) ?? d.retransmitTimeout;
    d.retransmitTries = this.get(sec, 'retransmit_tries', p, (s) => parseUint(s)) ?? d.retransmitTries;
    d.retransmitBase = this.get(sec, 'retransmit_base', p, (s) => {
      const n = parseFloatStrict(s);
      if (n < 1) throw new Error('must be at least 1');
      return n;
    }) ?? d.retransmitBase;
    d.keepaliveInterval = this.get(sec, 'keepalive', p, parseDuration) ?? d.keepaliveInterval;
    d.routingTable = this.get(sec, 'routing_table', p, (s) => parseUint(s, 0xffffffff)) ?? d.routingTable;
    d.eapOnly = this.get(sec, 'eap_only_authentication', p, parseBool) ?? d.eapOnly;
    const domain = this.get(sec, 'eap_mschapv2_domain', p, (s) => s.trim());
    if (domain) d.mschapv2Domain = domain;
    d.proposalOrder = this.get(sec, 'proposal_order', p, (s) => parseEnum(s, ['client', 'server'] as const)) ?? d.proposalOrder;
    d.fragmentSize = this.get(sec, 'fragment_size', p, (s) => {
      const n = parseUint(s, 65535);
      if (n !== 0 && n < 576) throw new Error('must be 0 (default) or at least 576');
      return n;
    }) ?? d.fragmentSize;
    if (d.port === d.portNatT) {
      const v = sec.values.get('port_nat_t') ?? sec.values.get('port') ?? sec;
      throw new ConfigError('ikegate.port and ikegate.port_nat_t must differ', v.file, v.line);
    }
    return d;
  }

  // ---- pools ----------------------------------------------------------------------------

  pools(sec: ConfSection | undefined): PoolConfig[] {
    if (!sec) return [];
    for (const v of sec.values.values()) throw new ConfigError(`unknown key '${v.key}' in pools`, v.file, v.line);
    const out: PoolConfig[] = [];
    const ranges: { name: string; r: AddrRange; v: ConfValue }[] = [];
    for (const [name, ps] of sec.sections) {
      const p = `pools.${name}`;
      noSubsections(ps, p);
      const addrsV = ps.values.get('addrs');
      if (!addrsV) throw new ConfigError(`${p}: 'addrs' is missing`, ps.file, ps.line);
      const range = this.get(ps, 'addrs', p, (s) => {
        const r = parseAddrRange(s);
        if (!r) throw new Error(`'${s}' is not a subnet or address range`);
        return r;
      }) as AddrRange;
      for (const o of ranges) {
        if (rangesOverlap(o.r, range)) this.warn(addrsV, `${p}.addrs ${formatRange(range)} overlaps pools.${o.name} (${formatRange(o.r)}); pools must not overlap`);
      }
      ranges.push({ name, r: range, v: addrsV });
      const ips = (s: string): string[] => {
        const l = parseList(s);
        for (const a of l) if (!parseIp(a)) throw new Error(`'${a}' is not an IP address`);
        return l;
      };
      const attributes: { type: number; values: string[] }[] = [];
      const add = (type: number, value: string): void => {
        const a = attributes.find((x) => x.type === type);
        if (a) a.values.push(value);
        else attributes.push({ type, values: [value] });
      };
      for (const v of ps.values.values()) {
        if (v.key === 'addrs' || v.key === 'dns' || v.key === 'nbns') continue;
        const key = v.key;
        if (/^\d+$/.test(key)) {
          const type = this.get(ps, key, p, (s) => {
            const n = parseUint(key, 0x7fff);
            return { n, l: parseList(s) };
          }) as { n: number; l: string[] };
          for (const x of type.l) add(type.n, x);
          continue;
        }
        if (!(POOL_ATTRS as readonly string[]).includes(key)) throw new ConfigError(`unknown key '${key}' in ${p}`, v.file, v.line);
        if (key === 'split_include' || key === 'split_exclude') {
          this.warn(v, `${p}.${key} is an IKEv1 (Cisco Unity) attribute; ignored`);
          continue;
        }
        const values = this.get(ps, key, p, (s) => {
          const l = parseList(s);
          for (const x of l) {
            const ok = key === 'subnet' ? !!parseAddrRange(x) && !x.includes('-') : !!parseIp(x);
            if (!ok) throw new Error(`'${x}' is not ${key === 'subnet' ? 'a subnet' : 'an IP address'}`);
          }
          return l;
        }) as string[];
        for (const x of values) {
          const v6 = x.includes(':');
          const type =
            key === 'dhcp' ? (v6 ? CpAttr.INTERNAL_IP6_DHCP : CpAttr.INTERNAL_IP4_DHCP)
            : key === 'netmask' ? CpAttr.INTERNAL_IP4_NETMASK
            : key === 'server' ? (v6 ? CpAttr.MS_INTERNAL_IP6_SERVER : CpAttr.MS_INTERNAL_IP4_SERVER)
            : v6 ? CpAttr.INTERNAL_IP6_SUBNET : CpAttr.INTERNAL_IP4_SUBNET;
          add(type, x);
        }
      }
      const pool: PoolConfig = {
        name,
        addrs: addrsV.value.trim(),
        dns: this.get(ps, 'dns', p, ips) ?? [],
        nbns: this.get(ps, 'nbns', p, ips) ?? [],
        where: where(ps),
      };
      if (attributes.length) pool.attributes = attributes;
      out.push(pool);
    }
    return out;
  }

  // ---- connections ------------------------------------------------------------------------

  connections(sec: ConfSection | undefined, pools: PoolConfig[]): Connection[] {
    if (!sec) return [];
    for (const v of sec.values.values()) throw new ConfigError(`unknown key '${v.key}' in connections`, v.file, v.line);
    const out: Connection[] = [];
    for (const [name, cs] of sec.sections) out.push(this.connection(name, cs, pools));
    return out;
  }

  private connection(name: string, cs: ConfSection, pools: PoolConfig[]): Connection {
    const p = `connections.${name}`;
    this.checkKeys(cs, CONNECTION_KEYS, p);
    const localRounds: { round: AuthRound; order: number }[] = [];
    const remoteRounds: { round: AuthRound; order: number }[] = [];
    let children: ChildConfig[] = [];
    let order = 0;
    for (const [sub, ss] of cs.sections) {
      if (sub === 'children') children = this.children(ss, p);
      else if (sub.startsWith('local')) localRounds.push({ round: this.authRound(ss, `${p}.${sub}`, 'local'), order: order++ });
      else if (sub.startsWith('remote')) remoteRounds.push({ round: this.authRound(ss, `${p}.${sub}`, 'remote'), order: order++ });
      else throw new ConfigError(`unknown section '${sub}' in ${p}`, ss.file, ss.line);
    }
    const sortRounds = (l: { round: AuthRound; order: number }[]): AuthRound[] =>
      l.sort((a, b) => (a.round.round ?? 0) - (b.round.round ?? 0) || a.order - b.order).map((x) => x.round);
    const local = sortRounds(localRounds);
    const remote = sortRounds(remoteRounds);
    if (local.length === 0) local.push(defaultRound());
    if (remote.length === 0) remote.push(defaultRound());

    this.get(cs, 'version', p, (s) => {
      const v = parseUint(s);
      if (v === 1) throw new Error('IKEv1 is not supported by ikegate (use version = 2 or 0)');
      if (v !== 0 && v !== 2) throw new Error(`unknown IKE version ${v}`);
      return v;
    });
    const addrs = (s: string, v: ConfValue): string[] => {
      const l = parseList(s);
      for (const a of l) {
        if (a === '%any' || a === '%any4' || a === '%any6' || parseAddrRange(a)) continue;
        if (/^(?=.*[a-z])[a-z0-9-]+(\.[a-z0-9-]+)*\.?$/i.test(a)) {
          this.warn(v, `${p}.${v.key}: DNS name '${a}' is not resolved by ikegate; it matches no address`);
          continue;
        }
        throw new Error(`'${a}' is not an address, subnet, range or %any`);
      }
      return l.length ? l : ['%any'];
    };
    const poolNames = this.get(cs, 'pools', p, (s) => {
      const l = parseList(s);
      for (const n of l) {
        if (!pools.some((x) => x.name === n)) {
          const hint = n === 'dhcp' || n === 'radius' ? ' (external dhcp/radius pools are not supported)' : '';
          throw new Error(`pool '${n}' is not defined in the pools section${hint}`);
        }
      }
      return l;
    }) ?? [];
    const reauthTime = this.get(cs, 'reauth_time', p, parseDuration) ?? 0;
    // strongSwan: an explicit reauth_time turns the default rekey_time off.
    const rekeyTime = this.get(cs, 'rekey_time', p, parseDuration) ?? (reauthTime > 0 ? 0 : 4 * 3600);
    const overTime = this.get(cs, 'over_time', p, parseDuration) ?? Math.round(Math.max(rekeyTime, reauthTime) / 10);
    const randTime = this.get(cs, 'rand_time', p, parseDuration) ?? overTime;
    const sendCertV = this.get(cs, 'send_cert', p, (s) => parseEnum(s, ['always', 'ifasked', 'never'] as const));
    const port = (s: string): number => parseUint(s, 65535);

    const conn: Connection = {
      name,
      localAddrs: this.get(cs, 'local_addrs', p, addrs) ?? ['%any'],
      remoteAddrs: this.get(cs, 'remote_addrs', p, addrs) ?? ['%any'],
      ikeProposals: this.get(cs, 'proposals', p, (s) => proposals(s, 'ike')) ?? proposals('default', 'ike'),
      // Set from ikegate.proposal_order once the daemon section is read (configFromTree).
      preferServerOrder: false,
      local,
      remote,
      pools: poolNames,
      children,
      fragmentation: this.get(cs, 'fragmentation', p, (s) => parseEnum(s, ['yes', 'accept', 'force', 'no'] as const)) ?? 'yes',
      fragmentSize: 0,
      mobike: this.get(cs, 'mobike', p, parseBool) ?? true,
      encap: this.get(cs, 'encap', p, parseBool) ?? false,
      dpdDelay: this.get(cs, 'dpd_delay', p, parseDuration) ?? 0,
      dpdTimeout: this.get(cs, 'dpd_timeout', p, parseDuration) ?? 0,
      rekeyTime,
      reauthTime,
      overTime,
      randTime,
      // 'no' stays distinct from 'never': strongSwan's 'no' still honours INITIAL_CONTACT.
      // ikegate defaults to replace (strongSwan: no): a user reconnecting after a network change
      // must not keep a stale SA holding a second virtual IP.
      // `no` (what legacy uniqueids=no configs become) means several SAs per identity, as `never`:
      // strongSwan's `no` would still drop them on INITIAL_CONTACT, which every reconnecting
      // strongSwan client sends, so such setups lose their parallel SAs in practice.
      unique: ((u) => (u === 'no' ? 'never' : u))(this.get(cs, 'unique', p, (s) => parseEnum(s, ['never', 'no', 'replace', 'keep'] as const)) ?? 'replace'),
      // Product rule: clients that send no CERTREQ (Apple) still need our certificate, so with
      // local pubkey auth the default is 'always' instead of swanctl's 'ifasked'.
      sendCert: sendCertV ?? (local[0]?.auth === 'pubkey' ? 'always' : 'ifasked'),
      sendCertreq: this.get(cs, 'send_certreq', p, parseBool) ?? true,
      keyingTries: this.get(cs, 'keyingtries', p, (s) => parseUint(s)) ?? 1,
      where: where(cs),
    };
    const lp = this.get(cs, 'local_port', p, port);
    const rp = this.get(cs, 'remote_port', p, port);
    if (lp !== undefined) conn.localPort = lp;
    if (rp !== undefined) conn.remotePort = rp;
    return conn;
  }

  private authRound(sec: ConfSection, path: string, side: 'local' | 'remote'): AuthRound {
    this.checkKeys(sec, side === 'local' ? LOCAL_KEYS : REMOTE_KEYS, path);
    for (const [sub, ss] of sec.sections) {
      const certLike = sub.startsWith('cert') || (side === 'remote' && sub.startsWith('cacert'));
      if (!certLike) throw new ConfigError(`unknown section '${sub}' in ${path}`, ss.file, ss.line);
      this.checkKeys(ss, CERT_SECTION_KEYS, `${path}.${sub}`);
      noSubsections(ss, `${path}.${sub}`);
      this.warn(ss, `${path}.${sub}: certificate sections (PKCS#11 tokens, raw files) are not supported yet; ignored`);
    }
    const authV = sec.values.get('auth');
    const auth = this.get(sec, 'auth', path, (s, v) => this.authClass(s, v, path)) ?? 'pubkey';
    if (side === 'local' && auth.startsWith('eap') && authV) {
      throw new ConfigError(`${path}.auth: ikegate is the EAP server; EAP is only possible in remote rounds`, authV.file, authV.line);
    }
    const idText = sec.values.get('id')?.value ?? '%any';
    const id = this.get(sec, 'id', path, parseIdentityPattern) ?? parseIdentityPattern('%any');
    // strongSwan: eap_id defaults to the IKE identity.
    const eapId = this.get(sec, 'eap_id', path, parseIdentityPattern) ?? parseIdentityPattern(idText);
    const round: AuthRound = {
      auth,
      id,
      certs: side === 'local' ? (this.get(sec, 'certs', path, parseList) ?? []) : [],
      cacerts: this.get(sec, 'cacerts', path, parseList) ?? [],
      eapId,
    };
    if (side === 'remote') {
      const pc = this.get(sec, 'certs', path, parseList);
      if (pc) round.peerCerts = pc;
      round.revocation = this.get(sec, 'revocation', path, (s) => parseEnum(s, ['strict', 'ifuri', 'relaxed'] as const)) ?? 'relaxed';
      if (round.revocation === 'strict') {
        const v = sec.values.get('revocation')!;
        // Starting anyway would promise checks that do not happen.
        throw new ConfigError(`${path}.revocation = strict: ikegate does not check CRLs or OCSP yet; use relaxed (and keep CA lifetimes short) or strongSwan for now`, v.file, v.line);
      }
    }
    const r = this.get(sec, 'round', path, (s) => parseUint(s));
    if (r !== undefined) round.round = r;
    return round;
  }

  private authClass(s: string, v: ConfValue, path: string): AuthClass {
    const t = s.trim().toLowerCase();
    if (t === 'pubkey' || t === 'rsa' || t === 'ecdsa') return 'pubkey';
    if (/^(pubkey|rsa|ecdsa|ike:|rsa\/pss)/.test(t)) {
      this.warn(v, `${path}.auth: signature/key-strength constraints in '${s}' are not enforced yet; using pubkey`);
      return 'pubkey';
    }
    if (t === 'psk') return 'psk';
    if (t === 'eap') return 'eap-dynamic';
    const [method = '', constraints] = t.split(':');
    if (['eap-mschapv2', 'eap-tls', 'eap-md5', 'eap-dynamic'].includes(method)) {
      if (constraints !== undefined) this.warn(v, `${path}.auth: EAP trust chain constraints ':${constraints}' are not enforced yet`);
      return method as AuthClass;
    }
    if (t.startsWith('xauth')) throw new Error('XAuth is IKEv1 only; not supported');
    throw new Error(`unsupported auth '${s}' (pubkey, psk, eap, eap-mschapv2, eap-tls, eap-md5, eap-dynamic)`);
  }

  private children(sec: ConfSection, connPath: string): ChildConfig[] {
    const p = `${connPath}.children`;
    for (const v of sec.values.values()) throw new ConfigError(`unknown key '${v.key}' in ${p}`, v.file, v.line);
    const out: ChildConfig[] = [];
    for (const [name, cs] of sec.sections) out.push(this.child(name, cs, `${p}.${name}`));
    return out;
  }

  private child(name: string, cs: ConfSection, p: string): ChildConfig {
    this.checkKeys(cs, CHILD_KEYS, p);
    noSubsections(cs, p);
    const ts = (s: string): string[] => {
      const l = parseList(s);
      if (l.length === 0) throw new Error('no traffic selectors');
      for (const x of l) parseTsSpec(x);
      return l;
    };
    const rekeyTime = this.get(cs, 'rekey_time', p, parseDuration) ?? 3600;
    const lifeTime = this.get(cs, 'life_time', p, parseDuration) ?? Math.round(rekeyTime * 1.1);
    const rekeyBytes = this.get(cs, 'rekey_bytes', p, parseBytes) ?? 0;
    const lifeBytes = this.get(cs, 'life_bytes', p, parseBytes) ?? Math.round(rekeyBytes * 1.1);
    const lifeV = cs.values.get('life_time');
    if (lifeV && rekeyTime > 0 && lifeTime > 0 && lifeTime <= rekeyTime) {
      throw new ConfigError(`${p}.life_time (${lifeTime}s) must be longer than rekey_time (${rekeyTime}s)`, lifeV.file, lifeV.line);
    }
    const action = (s: string): 'none' | 'trap' | 'start' => {
      const a = parseEnum(s, ['none', 'clear', 'trap', 'route', 'start', 'restart'] as const);
      return a === 'clear' ? 'none' : a === 'route' ? 'trap' : a === 'restart' ? 'start' : a;
    };
    const child: ChildConfig = {
      name,
      localTs: this.get(cs, 'local_ts', p, ts) ?? ['dynamic'],
      remoteTs: this.get(cs, 'remote_ts', p, ts) ?? ['dynamic'],
      espProposals: this.get(cs, 'esp_proposals', p, (s) => proposals(s, 'esp')) ?? proposals('default', 'esp'),
      mode: this.get(cs, 'mode', p, (s) => {
        const m = parseEnum(s, ['tunnel', 'transport', 'transport_proxy', 'beet', 'pass', 'drop'] as const);
        if (m !== 'tunnel' && m !== 'transport') throw new Error(`mode '${m}' is not supported by ikegate (tunnel or transport)`);
        return m;
      }) ?? 'tunnel',
      rekeyTime,
      lifeTime,
      randTime: this.get(cs, 'rand_time', p, parseDuration) ?? Math.max(0, lifeTime - rekeyTime),
      rekeyBytes,
      lifeBytes,
      randBytes: this.get(cs, 'rand_bytes', p, parseBytes) ?? Math.max(0, lifeBytes - rekeyBytes),
      dpdAction: this.get(cs, 'dpd_action', p, (s, v) => {
        const a = action(s);
        if (a === 'trap') {
          this.warn(v, `${p}.dpd_action = trap needs an initiator; using clear`);
          return 'clear';
        }
        return a === 'start' ? 'restart' : 'clear';
      }) ?? 'clear',
      replayWindow: this.get(cs, 'replay_window', p, (s) => parseUint(s, 0xffffffff)) ?? 32,
      startAction: this.get(cs, 'start_action', p, (s, v) => {
        const a = action(s);
        if (a !== 'none') this.warn(v, `${p}.start_action = ${a}: ikegate only responds; ignored`);
        return a;
      }) ?? 'none',
      closeAction: this.get(cs, 'close_action', p, (s, v) => {
        const a = action(s);
        if (a !== 'none') this.warn(v, `${p}.close_action = ${a}: ikegate only responds; ignored`);
        return a;
      }) ?? 'none',
      hostaccess: this.get(cs, 'hostaccess', p, parseBool) ?? false,
      policies: this.get(cs, 'policies', p, parseBool) ?? true,
      ipcomp: this.get(cs, 'ipcomp', p, (s, v) => {
        const b = parseBool(s);
        if (b) this.warn(v, `${p}.ipcomp: IPComp is not supported; not negotiated`);
        return b;
      }) ?? false,
      inactivity: this.get(cs, 'inactivity', p, parseDuration) ?? 0,
    };
    const updown = this.get(cs, 'updown', p, nonEmpty);
    if (updown !== undefined) child.updown = updown;
    return child;
  }

  // ---- secrets ------------------------------------------------------------------------------

  secrets(sec: ConfSection | undefined): SecretConfig[] {
    if (!sec) return [];
    for (const v of sec.values.values()) throw new ConfigError(`unknown key '${v.key}' in secrets`, v.file, v.line);
    const out: SecretConfig[] = [];
    for (const [name, ss] of sec.sections) {
      const p = `secrets.${name}`;
      noSubsections(ss, p);
      const type = SECRET_TYPES.find((t) => name.toLowerCase().startsWith(t));
      if (!type) throw new ConfigError(`unknown secret type '${name}' in secrets (ike, eap, xauth, ntlm, private, rsa, ecdsa, pkcs8, pkcs12)`, ss.file, ss.line);
      if (type === 'token' || type === 'ppk') {
        const keys = type === 'token' ? ['handle', 'slot', 'module', 'pin'] : ['secret'];
        this.checkKeys(ss, { implemented: [], ignored: keys }, p, (k) => type === 'ppk' && k.startsWith('id'));
        this.warn(ss, `${p}: ${type === 'token' ? 'smartcard tokens' : 'postquantum preshared keys'} are not supported yet; ignored`);
        continue;
      }
      const shared = type === 'ike' || type === 'eap' || type === 'xauth' || type === 'ntlm';
      const table: KeyTable = shared
        ? { implemented: type === 'eap' || type === 'xauth' ? ['secret', 'nt_hash'] : ['secret'], ignored: [] }
        : { implemented: ['file', 'secret'], ignored: [] };
      this.checkKeys(ss, table, p, (k) => shared && k.startsWith('id'));
      const s: SecretConfig = { kind: type, name, ids: [], where: where(ss) };
      if (shared) {
        for (const v of ss.values.values()) {
          if (v.key.startsWith('id')) s.ids.push(this.get(ss, v.key, p, parseIdentityPattern) as SecretConfig['ids'][number]);
        }
      }
      const ntHash = (str: string): Uint8Array => {
        if (!/^0[xs]/i.test(str)) throw new Error('the NT hash must be given as 0x hex or 0s base64');
        const b = parseSecret(str);
        if (b.length !== 16) throw new Error(`an NT hash has 16 bytes, got ${b.length}`);
        return b;
      };
      if (type === 'ntlm') {
        const h = this.get(ss, 'secret', p, ntHash);
        if (h) s.ntHash = h;
      } else {
        const secret = this.get(ss, 'secret', p, parseSecret);
        if (secret) s.secret = secret;
        const h = this.get(ss, 'nt_hash', p, ntHash);
        if (h) s.ntHash = h;
      }
      if (shared && !s.secret && !s.ntHash) throw new ConfigError(`${p}: 'secret' is missing`, ss.file, ss.line);
      if (!shared) {
        const file = this.get(ss, 'file', p, nonEmpty);
        if (!file) throw new ConfigError(`${p}: 'file' is missing`, ss.file, ss.line);
        s.file = file;
      }
      out.push(s);
    }
    return out;
  }

  // ---- authorities ------------------------------------------------------------------------

  authorities(sec: ConfSection | undefined): AuthorityConfig[] {
    if (!sec) return [];
    for (const v of sec.values.values()) throw new ConfigError(`unknown key '${v.key}' in authorities`, v.file, v.line);
    const out: AuthorityConfig[] = [];
    for (const [name, as] of sec.sections) {
      const p = `authorities.${name}`;
      this.checkKeys(as, AUTHORITY_KEYS, p);
      noSubsections(as, p);
      const a: AuthorityConfig = {
        name,
        crlUris: this.get(as, 'crl_uris', p, parseList) ?? [],
        ocspUris: this.get(as, 'ocsp_uris', p, parseList) ?? [],
        where: where(as),
      };
      const cacert = this.get(as, 'cacert', p, nonEmpty);
      const file = this.get(as, 'file', p, nonEmpty);
      if (cacert !== undefined) a.cacert = cacert;
      if (file !== undefined) a.file = file;
      if (cacert === undefined && file === undefined && !as.values.has('handle')) {
        throw new ConfigError(`${p}: one of 'cacert' or 'file' is needed`, as.file, as.line);
      }
      out.push(a);
    }
    return out;
  }
}

function defaultRound(): AuthRound {
  const any = parseIdentityPattern('%any');
  return { auth: 'pubkey', id: any, certs: [], cacerts: [], eapId: any };
}

function noSubsections(sec: ConfSection, path: string): void {
  for (const [sub, ss] of sec.sections) throw new ConfigError(`unknown section '${sub}' in ${path}`, ss.file, ss.line);
}

function nonEmpty(s: string): string {
  if (s.trim() === '') throw new Error('must not be empty');
  return s;
}

function positive(s: string): number {
  const n = parseFloatStrict(s);
  if (n <= 0) throw new Error('must be positive');
  return n;
}

/** A comma list of proposals; each item may be `default` (expanded by the proposal parser). */
function proposals(s: string, protocol: 'ike' | 'esp'): ProposalSpec[] {
  const items = parseList(s);
  if (items.length === 0) throw new Error(protocol === 'ike' ? 'no IKE proposals' : 'child has no proposals');
  return items.flatMap((item) => parseProposals(item, protocol));
}
