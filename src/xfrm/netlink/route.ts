// rtnetlink routes (linux/rtnetlink.h, rtnetlink(7)): RTM_NEWROUTE / RTM_DELROUTE for the host
// routes of virtual IPs in a chosen table, RTM_GETROUTE for the path to a peer (the next hop those
// routes use), RTM_NEWRULE / RTM_DELRULE for the `ip rule` that makes the table count
// (linux/fib_rules.h), and the dump parsing flushOwn needs. Our routes and rules carry our own
// protocol number, so they can be told from everyone else's after a crash.
import { familyOf, formatIp, fromBig, parseAddrRange, parseIp } from '../../net/address.js';
import type { NetlinkMessage, NlAttr } from './message.js';
import { findAttr, messageAttrs, NlmFlags, readU32, u32Attr } from './message.js';
import { AF_INET, AF_INET6 } from './xfrm-constants.js';

export const RtmType = { RTM_NEWROUTE: 24, RTM_DELROUTE: 25, RTM_GETROUTE: 26, RTM_NEWRULE: 32, RTM_DELRULE: 33, RTM_GETRULE: 34 } as const;

/** enum rtattr_type_t (the ones used here). */
export const RtaType = { RTA_DST: 1, RTA_SRC: 2, RTA_IIF: 3, RTA_OIF: 4, RTA_GATEWAY: 5, RTA_PRIORITY: 6, RTA_PREFSRC: 7, RTA_TABLE: 15 } as const;

export const RtScope = { RT_SCOPE_UNIVERSE: 0, RT_SCOPE_LINK: 253, RT_SCOPE_HOST: 254, RT_SCOPE_NOWHERE: 255 } as const;
export const RtnType = { RTN_UNSPEC: 0, RTN_UNICAST: 1 } as const;
export const RtProt = { RTPROT_BOOT: 3, RTPROT_STATIC: 4 } as const;
/** rtm_table is 8 bits; larger ids go in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC (as iproute2). */
export const RT_TABLE_UNSPEC = 0;
/** rtm_flags of RTM_GETROUTE (linux/rtnetlink.h). */
export const RTM_F_LOOKUP_TABLE = 0x1000;

const RTMSG_LEN = 12;

export interface RouteMessageSpec {
  /** CIDR of the destination, e.g. "198.18.0.5/32". */
  destination: string;
  table: number;
  /** rtm_protocol: who installed it (ours by default, see XfrmDataplane). */
  protocol: number;
  /** Outgoing interface index. */
  oif?: number;
  gateway?: string;
  /** Preferred source address. */
  prefsrc?: string;
  metric?: number;
}

/*
 * struct rtmsg {
 *     unsigned char rtm_family;    // 0
 *     unsigned char rtm_dst_len;   // 1
 *     unsigned char rtm_src_len;   // 2
 *     unsigned char rtm_tos;       // 3
 *     unsigned char rtm_table;     // 4  routing table id (RT_TABLE_UNSPEC + RTA_TABLE above 255)
 *     unsigned char rtm_protocol;  // 5  routing protocol (RTPROT_*)
 *     unsigned char rtm_scope;     // 6
 *     unsigned char rtm_type;      // 7
 *     unsigned      rtm_flags;     // 8
 * };                               // 12
 */
export interface RtMsg {
  family: number;
  dstLen: number;
  srcLen: number;
  tos: number;
  table: number;
  protocol: number;
  scope: number;
  type: number;
  flags: number;
}

export function encodeRtMsg(r: RtMsg): Uint8Array {
  const out = new Uint8Array(RTMSG_LEN);
  out.set([r.family, r.dstLen, r.srcLen, r.tos, r.table, r.protocol, r.scope, r.type]);
  new DataView(out.buffer).setUint32(8, r.flags >>> 0, true);
  return out;
}

export function decodeRtMsg(b: Uint8Array): RtMsg {
  if (b.length < RTMSG_LEN) throw new RangeError(`rtmsg: ${b.length} bytes, needs ${RTMSG_LEN}`);
  return {
    family: b[0] ?? 0,
    dstLen: b[1] ?? 0,
    srcLen: b[2] ?? 0,
    tos: b[3] ?? 0,
    table: b[4] ?? 0,
    protocol: b[5] ?? 0,
    scope: b[6] ?? 0,
    type: b[7] ?? 0,
    flags: readU32(b, 8),
  };
}

function destination(text: string): { addr: Uint8Array; len: number; family: number } {
  const r = parseAddrRange(text);
  if (!r || r.prefix === undefined) throw new RangeError(`route destination '${text}' is not a CIDR prefix`);
  const addr = fromBig(r.start, r.family);
  return { addr, len: r.prefix, family: r.family === 4 ? AF_INET : AF_INET6 };
}

function ipAttr(type: number, text: string, family: number): NlAttr {
  const a = parseIp(text);
  if (!a || (familyOf(a) === 4 ? AF_INET : AF_INET6) !== family) throw new RangeError(`'${text}' is not an address of the route's family`);
  return { type, value: a };
}

function tableFields(table: number): { rtmTable: number; attrs: NlAttr[] } {
  return table < 256 ? { rtmTable: table, attrs: [] } : { rtmTable: RT_TABLE_UNSPEC, attrs: [u32Attr(RtaType.RTA_TABLE, table)] };
}

/** RTM_NEWROUTE (NLM_F_CREATE | NLM_F_REPLACE: a stale route of ours is taken over, not an error). */
export function newRouteRequest(r: RouteMessageSpec): { type: number; flags: number; body: Uint8Array; attrs: NlAttr[] } {
  const d = destination(r.destination);
  const t = tableFields(r.table);
  const attrs: NlAttr[] = [...t.attrs, { type: RtaType.RTA_DST, value: d.addr }];
  if (r.gateway !== undefined) attrs.push(ipAttr(RtaType.RTA_GATEWAY, r.gateway, d.family));
  if (r.oif !== undefined) attrs.push(u32Attr(RtaType.RTA_OIF, r.oif));
  if (r.prefsrc !== undefined) attrs.push(ipAttr(RtaType.RTA_PREFSRC, r.prefsrc, d.family));
  if (r.metric !== undefined) attrs.push(u32Attr(RtaType.RTA_PRIORITY, r.metric));
  const body = encodeRtMsg({
    family: d.family,
    dstLen: d.len,
    srcLen: 0,
    tos: 0,
    table: t.rtmTable,
    protocol: r.protocol,
    // A route without a gateway is on-link (iproute2 picks the same scope).
    scope: r.gateway === undefined ? RtScope.RT_SCOPE_LINK : RtScope.RT_SCOPE_UNIVERSE,
    type: RtnType.RTN_UNICAST,
    flags: 0,
  });
  return { type: RtmType.RTM_NEWROUTE, flags: NlmFlags.NLM_F_CREATE | NlmFlags.NLM_F_REPLACE, body, attrs };
}

/** RTM_DELROUTE matching destination, table and our protocol (scope NOWHERE = any, as iproute2). */
export function delRouteRequest(r: Pick<RouteMessageSpec, 'destination' | 'table' | 'protocol'>): { type: number; flags: number; body: Uint8Array; attrs: NlAttr[] } {
  const d = destination(r.destination);
  const t = tableFields(r.table);
  const body = encodeRtMsg({
    family: d.family,
    dstLen: d.len,
    srcLen: 0,
    tos: 0,
    table: t.rtmTable,
    protocol: r.protocol,
    scope: RtScope.RT_SCOPE_NOWHERE,
    type: RtnType.RTN_UNSPEC,
    flags: 0,
  });
  return { type: RtmType.RTM_DELROUTE, flags: 0, body, attrs: [...t.attrs, { type: RtaType.RTA_DST, value: d.addr }] };
}

/** RTM_GETROUTE dump of one family. */
export function dumpRoutesRequest(family: number): { type: number; body: Uint8Array } {
  return { type: RtmType.RTM_GETROUTE, body: encodeRtMsg({ family, dstLen: 0, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: 0 }) };
}

export interface ParsedRoute {
  family: number;
  destination: string;
  table: number;
  protocol: number;
}

/** A route from an RTM_NEWROUTE dump entry (destination as CIDR text). */
export function parseRoute(m: NetlinkMessage): ParsedRoute {
  const rt = decodeRtMsg(m.payload);
  const attrs = messageAttrs(m, RTMSG_LEN);
  const tableAttr = findAttr(attrs, RtaType.RTA_TABLE);
  const dst = findAttr(attrs, RtaType.RTA_DST);
  const len = rt.family === AF_INET6 ? 16 : 4;
  const addr = dst ? dst.slice(0, len) : new Uint8Array(len);
  return { family: rt.family, destination: `${formatIp(addr)}/${rt.dstLen}`, table: tableAttr ? readU32(tableAttr) : rt.table, protocol: rt.protocol };
}

// --- Route lookup (RTM_GETROUTE without NLM_F_DUMP) -------------------------------------------

/**
 * RTM_GETROUTE for one address: the kernel runs its full lookup (rules, tables) as for a packet
 * to `address` and answers with one RTM_NEWROUTE describing the result (`ip route get`).
 */
export function getRouteRequest(address: string): { type: number; flags: number; body: Uint8Array; attrs: NlAttr[] } {
  const a = parseIp(address);
  if (!a) throw new RangeError(`route lookup: '${address}' is not an IP address`);
  const family = familyOf(a) === 4 ? AF_INET : AF_INET6;
  // RTM_F_LOOKUP_TABLE: the answer names the table the route came from (as `ip route get`).
  const body = encodeRtMsg({ family, dstLen: a.length * 8, srcLen: 0, tos: 0, table: 0, protocol: 0, scope: 0, type: 0, flags: RTM_F_LOOKUP_TABLE });
  return { type: RtmType.RTM_GETROUTE, flags: 0, body, attrs: [{ type: RtaType.RTA_DST, value: a }] };
}

export interface RouteLookup {
  family: number;
  /** rtm_type of the answer (RTN_UNICAST for a usable path). */
  type: number;
  table: number;
  oif?: number;
  /** Absent when the address is on-link. */
  gateway?: string;
  prefsrc?: string;
}

/** The answer to getRouteRequest(). */
export function parseRouteLookup(m: NetlinkMessage): RouteLookup {
  const rt = decodeRtMsg(m.payload);
  const attrs = messageAttrs(m, RTMSG_LEN);
  const len = rt.family === AF_INET6 ? 16 : 4;
  const ip = (type: number) => {
    const v = findAttr(attrs, type);
    return v && v.length >= len ? formatIp(v.slice(0, len)) : undefined;
  };
  const oif = findAttr(attrs, RtaType.RTA_OIF);
  const tableAttr = findAttr(attrs, RtaType.RTA_TABLE);
  const gateway = ip(RtaType.RTA_GATEWAY);
  const prefsrc = ip(RtaType.RTA_PREFSRC);
  return {
    family: rt.family,
    type: rt.type,
    table: tableAttr ? readU32(tableAttr) : rt.table,
    ...(oif && oif.length >= 4 ? { oif: readU32(oif) } : {}),
    ...(gateway !== undefined ? { gateway } : {}),
    ...(prefsrc !== undefined ? { prefsrc } : {}),
  };
}

// --- Policy routing rules (linux/fib_rules.h) -------------------------------------------------

/** enum fib_rule attributes (the ones used here). */
export const FraType = { FRA_PRIORITY: 6, FRA_TABLE: 15, FRA_PROTOCOL: 21 } as const;
/** FR_ACT_TO_TBL: "lookup <table>". */
export const FR_ACT_TO_TBL = 1;
const FIB_RULE_HDR_LEN = 12;

/*
 * struct fib_rule_hdr {
 *     __u8  family;   // 0
 *     __u8  dst_len;  // 1
 *     __u8  src_len;  // 2
 *     __u8  tos;      // 3
 *     __u8  table;    // 4  (RT_TABLE_UNSPEC + FRA_TABLE above 255)
 *     __u8  res1;     // 5
 *     __u8  res2;     // 6
 *     __u8  action;   // 7  FR_ACT_*
 *     __u32 flags;    // 8
 * };                  // 12
 */
function encodeFibRuleHdr(family: number, table: number, action: number): Uint8Array {
  const out = new Uint8Array(FIB_RULE_HDR_LEN);
  out.set([family, 0, 0, 0, table, 0, 0, action]);
  return out;
}

export interface RuleSpec {
  family: number;
  table: number;
  priority: number;
  /**
   * FRA_PROTOCOL (Linux 4.17+, `ip rule … proto N`): who installed the rule, as rtm_protocol for
   * routes. The kernel also matches it on RTM_DELRULE, so a delete never hits someone else's rule.
   */
  protocol: number;
}

function ruleRequest(type: number, flags: number, r: RuleSpec): { type: number; flags: number; body: Uint8Array; attrs: NlAttr[] } {
  // As iproute2: the table in the header when it fits 8 bits, else RT_TABLE_UNSPEC + FRA_TABLE.
  const big = r.table > 255;
  const attrs: NlAttr[] = [u32Attr(FraType.FRA_PRIORITY, r.priority), ...(big ? [u32Attr(FraType.FRA_TABLE, r.table)] : []), { type: FraType.FRA_PROTOCOL, value: Uint8Array.of(r.protocol & 0xff) }];
  return { type, flags, body: encodeFibRuleHdr(r.family, big ? RT_TABLE_UNSPEC : r.table, FR_ACT_TO_TBL), attrs };
}

/** `ip rule add priority P lookup T proto N` (NLM_F_EXCL: an identical rule is EEXIST, not a second copy). */
export function newRuleRequest(r: RuleSpec): { type: number; flags: number; body: Uint8Array; attrs: NlAttr[] } {
  return ruleRequest(RtmType.RTM_NEWRULE, NlmFlags.NLM_F_CREATE | NlmFlags.NLM_F_EXCL, r);
}

export function delRuleRequest(r: RuleSpec): { type: number; flags: number; body: Uint8Array; attrs: NlAttr[] } {
  return ruleRequest(RtmType.RTM_DELRULE, 0, r);
}

/** RTM_GETRULE dump of one family. */
export function dumpRulesRequest(family: number): { type: number; body: Uint8Array } {
  return { type: RtmType.RTM_GETRULE, body: encodeFibRuleHdr(family, 0, 0) };
}

export interface ParsedRule {
  family: number;
  table: number;
  /** 0 when the rule has no FRA_PRIORITY (the kernel's priority-0 rule). */
  priority: number;
  action: number;
  /** 0 (RTPROT_UNSPEC) on kernels before 4.17 or for rules without one. */
  protocol: number;
}

/** A rule from an RTM_NEWRULE dump entry. */
export function parseRule(m: NetlinkMessage): ParsedRule {
  const h = m.payload;
  if (h.length < FIB_RULE_HDR_LEN) throw new RangeError(`fib_rule_hdr: ${h.length} bytes, needs ${FIB_RULE_HDR_LEN}`);
  const attrs = messageAttrs(m, FIB_RULE_HDR_LEN);
  const table = findAttr(attrs, FraType.FRA_TABLE);
  const prio = findAttr(attrs, FraType.FRA_PRIORITY);
  const proto = findAttr(attrs, FraType.FRA_PROTOCOL);
  return {
    family: h[0] ?? 0,
    table: table && table.length >= 4 ? readU32(table) : (h[4] ?? 0),
    priority: prio && prio.length >= 4 ? readU32(prio) : 0,
    action: h[7] ?? 0,
    protocol: proto && proto.length >= 1 ? (proto[0] ?? 0) : 0,
  };
}
