// The userspace ESP dataplane: tunnel-mode ESP-in-UDP (RFC 4303, RFC 3948) between a TUN
// device and the IKE sockets on port 4500, for hosts whose kernel has XFRM but no ESP (see
// /work/shared/design/testbed.md) — strongSwan's kernel-libipsec in TypeScript.
//
//   outbound: TUN → inner IP packet → SPD (most specific 'out' policy, RFC 4301 §5.1) → the
//             newest outbound SA of its reqid → ESP seal → UDP from the SA's local endpoint
//   inbound:  UDP 4500 (not a non-ESP marker) → SA by SPI → anti-replay pre-check → ICV →
//             window update → padding → inner header sane → inbound selector check of the SA's
//             policies (RFC 4301 §5.2) → TUN
//
// Only tunnel mode and only UDP encapsulation: raw ESP (IP protocol 50) would need a raw
// socket, so `requiresUdpEncapsulation` tells the engine to force NAT-T as kernel-libipsec does.
// Drops are counted per reason and logged at most once per interval per reason, never per packet.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.js';
import { RateLimitedLog } from '../log/logger.js';
import { endpoint, type Endpoint } from '../net/endpoint.js';
import type { Dataplane, DataplaneEvent, MigrateSpec, PolicySpec, RouteSpec, SaId, SaSpec, SaUsage } from '../xfrm/dataplane.js';
import { createTransform, UnsupportedAlgorithmError } from './ciphers.js';
import { EspSa, NEXT_HEADER_IPV4, NEXT_HEADER_IPV6, NEXT_HEADER_NONE, readEspHeader } from './esp.js';
import { MAX_REPLAY_WINDOW } from './replay.js';
import { matches, packetInfo, parseSelector, Spd, type ParsedSelector } from './spd.js';
import { openTun, routeArgs, runIp, TunUnavailableError, type IpRunner, type OpenTunOptions, type TunPort } from './tun.js';

/** Sends one UDP datagram from one of our IKE sockets (UdpTransport.sendRaw). */
export type UdpSender = (local: Endpoint, remote: Endpoint, bytes: Uint8Array) => void;

/** Time source and timers (structurally the engine's Clock). */
export interface DataplaneClock {
  now(): number;
  setTimer(delayMs: number, fn: () => void): () => void;
}

export const systemDataplaneClock: DataplaneClock = {
  now: () => Date.now(),
  setTimer: (ms, fn) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return () => clearTimeout(t);
  },
};

export interface UserspaceDataplaneOptions {
  /** The TUN device (UserspaceDataplane.open() opens the native one). */
  tun: TunPort;
  /** ESP-in-UDP output: `(local, remote, bytes) => transport.sendRaw(local, remote, bytes)`. */
  sendUdp: UdpSender;
  log: Logger;
  /** Runs `ip …` for routes (default: the iproute2 command). */
  ip?: IpRunner;
  clock?: DataplaneClock;
  /** Random bytes for SPI allocation (default node:crypto). */
  randomBytes?: (n: number) => Uint8Array;
  /**
   * Also route each outbound policy's remote *host* selector (a client's virtual IP /32 or /128)
   * into the TUN, in the main table, as kernel-libipsec does for its policies. Default true.
   * Explicit installRoute() calls share the same reference-counted routes.
   */
  routeRemoteHosts?: boolean;
  /** Minimum interval between two log lines for the same drop reason (default 10 s). */
  dropLogIntervalMs?: number;
}

export type DropReason =
  | 'malformed' // too short, bad length, undecodable inner header
  | 'bad-spi' // no inbound SA with this SPI for this address
  | 'replay' // duplicate or left of the anti-replay window
  | 'icv' // integrity check failed
  | 'padding' // pad bytes other than 1, 2, 3, … (RFC 4303 §2.4)
  | 'next-header' // neither IPv4 (4) nor IPv6 (41): transport mode is not supported
  | 'selector' // inner addresses outside the SA's selectors (RFC 4301 §5.2)
  | 'no-policy' // outbound packet no policy covers
  | 'no-sa' // outbound policy without an installed SA
  | 'seq-exhausted' // outbound SA used its last sequence number (RFC 4303 §3.3.3)
  | 'send'; // the UDP send threw

const DROP_TEXT: Record<DropReason, string> = {
  malformed: 'malformed packet',
  'bad-spi': 'unknown SPI',
  replay: 'replayed or too old sequence number',
  icv: 'integrity check failed',
  padding: 'invalid ESP padding',
  'next-header': 'next header is not IPv4/IPv6 (tunnel mode only)',
  selector: 'inner addresses do not match the SA selectors',
  'no-policy': 'no outbound policy',
  'no-sa': 'no outbound SA for the policy',
  'seq-exhausted': 'sequence numbers exhausted',
  send: 'UDP send failed',
};

/** Soft-expire an outbound SA this many sequence numbers before its last one. */
const SOFT_SEQ_MARGIN = 1 << 24;
/** Allocated inbound SPIs not installed within this time are released. */
const SPI_RESERVATION_MS = 5 * 60_000;

interface SaEntry {
  id: SaId;
  key: string;
  reqid: number;
  direction: 'in' | 'out';
  esp: EspSa;
  /** Our end and the peer's end of the UDP encapsulation. */
  local: Endpoint;
  remote: Endpoint;
  lifetime: SaSpec['lifetime'];
  softSent: boolean;
  timers: Array<() => void>;
}

interface InboundPolicy {
  key: string;
  selector: ParsedSelector;
}

interface OutboundPolicy {
  key: string;
  reqid: number;
}

interface RouteEntry {
  destination: string;
  table: number;
  refs: number;
}

export interface UserspaceDataplaneStats {
  sas: number;
  outboundPolicies: number;
  routes: number;
  packetsIn: number;
  packetsOut: number;
  drops: Record<DropReason, number>;
}

const saKey = (id: SaId): string => `${id.dst}|${id.spi}`;
const policyKey = (p: PolicySpec): string => `${p.direction} ${p.selector.local}<->${p.selector.remote}/${p.selector.protocol} #${p.reqid}`;
const hex8 = (spi: number): string => spi.toString(16).padStart(8, '0');

export class UserspaceDataplane implements Dataplane {
  readonly name = 'userspace';
  /** Only ESP-in-UDP: the engine must force UDP encapsulation (as for kernel-libipsec). */
  readonly requiresUdpEncapsulation = true;

  private readonly tun: TunPort;
  private readonly sendUdp: UdpSender;
  private readonly log: Logger;
  private readonly ip: IpRunner;
  private readonly clock: DataplaneClock;
  private readonly random: (n: number) => Uint8Array;
  private readonly routeRemoteHosts: boolean;
  private readonly dropLog: RateLimitedLog;

  private readonly sas = new Map<string, SaEntry>();
  private readonly inboundBySpi = new Map<number, SaEntry>();
  private readonly outboundByReqid = new Map<number, SaEntry[]>();
  private readonly reservedSpis = new Map<number, number>(); // SPI -> allocation time
  private readonly spd = new Spd<OutboundPolicy>();
  private readonly inboundPolicies = new Map<number, Map<string, InboundPolicy>>(); // reqid -> policies
  private readonly routes = new Map<string, RouteEntry>();
  private readonly listeners = new Set<(e: DataplaneEvent) => void>();
  private readonly drops: Record<DropReason, number> = {
    malformed: 0, 'bad-spi': 0, replay: 0, icv: 0, padding: 0, 'next-header': 0, selector: 0, 'no-policy': 0, 'no-sa': 0, 'seq-exhausted': 0, send: 0,
  };
  private packetsIn = 0;
  private packetsOut = 0;
  private closed = false;

  constructor(opts: UserspaceDataplaneOptions) {
    this.tun = opts.tun;
    this.sendUdp = opts.sendUdp;
    this.log = opts.log;
    this.ip = opts.ip ?? runIp;
    this.clock = opts.clock ?? systemDataplaneClock;
    this.random = opts.randomBytes ?? ((n) => randomBytes(n));
    this.routeRemoteHosts = opts.routeRemoteHosts ?? true;
    this.dropLog = new RateLimitedLog(opts.dropLogIntervalMs ?? 10_000);
    this.tun.onPacket((p) => this.onTunPacket(p));
  }

  /**
   * Opens the native TUN device (default "ikegate0", MTU 1400, brought up) and returns the
   * dataplane. Rejects with an Error whose message says why it is unavailable (no addon, no
   * CAP_NET_ADMIN, no /dev/net/tun …), for the daemon to log as one line.
   */
  static async open(opts: Omit<UserspaceDataplaneOptions, 'tun'> & { tunName?: string; mtu?: number; TunDevice?: OpenTunOptions['TunDevice'] }): Promise<UserspaceDataplane> {
    let tun: TunPort;
    try {
      tun = await openTun({
        ...(opts.tunName !== undefined ? { name: opts.tunName } : {}),
        ...(opts.mtu !== undefined ? { mtu: opts.mtu } : {}),
        ...(opts.ip ? { ip: opts.ip } : {}),
        ...(opts.TunDevice ? { TunDevice: opts.TunDevice } : {}),
      });
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err);
      throw new TunUnavailableError(`userspace ESP dataplane unavailable: ${why}`);
    }
    const dp = new UserspaceDataplane({ ...opts, tun });
    opts.log.info({ tun: tun.name, mtu: opts.mtu ?? 1400 }, `userspace ESP dataplane on TUN device ${tun.name} (ESP-in-UDP only)`);
    return dp;
  }

  // --- Dataplane: SAs --------------------------------------------------------------------

  async allocateSpi(dst: string): Promise<number> {
    const now = this.clock.now();
    for (const [spi, at] of this.reservedSpis) if (now - at > SPI_RESERVATION_MS) this.reservedSpis.delete(spi);
    for (let attempt = 0; attempt < 1000; attempt++) {
      const r = this.random(4);
      const spi = (0xc000_0000 | ((((r[0] ?? 0) & 0x0f) << 24) | ((r[1] ?? 0) << 16) | ((r[2] ?? 0) << 8) | (r[3] ?? 0))) >>> 0;
      if (this.inboundBySpi.has(spi) || this.reservedSpis.has(spi) || this.sas.has(saKey({ src: '', dst, spi, proto: 'esp' }))) continue;
      this.reservedSpis.set(spi, now);
      return spi;
    }
    throw new Error('no free SPI in 0xc0000000-0xcfffffff');
  }

  async installSa(sa: SaSpec): Promise<void> {
    const key = saKey(sa.id);
    const what = `SA ${hex8(sa.id.spi)} (${sa.direction}, ${sa.id.src} -> ${sa.id.dst})`;
    if (this.closed) throw new Error(`${what}: the userspace dataplane is closed`);
    if (sa.mode !== 'tunnel') throw new Error(`${what}: the userspace ESP dataplane supports tunnel mode only (got ${sa.mode})`);
    if (!sa.encap) throw new Error(`${what}: the userspace ESP dataplane needs UDP encapsulation (RFC 3948); raw ESP is not supported`);
    if (this.sas.has(key)) throw new Error(`${what}: an SA with this SPI and destination exists`);
    if (sa.direction === 'in' && this.inboundBySpi.has(sa.id.spi)) throw new Error(`${what}: inbound SPI already in use`);
    if (sa.enc.alg.family !== 'aead' && !sa.integ) throw new Error(`${what}: ESP without integrity protection is refused`);
    if (sa.replayWindow > MAX_REPLAY_WINDOW) throw new Error(`${what}: replay window ${sa.replayWindow} exceeds ${MAX_REPLAY_WINDOW}`);
    let esp: EspSa;
    try {
      const transform = createTransform({ enc: sa.enc, ...(sa.integ ? { integ: sa.integ } : {}) });
      esp = new EspSa(sa.id.spi, sa.direction, transform, sa.esn, sa.replayWindow);
    } catch (err) {
      if (err instanceof UnsupportedAlgorithmError || err instanceof RangeError) throw new Error(`${what}: ${err.message}`);
      throw err;
    }
    // RFC 3948 ports as in XFRM: sport belongs to id.src, dport to id.dst, in both directions.
    const src = endpoint(sa.id.src, sa.encap.sport);
    const dst = endpoint(sa.id.dst, sa.encap.dport);
    const entry: SaEntry = {
      id: { ...sa.id },
      key,
      reqid: sa.reqid,
      direction: sa.direction,
      esp,
      local: sa.direction === 'out' ? src : dst,
      remote: sa.direction === 'out' ? dst : src,
      lifetime: { ...sa.lifetime },
      softSent: false,
      timers: [],
    };
    const { softSeconds, hardSeconds } = sa.lifetime;
    if (softSeconds !== undefined && softSeconds > 0) entry.timers.push(this.clock.setTimer(softSeconds * 1000, () => this.softExpire(entry)));
    if (hardSeconds !== undefined && hardSeconds > 0) entry.timers.push(this.clock.setTimer(hardSeconds * 1000, () => this.hardExpire(entry)));
    this.sas.set(key, entry);
    if (sa.direction === 'in') {
      this.inboundBySpi.set(sa.id.spi, entry);
      this.reservedSpis.delete(sa.id.spi);
    } else {
      const list = this.outboundByReqid.get(sa.reqid) ?? [];
      list.push(entry);
      this.outboundByReqid.set(sa.reqid, list);
    }
    this.log.debug({ spi: hex8(sa.id.spi), reqid: sa.reqid, direction: sa.direction, transform: esp.transform.name, local: entry.local, remote: entry.remote }, `installed ${what} ${esp.transform.name}`);
  }

  async deleteSa(id: SaId): Promise<void> {
    const e = this.sas.get(saKey(id));
    if (e) this.remove(e);
  }

  async querySa(id: SaId): Promise<SaUsage | undefined> {
    const e = this.sas.get(saKey(id));
    if (!e) return undefined;
    const u = e.esp.usage;
    return { bytes: u.bytes, packets: u.packets, ...(u.lastUse !== undefined ? { lastUse: u.lastUse } : {}) };
  }

  /**
   * MOBIKE or a NAT mapping change (RFC 4555 §3.5, RFC 7296 §2.23): moves the SAs of CHILD_SA
   * `reqid` to new outer addresses in place. The ESP state stays: outbound sequence numbers,
   * anti-replay windows, usage and lifetime timers. (A delete and re-install would restart our
   * outbound sequence numbers at 1, which a peer that updated its SAs in place drops as replays
   * until they pass the highest it has seen.) UDP ports stay; the policies hold no outer addresses.
   * SAs of the reqid already at `to` count as moved, so a second call for a CHILD_SA sharing the
   * reqid (the old one during a rekey) succeeds.
   */
  async migrate(spec: MigrateSpec): Promise<void> {
    const canonical = (ends: MigrateSpec['from']) => ({ local: endpoint(ends.local, 0).address, remote: endpoint(ends.remote, 0).address });
    const m = { reqid: spec.reqid, from: canonical(spec.from), to: canonical(spec.to) };
    const ofReqid = [...this.sas.values()].filter((e) => e.reqid === m.reqid);
    const at = (e: SaEntry, ends: MigrateSpec['from']) => e.local.address === ends.local && e.remote.address === ends.remote;
    const moving = ofReqid.filter((e) => at(e, m.from));
    if (moving.length === 0) {
      if (ofReqid.some((e) => at(e, m.to))) return;
      throw new Error(`migrate: no SAs with reqid ${m.reqid} between ${m.from.local} and ${m.from.remote}`);
    }
    const moved = moving.map((e) => {
      const id: SaId = e.direction === 'in' ? { ...e.id, src: m.to.remote, dst: m.to.local } : { ...e.id, src: m.to.local, dst: m.to.remote };
      return { e, id, key: saKey(id) };
    });
    for (const { e, key } of moved) {
      const other = this.sas.get(key);
      if (other && other !== e && !moving.includes(other)) throw new Error(`migrate: SA ${hex8(e.id.spi)} to ${m.to.local} === ${m.to.remote}: an SA with this SPI and destination exists`);
    }
    for (const { e } of moved) this.sas.delete(e.key);
    for (const { e, id, key } of moved) {
      e.id = id;
      e.key = key;
      e.local = endpoint(m.to.local, e.local.port);
      e.remote = endpoint(m.to.remote, e.remote.port);
      this.sas.set(key, e);
    }
    this.log.debug({ reqid: m.reqid, spis: moved.map(({ e }) => hex8(e.id.spi)), from: m.from, to: m.to }, `migrated the SAs of reqid ${m.reqid} to ${m.to.local} === ${m.to.remote}`);
  }

  private remove(e: SaEntry): void {
    if (this.sas.get(e.key) !== e) return;
    this.sas.delete(e.key);
    for (const cancel of e.timers) cancel();
    e.timers.length = 0;
    if (e.direction === 'in') {
      if (this.inboundBySpi.get(e.id.spi) === e) this.inboundBySpi.delete(e.id.spi);
    } else {
      const list = this.outboundByReqid.get(e.reqid)?.filter((x) => x !== e) ?? [];
      if (list.length > 0) this.outboundByReqid.set(e.reqid, list);
      else this.outboundByReqid.delete(e.reqid);
    }
    e.esp.wipe();
  }

  // --- Dataplane: policies and routes -----------------------------------------------------

  async installPolicy(p: PolicySpec): Promise<void> {
    if (p.mode !== 'tunnel') throw new Error(`policy ${p.selector.local} <-> ${p.selector.remote}: tunnel mode only`);
    const selector = parseSelector(p.selector);
    const key = policyKey(p);
    if (p.direction === 'out') {
      this.spd.remove((v) => v.key === key);
      this.spd.add(selector, p.priority, { key, reqid: p.reqid });
      if (this.routeRemoteHosts && selector.remote.width === 0) {
        const dest = p.selector.remote.replace(/\[.*$/, '');
        await this.addRoute(dest, 0).catch((err: unknown) =>
          this.log.warn({ err: err instanceof Error ? err.message : String(err) }, `could not route ${dest} into ${this.tun.name}`),
        );
      }
    } else {
      // 'in' and 'fwd' describe the same traffic for a tunnel-mode gateway: both feed the
      // inbound selector check of SAs with this reqid.
      const map = this.inboundPolicies.get(p.reqid) ?? new Map<string, InboundPolicy>();
      map.set(key, { key, selector });
      this.inboundPolicies.set(p.reqid, map);
    }
  }

  async deletePolicy(p: PolicySpec): Promise<void> {
    const key = policyKey(p);
    if (p.direction === 'out') {
      const n = this.spd.remove((v) => v.key === key);
      if (n > 0 && this.routeRemoteHosts) {
        let selector: ParsedSelector | undefined;
        try {
          selector = parseSelector(p.selector);
        } catch {
          selector = undefined;
        }
        if (selector?.remote.width === 0) await this.releaseRoute(p.selector.remote.replace(/\[.*$/, ''), 0);
      }
    } else {
      const map = this.inboundPolicies.get(p.reqid);
      map?.delete(key);
      if (map?.size === 0) this.inboundPolicies.delete(p.reqid);
    }
  }

  /** `ip route replace <vip>/32 dev <tun> [table N]` (reference-counted). */
  async installRoute(r: RouteSpec): Promise<void> {
    await this.addRoute(r.destination, r.table);
  }

  async deleteRoute(r: RouteSpec): Promise<void> {
    await this.releaseRoute(r.destination, r.table);
  }

  private routeKey(destination: string, table: number): string {
    return `${table === 254 ? 0 : table} ${destination.includes('/') ? destination : `${destination}/${destination.includes(':') ? 128 : 32}`}`;
  }

  private async addRoute(destination: string, table: number): Promise<void> {
    const k = this.routeKey(destination, table);
    const e = this.routes.get(k);
    if (e) {
      e.refs++;
      return;
    }
    await this.ip(routeArgs('replace', destination, this.tun.name, table));
    this.routes.set(k, { destination, table, refs: 1 });
  }

  private async releaseRoute(destination: string, table: number): Promise<void> {
    const k = this.routeKey(destination, table);
    const e = this.routes.get(k);
    if (!e) return;
    if (--e.refs > 0) return;
    this.routes.delete(k);
    await this.ip(routeArgs('del', destination, this.tun.name, table));
  }

  // --- events and lifetimes ---------------------------------------------------------------

  onEvent(listener: (e: DataplaneEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: DataplaneEvent): void {
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err }, 'dataplane event listener threw');
      }
    }
  }

  private softExpire(e: SaEntry): void {
    if (e.softSent || this.sas.get(e.key) !== e) return;
    e.softSent = true;
    this.emit({ kind: 'expire', id: { ...e.id }, hard: false });
  }

  /** Hard expire: report, then delete the SA (as the kernel does). */
  private hardExpire(e: SaEntry): void {
    if (this.sas.get(e.key) !== e) return;
    this.remove(e);
    this.emit({ kind: 'expire', id: { ...e.id }, hard: true });
  }

  private checkLifetime(e: SaEntry): void {
    const { softBytes, hardBytes } = e.lifetime;
    const bytes = e.esp.usage.bytes;
    if (hardBytes !== undefined && hardBytes > 0 && bytes >= hardBytes) this.hardExpire(e);
    else if (softBytes !== undefined && softBytes > 0 && bytes >= softBytes) this.softExpire(e);
  }

  // --- packet paths -----------------------------------------------------------------------

  private drop(reason: DropReason, detail?: Record<string, unknown>): void {
    this.drops[reason]++;
    const suppressed = this.dropLog.admit(reason, this.clock.now());
    if (suppressed === undefined) return;
    this.log.info(
      { reason, total: this.drops[reason], suppressed, ...detail },
      `userspace ESP dropped a packet: ${DROP_TEXT[reason]}${suppressed > 0 ? ` (+${suppressed} more since the last report)` : ''}`,
    );
  }

  /** Outbound: an IP packet the kernel routed into the TUN device. */
  private onTunPacket(packet: Buffer): void {
    const info = packetInfo(packet);
    if (!info) return this.drop('malformed', { from: 'tun' });
    const policy = this.spd.lookup(packet, info);
    if (!policy) return this.drop('no-policy');
    const list = this.outboundByReqid.get(policy.reqid);
    const sa = list?.[list.length - 1];
    if (!sa) return this.drop('no-sa', { reqid: policy.reqid });
    const out = sa.esp.seal(info.family === 4 ? NEXT_HEADER_IPV4 : NEXT_HEADER_IPV6, packet, this.clock.now());
    if (!out) {
      this.drop('seq-exhausted', { spi: hex8(sa.id.spi) });
      this.hardExpire(sa);
      return;
    }
    try {
      this.sendUdp(sa.local, sa.remote, out);
    } catch (err) {
      this.drop('send', { err: err instanceof Error ? err.message : String(err) });
      return;
    }
    this.packetsOut++;
    if (sa.esp.seqRemaining <= SOFT_SEQ_MARGIN) this.softExpire(sa);
    this.checkLifetime(sa);
  }

  /**
   * Inbound: one ESP-in-UDP payload (starting with the SPI) that arrived on our port-4500
   * socket at `local` from `remote`. Wire UdpTransport's onEsp to this.
   */
  receiveEsp(packet: Uint8Array, local: Endpoint, remote: Endpoint): void {
    const header = readEspHeader(packet);
    if (!header) return this.drop('malformed', { from: remote.address });
    const sa = this.inboundBySpi.get(header.spi);
    if (!sa || sa.id.dst !== local.address) return this.drop('bad-spi', { spi: hex8(header.spi), from: remote.address });
    const r = sa.esp.open(packet, this.clock.now());
    if (!r.ok) {
      const reason: DropReason = r.reason === 'replay' || r.reason === 'stale' ? 'replay' : r.reason === 'length' ? 'malformed' : r.reason;
      return this.drop(reason, { spi: hex8(header.spi), from: remote.address });
    }
    this.checkLifetime(sa);
    if (r.nextHeader === NEXT_HEADER_NONE) return; // RFC 4303 §2.6 dummy packet: discard silently
    if (r.nextHeader !== NEXT_HEADER_IPV4 && r.nextHeader !== NEXT_HEADER_IPV6) {
      return this.drop('next-header', { spi: hex8(header.spi), nextHeader: r.nextHeader });
    }
    const inner = innerPacket(r.payload, r.nextHeader);
    if (!inner) return this.drop('malformed', { spi: hex8(header.spi), from: remote.address, inner: true });
    const info = packetInfo(inner);
    if (!info || !this.inboundAllowed(sa.reqid, inner, info)) return this.drop('selector', { spi: hex8(header.spi), reqid: sa.reqid });
    try {
      this.tun.write(inner);
    } catch (err) {
      return this.drop('send', { err: err instanceof Error ? err.message : String(err), to: 'tun' });
    }
    this.packetsIn++;
  }

  private inboundAllowed(reqid: number, inner: Uint8Array, info: NonNullable<ReturnType<typeof packetInfo>>): boolean {
    const policies = this.inboundPolicies.get(reqid);
    if (!policies) return false;
    for (const p of policies.values()) if (matches(p.selector, inner, info, 'in')) return true;
    return false;
  }

  stats(): UserspaceDataplaneStats {
    return {
      sas: this.sas.size,
      outboundPolicies: this.spd.size,
      routes: this.routes.size,
      packetsIn: this.packetsIn,
      packetsOut: this.packetsOut,
      drops: { ...this.drops },
    };
  }

  /** Removes every route this instance added, wipes the SAs and closes the TUN device. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const r of [...this.routes.values()]) {
      await this.ip(routeArgs('del', r.destination, this.tun.name, r.table)).catch((err: unknown) =>
        this.log.debug({ err: err instanceof Error ? err.message : String(err) }, `removing route ${r.destination} failed`),
      );
    }
    this.routes.clear();
    for (const e of [...this.sas.values()]) this.remove(e);
    this.spd.remove(() => true);
    this.inboundPolicies.clear();
    this.listeners.clear();
    this.tun.close();
  }
}

/**
 * The inner IP packet of a tunnel-mode payload: version must match Next Header, the header's
 * length must fit; bytes after it are TFC padding (RFC 4303 §2.7) and are cut off.
 */
export function innerPacket(payload: Buffer, nextHeader: number): Buffer | undefined {
  if (payload.length < 1) return undefined;
  const version = (payload[0] as number) >> 4;
  let length: number;
  if (nextHeader === NEXT_HEADER_IPV4) {
    if (version !== 4 || payload.length < 20) return undefined;
    length = payload.readUInt16BE(2);
    if (length < ((payload[0] as number) & 0x0f) * 4 || length < 20) return undefined;
  } else {
    if (version !== 6 || payload.length < 40) return undefined;
    length = 40 + payload.readUInt16BE(4); // (jumbograms have Payload Length 0 and are refused below)
    if (length === 40 && payload[6] !== 59) return undefined;
  }
  if (length > payload.length) return undefined;
  return length === payload.length ? payload : payload.subarray(0, length);
}
