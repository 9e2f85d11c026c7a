// rtnetlink routes (linux/rtnetlink.h, rtnetlink(7)): RTM_NEWROUTE / RTM_DELROUTE for the host
// routes of virtual IPs in a chosen table, and the dump parsing flushOwn needs. Our routes carry
// our own rtm_protocol number, so they can be told from everyone else's after a crash.
import { familyOf, formatIp, fromBig, parseAddrRange, parseIp } from '../../net/address.js';
import type { NetlinkMessage, NlAttr } from './message.js';
import { findAttr, messageAttrs, NlmFlags, readU32, u32Attr } from './message.js';
import { AF_INET, AF_INET6 } from './xfrm-constants.js';

export const RtmType = { RTM_NEWROUTE: 24, RTM_DELROUTE: 25, RTM_GETROUTE: 26 } as const;

/** enum rtattr_type_t (the ones used here). */
export const RtaType = { RTA_DST: 1, RTA_SRC: 2, RTA_IIF: 3, RTA_OIF: 4, RTA_GATEWAY: 5, RTA_PRIORITY: 6, RTA_PREFSRC: 7, RTA_TABLE: 15 } as const;

export const RtScope = { RT_SCOPE_UNIVERSE: 0, RT_SCOPE_LINK: 253, RT_SCOPE_HOST: 254, RT_SCOPE_NOWHERE: 255 } as const;
export const RtnType = { RTN_UNSPEC: 0, RTN_UNICAST: 1 } as const;
export const RtProt = { RTPROT_BOOT: 3, RTPROT_STATIC: 4 } as const;
/** rtm_table is 8 bits; larger ids go in RTA_TABLE with rtm_table = RT_TABLE_UNSPEC (as iproute2). */
export const RT_TABLE_UNSPEC = 0;

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
