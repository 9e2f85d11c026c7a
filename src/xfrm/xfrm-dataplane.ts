// The kernel dataplane: CHILD_SAs as Linux XFRM states and policies over netlink (linux/xfrm.h,
// ip-xfrm(8)), routes for virtual IPs over rtnetlink. Message choices follow strongSwan's
// kernel_netlink_ipsec.c: inbound SAs whose SPI came from XFRM_MSG_ALLOCSPI are installed with
// XFRM_MSG_UPDSA (it replaces the larval state), outbound ones with XFRM_MSG_NEWSA; AEAD as
// XFRMA_ALG_AEAD, otherwise XFRMA_ALG_CRYPT + XFRMA_ALG_AUTH_TRUNC; ESP-in-UDP as XFRMA_ENCAP;
// XFRMA_REPLAY_ESN_VAL for ESN or windows above 32; tunnel-mode SAs with an any-family selector.
//
// Ownership (what flushOwn() and event filtering recognise as ours):
// - states carry XFRMA_SET_MARK = ownerTag with XFRMA_SET_MARK_MASK = 0. The kernel stores and
//   reports it, but the output mark it applies is (mark & ~0) | (tag & 0) = mark: no effect on
//   packets, unlike XFRMA_MARK (which changes lookups) or the reqid (chosen by the engine);
// - policies have a priority in [policyPriorityBase, policyPriorityBase + POLICY_PRIORITY_SPAN);
// - routes have rtm_protocol = routeProtocol, and so has the `ip rule` that sends lookups to the
//   routing table (FRA_PROTOCOL, Linux 4.17+).
//
// Virtual-IP routes follow strongSwan's kernel-netlink (install_routes, charon.routing_table 220,
// routing_table_prio 220): each goes into the routing table towards the next hop of the path to
// the peer's outer address (RTM_GETROUTE), and one rule per family, "priority 220 lookup 220",
// makes the table count. The route only has to exist: the XFRM out policy claims the packet
// after the lookup and routes the ESP packet to the tunnel end itself.
import { formatIp, parseIp } from '../net/address.js';
import type { Dataplane, DataplaneEvent, PolicySpec, RouteSpec, SaId, SaSpec, SaUsage } from './dataplane.js';
import type { NetlinkMessage, NlAttr } from './netlink/message.js';
import { findAttr, messageAttrs, NetlinkProtocol, readU32, u32Attr } from './netlink/message.js';
import type { RouteLookup, RuleSpec } from './netlink/route.js';
import {
  delRouteRequest,
  delRuleRequest,
  dumpRoutesRequest,
  dumpRulesRequest,
  FR_ACT_TO_TBL,
  getRouteRequest,
  newRouteRequest,
  newRuleRequest,
  parseRoute,
  parseRouteLookup,
  parseRule,
  RtmType,
} from './netlink/route.js';
import type { NetlinkChannel, NetlinkTransport } from './netlink/socket.js';
import { NetlinkError, NetlinkRequestSocket } from './netlink/socket.js';
import {
  AF_INET,
  AF_INET6,
  IPPROTO_ESP,
  UDP_ENCAP_ESPINUDP,
  XFRM_INF,
  XFRMA_REPLAY_ESN_MAX,
  XfrmAttr,
  xfrmGroupMask,
  XfrmMode,
  xfrmMsgName,
  XfrmMsg,
  XfrmNlGroup,
  XfrmPolicyAction,
  XfrmPolicyDir,
  XfrmShare,
  XfrmSpdAttr,
  XfrmStateFlags,
} from './netlink/xfrm-constants.js';
import type { XfrmLifetimeCfg, XfrmSelector, XfrmUserpolicyInfo, XfrmUsersaInfo } from './netlink/xfrm-structs.js';
import {
  anySelector,
  encodeAlgo,
  encodeAlgoAead,
  encodeAlgoAuth,
  encodeEncapTmpl,
  encodeMark,
  encodeReplayStateEsn,
  encodeSpdhthresh,
  encodeUserKmaddress,
  encodeUserMigrates,
  encodeUserpolicyId,
  encodeUserpolicyInfo,
  encodeUserspiInfo,
  encodeUsersaId,
  encodeUsersaInfo,
  encodeUserTmpls,
  readUserAcquire,
  readUserExpire,
  readUserpolicyInfo,
  readUsersaInfo,
  readUserTmpls,
  SIZEOF,
} from './netlink/xfrm-structs.js';
import { expandSelector, selectorRank, toXfrmSelector } from './selectors.js';

/** Policies of one instance use priorities base … base + SPAN - 1 (see policyPriority()). */
export const POLICY_PRIORITY_SPAN = 0x10_0000;
/** Width of one PolicySpec.priority class; selectorRank() stays below it. */
const PRIORITY_CLASS = 0x800;

export const XFRM_DATAPLANE_DEFAULTS = {
  /** strongSwan's charon.routing_table. */
  routingTable: 220,
  /** strongSwan's charon.routing_table_prio: the `ip rule` priority of the table lookup. */
  routingRulePriority: 220,
  /** Above strongSwan's whole range (PRIO_BASE 200000 << 3 << 2), so the two never interleave. */
  policyPriorityBase: 0x00a0_0000,
  /** strongSwan's kernel SPI range (get_spi: 0xc0000000 … 0xcfffffff). */
  spiMin: 0xc000_0000,
  spiMax: 0xcfff_ffff,
  /** "ikeg" */
  ownerTag: 0x696b_6567,
  /** An rtm_protocol no routing daemon in /etc/iproute2/rt_protos uses. */
  routeProtocol: 0xa7,
} as const;

export interface XfrmDataplaneOptions {
  routingTable?: number;
  routingRulePriority?: number;
  /**
   * A fixed way out for every virtual-IP route (the kernel needs an interface or a gateway for a
   * unicast route). Without it, a RouteSpec's `via.peer` is looked up (RTM_GETROUTE).
   */
  routeVia?: { oif?: number; gateway?: string; prefsrc?: string };
  policyPriorityBase?: number;
  spiMin?: number;
  spiMax?: number;
  ownerTag?: number;
  routeProtocol?: number;
}

export interface XfrmChannels {
  xfrm: NetlinkChannel;
  /** rtnetlink, for installRoute/deleteRoute; without it those throw. */
  route?: NetlinkChannel;
}

/** What XfrmDataplane.open() needs of the addon (native/index.d.ts). */
export interface NativeNetlink {
  NetlinkSocket: new (protocol: number, groups?: number) => NetlinkTransport;
}

/** A dataplane operation the kernel refused, with the errno and a sentence for the log. */
export class XfrmDataplaneError extends Error {
  override readonly name = 'XfrmDataplaneError';
  readonly code: string;
  readonly errno: number;
  constructor(message: string, readonly netlink: NetlinkError) {
    super(message, { cause: netlink });
    this.code = netlink.code;
    this.errno = netlink.errno;
  }
}

export interface MigrateSpec {
  reqid: number;
  /** Outer addresses before and after (local = this gateway). */
  from: { local: string; remote: string };
  to: { local: string; remote: string };
}

export interface FlushResult {
  states: number;
  policies: number;
  routes: number;
  rules: number;
}

interface RouteEntry {
  table: number;
  destination: string;
  /** installRoute() calls not matched by deleteRoute() yet (CHILD_SAs sharing a virtual IP). */
  refs: number;
}

/** The routing-table rule of one family: installed by us (removed on close), or found there. */
interface RuleState {
  spec: RuleSpec;
  owned: boolean;
}

const RT_TABLE_MAIN = 254;
/** Tables every lookup consults anyway: no rule needed (RT_TABLE_DEFAULT, MAIN, LOCAL). */
const BUILTIN_TABLES = new Set([253, RT_TABLE_MAIN, 255]);

interface PolicyEntry {
  dir: 'in' | 'out' | 'fwd';
  sel: XfrmSelector;
  priority: number;
  /** Specs using this kernel policy, oldest first; the newest one is installed (rekeying). */
  owners: PolicySpec[];
}

const DIR = { in: XfrmPolicyDir.XFRM_POLICY_IN, out: XfrmPolicyDir.XFRM_POLICY_OUT, fwd: XfrmPolicyDir.XFRM_POLICY_FWD } as const;
const MODE = { tunnel: XfrmMode.XFRM_MODE_TUNNEL, transport: XfrmMode.XFRM_MODE_TRANSPORT } as const;
const hex8 = (n: number) => `0x${n.toString(16).padStart(8, '0')}`;
const notFound = (err: unknown) => err instanceof NetlinkError && (err.code === 'ESRCH' || err.code === 'ENOENT');

function address(text: string, what: string): { bytes: Uint8Array; family: number } {
  const bytes = parseIp(text);
  if (!bytes) throw new TypeError(`${what}: '${text}' is not an IP address`);
  return { bytes, family: bytes.length === 4 ? AF_INET : AF_INET6 };
}

/** Byte and packet limits default to XFRM_INF, seconds to 0 (= none), as strongSwan's XFRM_LIMIT. */
function lifetimeCfg(l: SaSpec['lifetime']): XfrmLifetimeCfg {
  const bytes = (v: number | undefined) => (v === undefined || v <= 0 ? XFRM_INF : BigInt(v));
  const secs = (v: number | undefined) => (v === undefined || v <= 0 ? 0n : BigInt(v));
  return {
    softByteLimit: bytes(l.softBytes),
    hardByteLimit: bytes(l.hardBytes),
    softPacketLimit: XFRM_INF,
    hardPacketLimit: XFRM_INF,
    softAddExpiresSeconds: secs(l.softSeconds),
    hardAddExpiresSeconds: secs(l.hardSeconds),
    softUseExpiresSeconds: 0n,
    hardUseExpiresSeconds: 0n,
  };
}

const POLICY_LIFETIME: XfrmLifetimeCfg = {
  softByteLimit: XFRM_INF,
  hardByteLimit: XFRM_INF,
  softPacketLimit: XFRM_INF,
  hardPacketLimit: XFRM_INF,
  softAddExpiresSeconds: 0n,
  hardAddExpiresSeconds: 0n,
  softUseExpiresSeconds: 0n,
  hardUseExpiresSeconds: 0n,
};

function selectorKey(dir: string, s: XfrmSelector): string {
  return `${dir} ${s.family} ${Buffer.from(s.saddr).toString('hex')}/${s.prefixlenS}:${s.sport}/${s.sportMask} ${Buffer.from(s.daddr).toString('hex')}/${s.prefixlenD}:${s.dport}/${s.dportMask} ${s.proto}`;
}

/** The sentence the daemon logs when the kernel refuses an SA; names the usual causes. */
function explain(op: string, err: NetlinkError, spec?: SaSpec): string {
  const detail = err.message;
  if (err.code === 'EPROTONOSUPPORT') {
    return `no ESP in this kernel: ${op}: ${detail}; load esp4/esp6 (CONFIG_INET_ESP, CONFIG_INET6_ESP) or use dataplane = userspace`;
  }
  if (err.code === 'ENOSYS' && spec) {
    const algs = [spec.enc.alg.name, spec.integ?.alg.name].filter(Boolean).join(' + ');
    return `the kernel crypto API lacks ${algs}: ${op}: ${detail}`;
  }
  if (err.code === 'ENOPROTOOPT' && op.startsWith('migrat')) return `${op}: ${detail} (kernel built without CONFIG_XFRM_MIGRATE)`;
  return `${op}: ${detail}`;
}

export class XfrmDataplane implements Dataplane {
  readonly name = 'xfrm';
  private readonly opts: Required<Omit<XfrmDataplaneOptions, 'routeVia'>> & Pick<XfrmDataplaneOptions, 'routeVia'>;
  private readonly listeners = new Set<(e: DataplaneEvent) => void>();
  /** Larval states from ALLOCSPI, by "dst/spi": installSa turns them into UPDSA. */
  private readonly allocated = new Set<string>();
  private readonly sas = new Map<string, SaId>();
  private readonly policies = new Map<string, PolicyEntry>();
  private readonly routes = new Map<string, RouteEntry>();
  /** By "family table": pending or settled, so concurrent installRoute() calls add one rule. */
  private readonly rules = new Map<string, Promise<RuleState>>();
  private readonly unsubscribe: () => void;
  private closed = false;

  constructor(
    private readonly channels: XfrmChannels,
    options: XfrmDataplaneOptions = {},
  ) {
    this.opts = { ...XFRM_DATAPLANE_DEFAULTS, ...options };
    this.unsubscribe = channels.xfrm.onEvent((m) => this.onKernelEvent(m));
  }

  /** Opens the XFRM socket (joined to the ACQUIRE and EXPIRE groups) and an rtnetlink socket. */
  static open(native: NativeNetlink, options: XfrmDataplaneOptions = {}, timeoutMs = 5000): XfrmDataplane {
    const groups = xfrmGroupMask(XfrmNlGroup.XFRMNLGRP_ACQUIRE, XfrmNlGroup.XFRMNLGRP_EXPIRE);
    const xfrm = new NetlinkRequestSocket(new native.NetlinkSocket(NetlinkProtocol.NETLINK_XFRM, groups), { timeoutMs, typeName: xfrmMsgName });
    let route: NetlinkRequestSocket;
    try {
      route = new NetlinkRequestSocket(new native.NetlinkSocket(NetlinkProtocol.NETLINK_ROUTE, 0), { timeoutMs, typeName: routeMsgName });
    } catch (err) {
      xfrm.close();
      throw err;
    }
    return new XfrmDataplane({ xfrm, route }, options);
  }

  // --- SAs -------------------------------------------------------------------------------------

  async allocateSpi(dst: string): Promise<number> {
    const d = address(dst, 'allocateSpi');
    // The source is left unspecified (0.0.0.0 / ::): the larval state only reserves the SPI for
    // (dst, esp); UPDSA finds it by SPI and replaces it with the full state.
    const info: XfrmUsersaInfo = {
      sel: anySelector(),
      id: { daddr: d.bytes, spi: 0, proto: IPPROTO_ESP },
      saddr: new Uint8Array(d.bytes.length),
      // Limits of a larval state are the kernel's (xfrm_acq_expires); zero, as strongSwan.
      lft: { ...POLICY_LIFETIME, softByteLimit: 0n, hardByteLimit: 0n, softPacketLimit: 0n, hardPacketLimit: 0n },
      seq: 0,
      reqid: 0,
      family: d.family,
      mode: XfrmMode.XFRM_MODE_TUNNEL,
      replayWindow: 0,
      flags: 0,
    };
    const body = encodeUserspiInfo({ info, min: this.opts.spiMin, max: this.opts.spiMax });
    const replies = await this.xfrm(XfrmMsg.XFRM_MSG_ALLOCSPI, body, [], `allocating an SPI for ${dst}`);
    const reply = replies.find((m) => m.type === XfrmMsg.XFRM_MSG_NEWSA);
    if (!reply) throw new Error(`XFRM_MSG_ALLOCSPI for ${dst}: the kernel answered without an SA`);
    const spi = readUsersaInfo(reply.payload).id.spi;
    this.allocated.add(`${dst}/${spi}`);
    return spi;
  }

  async installSa(sa: SaSpec): Promise<void> {
    const { body, attrs } = this.saMessage(sa);
    const key = `${sa.id.dst}/${sa.id.spi}`;
    const update = sa.direction === 'in' && this.allocated.has(key);
    const type = update ? XfrmMsg.XFRM_MSG_UPDSA : XfrmMsg.XFRM_MSG_NEWSA;
    const what = `installing ${sa.direction}bound SA ${hex8(sa.id.spi)} (${sa.id.src} -> ${sa.id.dst}, reqid ${sa.reqid})`;
    try {
      await this.xfrm(type, body, attrs, what, sa);
    } catch (err) {
      // Do not leave the larval state behind for its 30 s (xfrm_acq_expires).
      if (update) await this.deleteSa(sa.id).catch(() => undefined);
      throw err;
    } finally {
      for (const a of attrs) if (a.type === XfrmAttr.XFRMA_ALG_AEAD || a.type === XfrmAttr.XFRMA_ALG_CRYPT || a.type === XfrmAttr.XFRMA_ALG_AUTH_TRUNC) a.value.fill(0);
    }
    this.allocated.delete(key);
    this.sas.set(key, { ...sa.id });
  }

  /** Header and attributes of XFRM_MSG_NEWSA/UPDSA for one SA (exported for tests via saMessage). */
  saMessage(sa: SaSpec): { body: Uint8Array; attrs: NlAttr[] } {
    if (sa.id.proto !== 'esp') throw new TypeError(`only ESP SAs are supported, not ${String(sa.id.proto)}`);
    if (sa.id.spi === 0) throw new RangeError('SPI 0 is reserved (RFC 4303 §2.1)');
    const src = address(sa.id.src, 'SA source');
    const dst = address(sa.id.dst, 'SA destination');
    if (src.family !== dst.family) throw new TypeError(`SA ${sa.id.src} -> ${sa.id.dst} mixes address families`);
    const attrs: NlAttr[] = [];
    if (sa.enc.alg.family === 'aead') {
      if (sa.integ) throw new TypeError(`AEAD ${sa.enc.alg.name} takes no separate integrity algorithm`);
      attrs.push({ type: XfrmAttr.XFRMA_ALG_AEAD, value: encodeAlgoAead({ name: sa.enc.alg.name, key: sa.enc.key, icvBits: sa.enc.alg.icvBits ?? 128 }) });
    } else {
      attrs.push({ type: XfrmAttr.XFRMA_ALG_CRYPT, value: encodeAlgo({ name: sa.enc.alg.name, key: sa.enc.key }) });
      if (sa.integ) {
        const truncBits = sa.integ.alg.truncBits;
        if (truncBits === undefined) throw new TypeError(`integrity algorithm ${sa.integ.alg.name} has no truncation length`);
        attrs.push({ type: XfrmAttr.XFRMA_ALG_AUTH_TRUNC, value: encodeAlgoAuth({ name: sa.integ.alg.name, key: sa.integ.key, truncBits }) });
      }
    }
    if (sa.encap) {
      attrs.push({ type: XfrmAttr.XFRMA_ENCAP, value: encodeEncapTmpl({ type: UDP_ENCAP_ESPINUDP, sport: sa.encap.sport, dport: sa.encap.dport }) });
    }
    // The u8 replay_window field covers up to 32 packets without ESN; beyond that, or with ESN,
    // the window goes in XFRMA_REPLAY_ESN_VAL and the u8 field must be 0 (verify_replay()).
    const useEsnAttr = sa.esn || sa.replayWindow > 32;
    if (useEsnAttr) {
      if (sa.replayWindow > XFRMA_REPLAY_ESN_MAX) throw new RangeError(`replay window ${sa.replayWindow} exceeds the kernel's ${XFRMA_REPLAY_ESN_MAX}`);
      attrs.push({ type: XfrmAttr.XFRMA_REPLAY_ESN_VAL, value: encodeReplayStateEsn({ oseq: 0, seq: 0, oseqHi: 0, seqHi: 0, replayWindow: sa.replayWindow }) });
    }
    attrs.push(u32Attr(XfrmAttr.XFRMA_SET_MARK, this.opts.ownerTag), u32Attr(XfrmAttr.XFRMA_SET_MARK_MASK, 0));
    const tunnel = sa.mode === 'tunnel';
    const hostBits = src.bytes.length * 8;
    const info: XfrmUsersaInfo = {
      // Tunnel mode: any inner selector and family (XFRM_STATE_AF_UNSPEC), policies decide.
      sel: tunnel
        ? anySelector()
        : { ...anySelector(), saddr: src.bytes, daddr: dst.bytes, prefixlenS: hostBits, prefixlenD: hostBits, family: src.family },
      id: { daddr: dst.bytes, spi: sa.id.spi, proto: IPPROTO_ESP },
      saddr: src.bytes,
      lft: lifetimeCfg(sa.lifetime),
      seq: 0,
      reqid: sa.reqid,
      family: src.family,
      mode: MODE[sa.mode],
      replayWindow: useEsnAttr ? 0 : sa.replayWindow,
      flags: (tunnel ? XfrmStateFlags.XFRM_STATE_AF_UNSPEC : 0) | (sa.esn ? XfrmStateFlags.XFRM_STATE_ESN : 0),
    };
    return { body: encodeUsersaInfo(info), attrs };
  }

  async deleteSa(id: SaId): Promise<void> {
    const d = address(id.dst, 'deleteSa');
    const body = encodeUsersaId({ daddr: d.bytes, spi: id.spi, family: d.family, proto: IPPROTO_ESP });
    const key = `${id.dst}/${id.spi}`;
    try {
      await this.xfrm(XfrmMsg.XFRM_MSG_DELSA, body, [], `deleting SA ${hex8(id.spi)} (${id.src} -> ${id.dst})`);
    } catch (err) {
      // Already gone (hard expiry, or flushed): the wanted end state holds.
      if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
    }
    this.sas.delete(key);
    this.allocated.delete(key);
  }

  async querySa(id: SaId): Promise<SaUsage | undefined> {
    const d = address(id.dst, 'querySa');
    const body = encodeUsersaId({ daddr: d.bytes, spi: id.spi, family: d.family, proto: IPPROTO_ESP });
    let replies: NetlinkMessage[];
    try {
      replies = await this.xfrm(XfrmMsg.XFRM_MSG_GETSA, body, [], `querying SA ${hex8(id.spi)}`);
    } catch (err) {
      if (err instanceof XfrmDataplaneError && notFound(err.netlink)) return undefined;
      throw err;
    }
    const reply = replies.find((m) => m.type === XfrmMsg.XFRM_MSG_NEWSA);
    if (!reply) return undefined;
    const cur = readUsersaInfo(reply.payload).curlft;
    if (!cur) return undefined;
    return { bytes: Number(cur.bytes), packets: Number(cur.packets), ...(cur.useTime > 0n ? { lastUse: Number(cur.useTime) * 1000 } : {}) };
  }

  // --- Policies --------------------------------------------------------------------------------

  /** Kernel priority of one expanded selector: our band, the spec's class, then specificity. */
  policyPriority(spec: PolicySpec, rank: number): number {
    const p = this.opts.policyPriorityBase + spec.priority * PRIORITY_CLASS + rank;
    if (spec.priority < 0 || p >= this.opts.policyPriorityBase + POLICY_PRIORITY_SPAN) {
      throw new RangeError(`policy priority class ${spec.priority} is outside ikegate's band`);
    }
    return p;
  }

  async installPolicy(p: PolicySpec): Promise<void> {
    const done: { key: string; fresh: boolean }[] = [];
    try {
      for (const ps of expandSelector(p.selector, p.direction)) {
        const sel = toXfrmSelector(ps);
        const key = selectorKey(p.direction, sel);
        const existing = this.policies.get(key);
        const priority = this.policyPriority(p, selectorRank(ps));
        if (existing) {
          // Same selector again (a rekeyed CHILD_SA): the newest SA's template wins, as strongSwan.
          await this.sendPolicy(XfrmMsg.XFRM_MSG_UPDPOLICY, p, sel, priority);
          existing.owners.push(p);
          done.push({ key, fresh: false });
        } else {
          await this.sendPolicy(XfrmMsg.XFRM_MSG_NEWPOLICY, p, sel, priority);
          this.policies.set(key, { dir: p.direction, sel, priority, owners: [p] });
          done.push({ key, fresh: true });
        }
      }
    } catch (err) {
      for (const d of done.reverse()) await this.releasePolicy(d.key, p).catch(() => undefined);
      throw err;
    }
  }

  async deletePolicy(p: PolicySpec): Promise<void> {
    for (const ps of expandSelector(p.selector, p.direction)) {
      const sel = toXfrmSelector(ps);
      const key = selectorKey(p.direction, sel);
      if (this.policies.has(key)) {
        await this.releasePolicy(key, p);
      } else {
        await this.delPolicy(p.direction, sel).catch((err: unknown) => {
          if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
        });
      }
    }
  }

  /** Drops one user of a kernel policy; reinstalls the previous user's template or deletes it. */
  private async releasePolicy(key: string, p: PolicySpec): Promise<void> {
    const entry = this.policies.get(key);
    if (!entry) return;
    const i = entry.owners.findIndex((o) => o.reqid === p.reqid);
    const wasInstalled = i === entry.owners.length - 1 || i < 0;
    entry.owners.splice(i < 0 ? entry.owners.length - 1 : i, 1);
    const next = entry.owners[entry.owners.length - 1];
    if (next) {
      if (wasInstalled) await this.sendPolicy(XfrmMsg.XFRM_MSG_UPDPOLICY, next, entry.sel, entry.priority);
      return;
    }
    this.policies.delete(key);
    await this.delPolicy(entry.dir, entry.sel).catch((err: unknown) => {
      if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
    });
  }

  /** XFRM_MSG_NEWPOLICY / UPDPOLICY: xfrm_userpolicy_info + one XFRMA_TMPL (tunnel ends, reqid, ESP). */
  policyMessage(p: PolicySpec, sel: XfrmSelector, priority: number): { body: Uint8Array; attrs: NlAttr[] } {
    const src = address(p.tunnel.src, 'policy tunnel source');
    const dst = address(p.tunnel.dst, 'policy tunnel destination');
    const info: XfrmUserpolicyInfo = {
      sel,
      lft: POLICY_LIFETIME,
      priority,
      index: 0,
      dir: DIR[p.direction],
      action: XfrmPolicyAction.XFRM_POLICY_ALLOW,
      flags: 0,
      share: XfrmShare.XFRM_SHARE_ANY,
    };
    const tmpl = encodeUserTmpls([
      {
        id: { daddr: dst.bytes, spi: 0, proto: IPPROTO_ESP },
        family: dst.family,
        saddr: src.bytes,
        reqid: p.reqid,
        mode: MODE[p.mode],
        share: XfrmShare.XFRM_SHARE_ANY,
        optional: 0,
        aalgos: 0xffff_ffff,
        ealgos: 0xffff_ffff,
        calgos: 0xffff_ffff,
      },
    ]);
    return { body: encodeUserpolicyInfo(info), attrs: [{ type: XfrmAttr.XFRMA_TMPL, value: tmpl }] };
  }

  private async sendPolicy(type: number, p: PolicySpec, sel: XfrmSelector, priority: number): Promise<void> {
    const { body, attrs } = this.policyMessage(p, sel, priority);
    await this.xfrm(type, body, attrs, `installing ${p.direction} policy ${p.selector.local} === ${p.selector.remote} (reqid ${p.reqid})`);
  }

  private async delPolicy(dir: 'in' | 'out' | 'fwd', sel: XfrmSelector, index = 0): Promise<void> {
    const body = encodeUserpolicyId({ sel, index, dir: DIR[dir] });
    await this.xfrm(XfrmMsg.XFRM_MSG_DELPOLICY, body, [], `deleting ${dir} policy`);
  }

  // --- Routes ----------------------------------------------------------------------------------

  /**
   * Installs (or, when already there, counts another user of) the route of one virtual IP. Its
   * way out: the static `routeVia` option if given, else the path to `r.via.peer`. The table's
   * rule is added with the first route of a family.
   */
  async installRoute(r: RouteSpec): Promise<void> {
    const ch = this.routeChannel();
    const table = this.tableOf(r);
    const key = `${table} ${r.destination}`;
    const entry = this.routes.get(key);
    if (entry) {
      entry.refs++;
      return;
    }
    const family = r.destination.includes(':') ? AF_INET6 : AF_INET;
    const via = this.opts.routeVia ?? (r.via ? nextHop(await this.lookupRoute(r.via.peer), family) : undefined);
    if (!via) throw new Error(`route ${r.destination}: no way out (neither the routeVia option nor the peer's address)`);
    if (!BUILTIN_TABLES.has(table)) await this.ensureRule(family, table);
    const req = newRouteRequest({ destination: r.destination, table, protocol: this.opts.routeProtocol, ...via });
    const how = [via.gateway && `via ${via.gateway}`, via.oif !== undefined && `oif ${via.oif}`].filter(Boolean).join(' ');
    await this.rt(ch, req, `installing route ${r.destination} ${how} in table ${table}`);
    // A concurrent install of the same route may have finished first: count it, not overwrite.
    const again = this.routes.get(key);
    if (again) again.refs++;
    else this.routes.set(key, { table, destination: r.destination, refs: 1 });
  }

  async deleteRoute(r: RouteSpec): Promise<void> {
    const table = this.tableOf(r);
    const entry = this.routes.get(`${table} ${r.destination}`);
    if (entry && --entry.refs > 0) return;
    await this.removeRoute(table, r.destination);
  }

  /** RouteSpec.table 0 is ours; routing_table = 0 puts the routes in main (no rule needed). */
  private tableOf(r: RouteSpec): number {
    return r.table || this.opts.routingTable || RT_TABLE_MAIN;
  }

  /** The kernel's route to `address` (`ip route get`): oif, gateway, preferred source. */
  async lookupRoute(address: string): Promise<RouteLookup> {
    const ch = this.routeChannel();
    let replies: NetlinkMessage[];
    try {
      replies = await ch.request(getRouteRequest(address));
    } catch (err) {
      if (err instanceof NetlinkError) throw new XfrmDataplaneError(explain(`looking up the route to ${address}`, err), err);
      throw err;
    }
    const reply = replies.find((m) => m.type === RtmType.RTM_NEWROUTE);
    if (!reply) throw new Error(`RTM_GETROUTE for ${address}: the kernel answered without a route`);
    return parseRouteLookup(reply);
  }

  private async removeRoute(table: number, destination: string): Promise<void> {
    const ch = this.routeChannel();
    const req = delRouteRequest({ destination, table, protocol: this.opts.routeProtocol });
    try {
      await this.rt(ch, req, `deleting route ${destination} from table ${table}`);
    } catch (err) {
      if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
    }
    this.routes.delete(`${table} ${destination}`);
  }

  /**
   * Makes sure lookups reach `table`: "priority P lookup T" (strongSwan's manage_rule). A rule
   * with that priority and table that is already there is used as it is, and removed on close
   * only if it carries our protocol (a crashed predecessor's).
   */
  private ensureRule(family: number, table: number): Promise<RuleState> {
    const key = `${family} ${table}`;
    let state = this.rules.get(key);
    if (!state) {
      state = this.addRule({ family, table, priority: this.opts.routingRulePriority, protocol: this.opts.routeProtocol });
      this.rules.set(key, state);
      // A failure is not remembered: the next route tries again.
      state.catch(() => this.rules.get(key) === state && this.rules.delete(key));
    }
    return state;
  }

  private async addRule(spec: RuleSpec): Promise<RuleState> {
    const ch = this.routeChannel();
    const what = `adding the rule "priority ${spec.priority} lookup ${spec.table}" (${spec.family === AF_INET6 ? 'IPv6' : 'IPv4'})`;
    let existing;
    try {
      existing = (await ch.dump(dumpRulesRequest(spec.family)))
        .filter((m) => m.type === RtmType.RTM_NEWRULE)
        .map(parseRule)
        .find((x) => x.priority === spec.priority && x.table === spec.table && x.action === FR_ACT_TO_TBL);
    } catch (err) {
      if (err instanceof NetlinkError) throw new XfrmDataplaneError(explain(what, err), err);
      throw err;
    }
    if (existing) return { spec, owned: existing.protocol === spec.protocol };
    try {
      await this.rt(ch, newRuleRequest(spec), what);
    } catch (err) {
      // Someone added the same rule between our dump and our request: theirs, and enough.
      if (err instanceof XfrmDataplaneError && err.code === 'EEXIST') return { spec, owned: false };
      throw err;
    }
    return { spec, owned: true };
  }

  private routeChannel(): NetlinkChannel {
    if (!this.channels.route) throw new Error('this XfrmDataplane has no rtnetlink channel for routes');
    return this.channels.route;
  }

  private async rt(ch: NetlinkChannel, req: { type: number; flags: number; body: Uint8Array; attrs: NlAttr[] }, what: string): Promise<void> {
    try {
      await ch.request(req);
    } catch (err) {
      if (err instanceof NetlinkError) throw new XfrmDataplaneError(explain(what, err), err);
      throw err;
    }
  }

  // --- Kernel-wide settings, recovery, mobility -----------------------------------------------

  /**
   * XFRM_MSG_NEWSPDINFO with XFRMA_SPD_IPV4_HTHRESH / IPV6_HTHRESH (strongSwan spdh_thresh,
   * `ip xfrm policy set hthresh4 L R`). The kernel hashes a policy, instead of keeping it in the
   * inexact list, when its local prefix is at least lbits long and its remote prefix at least
   * rbits (out: local = source; in/fwd: local = destination). Road-warrior policies
   * (0.0.0.0/0 <-> VIP/32) hash with { lbits: 0, rbits: 32 } (IPv6: 0 / 128); the kernel's
   * default 32/32 leaves them inexact.
   */
  async setPolicyHashThresholds(t: { ipv4?: { lbits: number; rbits: number }; ipv6?: { lbits: number; rbits: number } }): Promise<void> {
    const attrs: NlAttr[] = [];
    if (t.ipv4) {
      if (t.ipv4.lbits > 32 || t.ipv4.rbits > 32) throw new RangeError('IPv4 hash thresholds are at most 32');
      attrs.push({ type: XfrmSpdAttr.XFRMA_SPD_IPV4_HTHRESH, value: encodeSpdhthresh(t.ipv4.lbits, t.ipv4.rbits) });
    }
    if (t.ipv6) {
      if (t.ipv6.lbits > 128 || t.ipv6.rbits > 128) throw new RangeError('IPv6 hash thresholds are at most 128');
      attrs.push({ type: XfrmSpdAttr.XFRMA_SPD_IPV6_HTHRESH, value: encodeSpdhthresh(t.ipv6.lbits, t.ipv6.rbits) });
    }
    // The u32 header is unused by the kernel; iproute2 sends ~0.
    await this.xfrm(XfrmMsg.XFRM_MSG_NEWSPDINFO, Uint8Array.of(0xff, 0xff, 0xff, 0xff), attrs, 'setting SPD hash thresholds');
  }

  /**
   * Removes every state, policy and route that carries our marks (see the file header),
   * including ones a crashed predecessor left behind. Call before the first install and on stop.
   */
  async flushOwn(): Promise<FlushResult> {
    const result: FlushResult = { states: 0, policies: 0, routes: 0, rules: 0 };
    const base = this.opts.policyPriorityBase;
    for (const m of await this.xfrmDump(XfrmMsg.XFRM_MSG_GETPOLICY, 'listing policies')) {
      if (m.type !== XfrmMsg.XFRM_MSG_NEWPOLICY) continue;
      const pol = readUserpolicyInfo(m.payload);
      if (pol.priority < base || pol.priority >= base + POLICY_PRIORITY_SPAN) continue;
      const dir = pol.dir === XfrmPolicyDir.XFRM_POLICY_IN ? 'in' : pol.dir === XfrmPolicyDir.XFRM_POLICY_OUT ? 'out' : 'fwd';
      await this.delPolicy(dir, pol.sel, pol.index).then(
        () => result.policies++,
        (err: unknown) => {
          if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
        },
      );
    }
    for (const m of await this.xfrmDump(XfrmMsg.XFRM_MSG_GETSA, 'listing SAs')) {
      if (m.type !== XfrmMsg.XFRM_MSG_NEWSA || !this.isOwnState(m)) continue;
      const sa = readUsersaInfo(m.payload);
      const body = encodeUsersaId({ daddr: sa.id.daddr, spi: sa.id.spi, family: sa.family, proto: sa.id.proto });
      await this.xfrm(XfrmMsg.XFRM_MSG_DELSA, body, [], `deleting stale SA ${hex8(sa.id.spi)}`).then(
        () => result.states++,
        (err: unknown) => {
          if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
        },
      );
    }
    if (this.channels.route) {
      for (const family of [AF_INET, AF_INET6]) {
        const req = dumpRoutesRequest(family);
        const entries = await this.channels.route.dump(req);
        for (const m of entries) {
          if (m.type !== RtmType.RTM_NEWROUTE) continue;
          const r = parseRoute(m);
          if (r.protocol !== this.opts.routeProtocol) continue;
          await this.rt(this.channels.route, delRouteRequest({ destination: r.destination, table: r.table, protocol: r.protocol }), `deleting stale route ${r.destination}`).then(
            () => result.routes++,
            (err: unknown) => {
              if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
            },
          );
        }
        // Rules of ours only: FRA_PROTOCOL is ours (kernels before 4.17 drop it; such a leftover
        // rule looks foreign and stays, as harmless as an empty table's lookup is).
        for (const m of await this.channels.route.dump(dumpRulesRequest(family))) {
          if (m.type !== RtmType.RTM_NEWRULE) continue;
          const r = parseRule(m);
          if (r.protocol !== this.opts.routeProtocol || r.action !== FR_ACT_TO_TBL) continue;
          await this.rt(this.channels.route, delRuleRequest({ family, table: r.table, priority: r.priority, protocol: r.protocol }), `deleting stale rule lookup ${r.table}`).then(
            () => result.rules++,
            (err: unknown) => {
              if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) throw err;
            },
          );
        }
      }
    }
    this.policies.clear();
    this.sas.clear();
    this.routes.clear();
    this.rules.clear();
    this.allocated.clear();
    return result;
  }

  /**
   * Moves the SAs and policies of one CHILD_SA to new outer addresses (MOBIKE, RFC 4555) with
   * XFRM_MSG_MIGRATE: one request per installed policy direction; the kernel rewrites the
   * policy's template and the SAs that match (old addresses, ESP, mode, reqid).
   */
  async migrate(m: MigrateSpec): Promise<void> {
    const entries = [...this.policies.values()].filter((e) => e.owners[e.owners.length - 1]?.reqid === m.reqid);
    if (entries.length === 0) throw new Error(`migrate: no policies with reqid ${m.reqid}`);
    // in before fwd: the in request moves the inbound SA, fwd then only rewrites its template.
    const order = { out: 0, in: 1, fwd: 2 } as const;
    entries.sort((a, b) => order[a.dir] - order[b.dir]);
    for (const e of entries) {
      const spec = e.owners[e.owners.length - 1] as PolicySpec;
      const [oldS, oldD, newS, newD] = e.dir === 'out' ? [m.from.local, m.from.remote, m.to.local, m.to.remote] : [m.from.remote, m.from.local, m.to.remote, m.to.local];
      const migrate = encodeUserMigrates([
        {
          oldSaddr: address(oldS, 'migrate').bytes,
          oldDaddr: address(oldD, 'migrate').bytes,
          newSaddr: address(newS, 'migrate').bytes,
          newDaddr: address(newD, 'migrate').bytes,
          proto: IPPROTO_ESP,
          mode: MODE[spec.mode],
          reqid: m.reqid,
        },
      ]);
      const attrs: NlAttr[] = [
        { type: XfrmAttr.XFRMA_MIGRATE, value: migrate },
        { type: XfrmAttr.XFRMA_KMADDRESS, value: encodeUserKmaddress(address(m.to.local, 'migrate').bytes, address(m.to.remote, 'migrate').bytes) },
      ];
      await this.xfrm(XfrmMsg.XFRM_MSG_MIGRATE, encodeUserpolicyId({ sel: e.sel, index: 0, dir: DIR[e.dir] }), attrs, `migrating ${e.dir} policy of reqid ${m.reqid} to ${newS} -> ${newD}`);
      for (const o of e.owners) if (o.reqid === m.reqid) o.tunnel = { src: newS, dst: newD };
    }
    for (const [key, id] of [...this.sas]) {
      const fromOut = id.src === m.from.local && id.dst === m.from.remote;
      const fromIn = id.src === m.from.remote && id.dst === m.from.local;
      if (!fromOut && !fromIn) continue;
      this.sas.delete(key);
      const moved: SaId = fromOut ? { ...id, src: m.to.local, dst: m.to.remote } : { ...id, src: m.to.remote, dst: m.to.local };
      this.sas.set(`${moved.dst}/${moved.spi}`, moved);
    }
  }

  // --- Events ----------------------------------------------------------------------------------

  onEvent(listener: (e: DataplaneEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private isOwnState(m: NetlinkMessage, headerLen: number = SIZEOF.xfrm_usersa_info): boolean {
    const attrs = messageAttrs(m, headerLen);
    const mark = findAttr(attrs, XfrmAttr.XFRMA_SET_MARK);
    const mask = findAttr(attrs, XfrmAttr.XFRMA_SET_MARK_MASK);
    return mark !== undefined && mark.length >= 4 && readU32(mark) === this.opts.ownerTag && (mask === undefined || (mask.length >= 4 && readU32(mask) === 0));
  }

  private onKernelEvent(m: NetlinkMessage): void {
    let e: DataplaneEvent | undefined;
    try {
      if (m.type === XfrmMsg.XFRM_MSG_EXPIRE) {
        if (!this.isOwnState(m, SIZEOF.xfrm_user_expire)) return;
        const x = readUserExpire(m.payload);
        const id: SaId = { src: formatIp(x.state.saddr), dst: formatIp(x.state.id.daddr), spi: x.state.id.spi, proto: 'esp' };
        if (x.hard) this.sas.delete(`${id.dst}/${id.spi}`);
        e = { kind: 'expire', id, hard: x.hard };
      } else if (m.type === XfrmMsg.XFRM_MSG_ACQUIRE) {
        const a = readUserAcquire(m.payload);
        const base = this.opts.policyPriorityBase;
        if (a.policy.priority < base || a.policy.priority >= base + POLICY_PRIORITY_SPAN) return;
        const tmpl = findAttr(messageAttrs(m, SIZEOF.xfrm_user_acquire), XfrmAttr.XFRMA_TMPL);
        const reqid = tmpl ? (readUserTmpls(tmpl)[0]?.reqid ?? 0) : 0;
        e = { kind: 'acquire', reqid };
      }
    } catch {
      return; // An undecodable event is not ours to act on.
    }
    if (e) for (const l of this.listeners) l(e);
  }

  // --- Teardown --------------------------------------------------------------------------------

  /** Removes everything this instance installed, then closes its sockets. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const errors: unknown[] = [];
    for (const [key, e] of [...this.policies]) {
      this.policies.delete(key);
      await this.delPolicy(e.dir, e.sel).catch((err: unknown) => notFoundOr(err, errors));
    }
    for (const id of [...this.sas.values()]) await this.deleteSa(id).catch((err: unknown) => errors.push(err));
    for (const r of [...this.routes.values()]) await this.removeRoute(r.table, r.destination).catch((err: unknown) => errors.push(err));
    // The rules last: while any route of ours is left, lookups must still reach it.
    for (const pending of [...this.rules.values()]) {
      const rule = await pending.catch(() => undefined);
      if (!rule?.owned || !this.channels.route) continue;
      await this.rt(this.channels.route, delRuleRequest(rule.spec), `deleting the rule lookup ${rule.spec.table}`).catch((err: unknown) => notFoundOr(err, errors));
    }
    this.rules.clear();
    this.unsubscribe();
    this.listeners.clear();
    this.channels.xfrm.close();
    this.channels.route?.close();
    if (errors.length > 0) throw new AggregateError(errors, `closing the XFRM dataplane: ${errors.length} removals failed`);
  }

  // --- Plumbing --------------------------------------------------------------------------------

  private async xfrm(type: number, body: Uint8Array, attrs: readonly NlAttr[], what: string, sa?: SaSpec): Promise<NetlinkMessage[]> {
    try {
      return await this.channels.xfrm.request({ type, body, attrs });
    } catch (err) {
      if (err instanceof NetlinkError) throw new XfrmDataplaneError(explain(what, err, sa), err);
      throw err;
    }
  }

  private async xfrmDump(type: number, what: string): Promise<NetlinkMessage[]> {
    try {
      return await this.channels.xfrm.dump({ type, body: new Uint8Array(0) });
    } catch (err) {
      if (err instanceof NetlinkError) throw new XfrmDataplaneError(explain(what, err), err);
      throw err;
    }
  }
}

function notFoundOr(err: unknown, errors: unknown[]): void {
  if (!(err instanceof XfrmDataplaneError && notFound(err.netlink))) errors.push(err);
}

/**
 * How a virtual-IP route leaves, from the path to the peer: same family, the peer's interface and
 * gateway (on-link peer: the interface only) with its source; a virtual IP of the other family
 * (IPv6 inside an IPv4 tunnel) gets the interface only, which is all the XFRM policy needs.
 */
function nextHop(path: RouteLookup, family: number): { oif?: number; gateway?: string; prefsrc?: string } | undefined {
  if (path.oif === undefined) return undefined;
  if (path.family !== family) return { oif: path.oif };
  return { oif: path.oif, ...(path.gateway !== undefined ? { gateway: path.gateway } : {}), ...(path.prefsrc !== undefined ? { prefsrc: path.prefsrc } : {}) };
}

const ROUTE_NAMES: Record<number, string> = { 24: 'RTM_NEWROUTE', 25: 'RTM_DELROUTE', 26: 'RTM_GETROUTE', 32: 'RTM_NEWRULE', 33: 'RTM_DELRULE', 34: 'RTM_GETRULE' };
function routeMsgName(type: number): string {
  return ROUTE_NAMES[type] ?? `rtnetlink message ${type}`;
}
