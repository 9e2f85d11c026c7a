// Traffic selectors (RFC 7296 §3.13.1: address *ranges*, port ranges, protocol) as XFRM
// selectors (prefix + port/mask, linux/xfrm.h struct xfrm_selector). A range that is not one
// CIDR block becomes the minimal set of prefixes; a port range the minimal set of port/mask
// pairs, as the kernel matches `(port ^ sel.port) & sel.port_mask`.
// Input is the engine's text ("10.0.0.0/24", "10.0.0.1-10.0.0.9", "0.0.0.0/0[tcp/80]",
// "::/0[udp/1000-2000]", "[/53]" for any protocol with a port) or plain data.
import { fromBig, maxOf, parseAddrRange, type AddrRange, type Family } from '../net/address.js';
import type { Selector } from './dataplane.js';
import { AF_INET, AF_INET6 } from './netlink/xfrm-constants.js';
import type { XfrmSelector } from './netlink/xfrm-structs.js';

export class SelectorError extends Error {
  override readonly name = 'SelectorError';
}

const PROTOCOLS: Readonly<Record<string, number>> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132 };
const IPPROTO_ICMP = 1;
const IPPROTO_ICMPV6 = 58;

/** One side of a traffic selector, parsed. `ports` undefined = any. */
export interface TsSide {
  range: AddrRange;
  protocol: number;
  ports?: [number, number];
}

/** A CIDR block. */
export interface Prefix {
  family: Family;
  addr: Uint8Array;
  len: number;
}

/** A port and mask in host order; mask 0 = any. */
export interface PortMask {
  port: number;
  mask: number;
}

/** Parses "addr/len", "a-b" or "addr", with an optional "[proto/port]" or "[proto/lo-hi]" suffix. */
export function parseTs(text: string): TsSide {
  const m = /^([^[\]]+?)\s*(?:\[([^/\]]*)(?:\/([^\]]*))?\])?$/.exec(text.trim());
  if (!m) throw new SelectorError(`traffic selector '${text}' is not understood`);
  const [, addrText = '', protoText = '', portText] = m;
  const range = parseAddrRange(addrText);
  if (!range) throw new SelectorError(`traffic selector '${text}': '${addrText}' is not an address, CIDR or range`);
  let protocol = 0;
  if (protoText !== '') {
    const p = /^\d+$/.test(protoText) ? Number(protoText) : PROTOCOLS[protoText.toLowerCase()];
    if (p === undefined || p > 255) throw new SelectorError(`traffic selector '${text}': unknown protocol '${protoText}'`);
    protocol = p;
  }
  if (portText === undefined || portText === '' || portText === '%any') return { range, protocol };
  if (portText === 'opaque') throw new SelectorError(`traffic selector '${text}': OPAQUE ports cannot be expressed as an XFRM selector`);
  const pm = /^(\d+)(?:-(\d+))?$/.exec(portText);
  if (!pm) throw new SelectorError(`traffic selector '${text}': bad port '${portText}'`);
  const lo = Number(pm[1]);
  const hi = pm[2] === undefined ? lo : Number(pm[2]);
  if (lo > hi || hi > 0xffff) throw new SelectorError(`traffic selector '${text}': bad port range '${portText}'`);
  return lo === 0 && hi === 0xffff ? { range, protocol } : { range, protocol, ports: [lo, hi] };
}

/** The minimal list of CIDR blocks that exactly cover an address range. */
export function rangeToPrefixes(r: AddrRange): Prefix[] {
  const bits = r.family === 4 ? 32 : 128;
  const out: Prefix[] = [];
  let start = r.start;
  const end = r.end;
  while (start <= end) {
    // Largest block aligned at `start` that does not pass `end`.
    let size = 0;
    while (size < bits) {
      const next = size + 1;
      const mask = (1n << BigInt(next)) - 1n;
      if ((start & mask) !== 0n || start + mask > end) break;
      size = next;
    }
    out.push({ family: r.family, addr: fromBig(start, r.family), len: bits - size });
    start += 1n << BigInt(size);
    if (start > maxOf(r.family)) break;
  }
  return out;
}

/** The minimal list of port/mask pairs that exactly cover [lo, hi]. */
export function portRangeToMasks(lo: number, hi: number): PortMask[] {
  if (lo === 0 && hi === 0xffff) return [{ port: 0, mask: 0 }];
  const out: PortMask[] = [];
  let p = lo;
  while (p <= hi) {
    let size = 0;
    while (size < 16 && (p & ((1 << (size + 1)) - 1)) === 0 && p + (1 << (size + 1)) - 1 <= hi) size++;
    out.push({ port: p, mask: (0xffff << size) & 0xffff });
    p += 1 << size;
  }
  return out;
}

/** One kernel-ready selector in policy orientation (source = saddr side). */
export interface PrefixSelector {
  family: Family;
  src: Prefix;
  dst: Prefix;
  protocol: number;
  sport: PortMask;
  dport: PortMask;
}

/** Expanding more than this many selectors from one TS pair is refused (ranges x port ranges). */
export const MAX_SELECTORS = 64;

/**
 * The kernel selectors of one policy: `selector` is the engine's (local, remote) pair; out
 * policies match local → remote, in and fwd policies remote → local.
 */
export function expandSelector(selector: Selector, direction: 'in' | 'out' | 'fwd'): PrefixSelector[] {
  const local = parseTs(selector.local);
  const remote = parseTs(selector.remote);
  if (local.range.family !== remote.range.family) throw new SelectorError(`selector ${selector.local} === ${selector.remote} mixes address families`);
  const protocol = selector.protocol || local.protocol || remote.protocol;
  for (const side of [local, remote]) {
    if (side.protocol !== 0 && side.protocol !== protocol) throw new SelectorError(`selector ${selector.local} === ${selector.remote} has two protocols`);
  }
  const localPorts = selector.localPorts ?? local.ports;
  const remotePorts = selector.remotePorts ?? remote.ports;
  const [src, dst, sPorts, dPorts] = direction === 'out' ? [local, remote, localPorts, remotePorts] : [remote, local, remotePorts, localPorts];
  const srcPrefixes = rangeToPrefixes(src.range);
  const dstPrefixes = rangeToPrefixes(dst.range);
  let portPairs: { sport: PortMask; dport: PortMask }[];
  if (protocol === IPPROTO_ICMP || protocol === IPPROTO_ICMPV6) {
    portPairs = [icmpPorts(sPorts ?? dPorts)];
  } else if (protocol === 0) {
    if (sPorts || dPorts) throw new SelectorError(`selector ${selector.local} === ${selector.remote}: ports without a protocol`);
    portPairs = [{ sport: { port: 0, mask: 0 }, dport: { port: 0, mask: 0 } }];
  } else {
    const s = sPorts ? portRangeToMasks(sPorts[0], sPorts[1]) : [{ port: 0, mask: 0 }];
    const d = dPorts ? portRangeToMasks(dPorts[0], dPorts[1]) : [{ port: 0, mask: 0 }];
    portPairs = s.flatMap((sport) => d.map((dport) => ({ sport, dport })));
  }
  const total = srcPrefixes.length * dstPrefixes.length * portPairs.length;
  if (total > MAX_SELECTORS) {
    throw new SelectorError(`selector ${selector.local} === ${selector.remote} needs ${total} kernel policies (limit ${MAX_SELECTORS})`);
  }
  const out: PrefixSelector[] = [];
  for (const s of srcPrefixes) for (const d of dstPrefixes) for (const p of portPairs) out.push({ family: s.family, src: s, dst: d, protocol, ...p });
  return out;
}

/**
 * ICMP: the TS "port" is type << 8 | code (RFC 4301 §4.4.1.1); the kernel's flow puts the type
 * in sport and the code in dport. A single type/code or one whole type maps exactly; other
 * ranges widen to any.
 */
function icmpPorts(ports: [number, number] | undefined): { sport: PortMask; dport: PortMask } {
  const any = { port: 0, mask: 0 };
  if (!ports) return { sport: any, dport: any };
  const [lo, hi] = ports;
  if (lo === hi) return { sport: { port: lo >> 8, mask: 0xffff }, dport: { port: lo & 0xff, mask: 0xffff } };
  if ((lo & 0xff) === 0 && hi === (lo | 0xff)) return { sport: { port: lo >> 8, mask: 0xffff }, dport: any };
  return { sport: any, dport: any };
}

export function toXfrmSelector(p: PrefixSelector): XfrmSelector {
  return {
    saddr: p.src.addr,
    daddr: p.dst.addr,
    prefixlenS: p.src.len,
    prefixlenD: p.dst.len,
    sport: p.sport.port,
    sportMask: p.sport.mask,
    dport: p.dport.port,
    dportMask: p.dport.mask,
    family: p.family === 4 ? AF_INET : AF_INET6,
    proto: p.protocol,
    ifindex: 0,
    user: 0,
  };
}

/**
 * Rank inside a priority class, after strongSwan's get_priority(): smaller = more specific =
 * matched first. Longer prefixes lower it; a port or a protocol lowers it further.
 * IPv4: 0..259, IPv6: 0..1027.
 */
export function selectorRank(p: PrefixSelector): number {
  const bits = p.family === 4 ? 32 : 128;
  let rank = (2 * bits - p.src.len - p.dst.len) << 2;
  if (p.sport.mask === 0 && p.dport.mask === 0) rank += 2;
  if (p.protocol === 0) rank += 1;
  return rank;
}
