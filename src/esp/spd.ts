// Security Policy Database for the userspace dataplane (RFC 4301 §4.4.1): selectors parsed
// from the dataplane's text form ("0.0.0.0/0", "198.18.0.5/32", "10.0.0.1-10.0.0.9", each with
// an optional "[proto/port]" suffix such as "[tcp/443]", "[udp]", "[/53]", "[udp/opaque]"),
// matched against raw IP headers without allocating, and an ordered outbound lookup that
// returns the most specific policy first (RFC 4301 §4.4.1 leaves the order to the SPD; like
// Linux XFRM we take priority, then the narrower remote side, then the narrower local side).
//
//  IPv4 header (RFC 791 §3.1)                   IPv6 header (RFC 8200 §3)
//  0      4      8             16      19   31   0      4             12     16      24    31
//  |Ver=4 | IHL  |    ToS      |   Total Length | |Ver=6|Traffic Class|     Flow Label        |
//  |     Identification        |Flags| Frag Off | |   Payload Length   | Next Hdr | Hop Limit |
//  | TTL  |    Protocol        | Header Checksum| |        Source Address (16 bytes, off 8)   |
//  |        Source Address (off 12)             | |     Destination Address (16 bytes, off 24)|
//  |      Destination Address (off 16)          |
import { parseAddrRange, fromBig } from '../net/address.js';

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132, udplite: 136 };

/** One side of a selector: an address range (bytes, inclusive) and a port range. */
export interface SelectorSide {
  family: 4 | 6;
  start: Uint8Array;
  end: Uint8Array;
  /** log2 of the number of addresses, for ordering (0 for a single host). */
  width: number;
  startPort: number;
  endPort: number;
  /** The OPAQUE port selector (RFC 4301 §4.4.1.1): matches only when no port is available. */
  opaque: boolean;
}

export interface ParsedSelector {
  local: SelectorSide;
  remote: SelectorSide;
  protocol: number; // 0 = any
}

/** Parses "addr/prefix", "a-b" or a single address, with an optional "[proto/port]" suffix. */
export function parseSelectorSide(text: string): { side: SelectorSide; protocol: number } {
  const m = /^([^[\]]+?)\s*(?:\[([^\]]*)\])?$/.exec(text.trim());
  if (!m) throw new Error(`invalid selector '${text}'`);
  const range = parseAddrRange(m[1] as string);
  if (!range) throw new Error(`invalid address range '${m[1]}' in selector '${text}'`);
  let protocol = 0;
  let startPort = 0;
  let endPort = 0xffff;
  let opaque = false;
  if (m[2] !== undefined) {
    const [proto = '', port] = m[2].split('/');
    if (proto !== '' && proto !== 'any') {
      const p = /^\d+$/.test(proto) ? Number(proto) : PROTOCOLS[proto.toLowerCase()];
      if (p === undefined || p > 255) throw new Error(`unknown protocol '${proto}' in selector '${text}'`);
      protocol = p;
    }
    if (port !== undefined && port !== '' && port !== '%any') {
      if (port === 'opaque') {
        opaque = true;
      } else {
        const [a = '', b = a] = port.split('-');
        if (!/^\d+$/.test(a) || !/^\d+$/.test(b) || Number(a) > Number(b) || Number(b) > 0xffff) throw new Error(`invalid port '${port}' in selector '${text}'`);
        startPort = Number(a);
        endPort = Number(b);
      }
    }
  }
  const size = range.end - range.start + 1n;
  return {
    side: {
      family: range.family,
      start: fromBig(range.start, range.family),
      end: fromBig(range.end, range.family),
      width: size.toString(2).length - 1,
      startPort,
      endPort,
      opaque,
    },
    protocol,
  };
}

export function parseSelector(sel: { local: string; remote: string; protocol: number }): ParsedSelector {
  const l = parseSelectorSide(sel.local);
  const r = parseSelectorSide(sel.remote);
  if (l.side.family !== r.side.family) throw new Error(`selector ${sel.local} <-> ${sel.remote} mixes address families`);
  const protocol = sel.protocol || l.protocol || r.protocol;
  return { local: l.side, remote: r.side, protocol };
}

// --- matching raw packets ------------------------------------------------------------------

/** Offsets of the fields selectors look at, from one parse of the IP header. */
export interface PacketInfo {
  family: 4 | 6;
  srcOffset: number;
  dstOffset: number;
  protocol: number;
  /** Source and destination "ports" (ICMP: type << 8 | code for both), or -1 if unavailable. */
  srcPort: number;
  dstPort: number;
}

const IPV6_EXTENSIONS = new Set([0, 43, 60]); // Hop-by-Hop, Routing, Destination Options

/**
 * Reads the IP header of an inner packet (version from the first nibble). Undefined when the
 * packet is too short for its own header. Ports are -1 for non-first fragments (RFC 4301 §7).
 */
export function packetInfo(p: Uint8Array): PacketInfo | undefined {
  if (p.length < 1) return undefined;
  const version = (p[0] as number) >> 4;
  let protocol: number;
  let l4: number;
  let family: 4 | 6;
  let fragmented = false;
  if (version === 4) {
    if (p.length < 20) return undefined;
    family = 4;
    protocol = p[9] as number;
    l4 = ((p[0] as number) & 0x0f) * 4;
    fragmented = ((((p[6] as number) & 0x1f) << 8) | (p[7] as number)) !== 0; // fragment offset
  } else if (version === 6) {
    if (p.length < 40) return undefined;
    family = 6;
    protocol = p[6] as number;
    l4 = 40;
    // Skip the extension headers that may precede a transport header.
    while (IPV6_EXTENSIONS.has(protocol) && l4 + 8 <= p.length) {
      protocol = p[l4] as number;
      l4 += ((p[l4 + 1] as number) + 1) * 8;
    }
    if (protocol === 44 && l4 + 8 <= p.length) {
      fragmented = ((((p[l4 + 2] as number) << 8) | (p[l4 + 3] as number)) & 0xfff8) !== 0;
      protocol = p[l4] as number;
      l4 += 8;
    }
  } else {
    return undefined;
  }
  let srcPort = -1;
  let dstPort = -1;
  if (!fragmented && l4 + 4 <= p.length) {
    if (protocol === 6 || protocol === 17 || protocol === 132 || protocol === 136) {
      srcPort = ((p[l4] as number) << 8) | (p[l4 + 1] as number);
      dstPort = ((p[l4 + 2] as number) << 8) | (p[l4 + 3] as number);
    } else if (protocol === 1 || protocol === 58) {
      // RFC 7296 §3.13.1: ICMP Type and Code as one 16-bit "port".
      srcPort = dstPort = ((p[l4] as number) << 8) | (p[l4 + 1] as number);
    }
  }
  return family === 4
    ? { family, srcOffset: 12, dstOffset: 16, protocol, srcPort, dstPort }
    : { family, srcOffset: 8, dstOffset: 24, protocol, srcPort, dstPort };
}

function addressIn(p: Uint8Array, off: number, side: SelectorSide): boolean {
  const n = side.start.length;
  // start <= addr
  for (let i = 0; i < n; i++) {
    const a = p[off + i] as number;
    const s = side.start[i] as number;
    if (a > s) break;
    if (a < s) return false;
  }
  // addr <= end
  for (let i = 0; i < n; i++) {
    const a = p[off + i] as number;
    const e = side.end[i] as number;
    if (a < e) break;
    if (a > e) return false;
  }
  return true;
}

function portIn(port: number, side: SelectorSide): boolean {
  if (side.opaque) return port < 0;
  if (side.startPort === 0 && side.endPort === 0xffff) return true;
  return port >= side.startPort && port <= side.endPort;
}

/**
 * Whether a packet travelling from `src` side to `dst` side matches: for outbound packets the
 * source is the local side; for inbound (the RFC 4301 §5.2 check after decryption) the remote.
 */
export function matches(sel: ParsedSelector, p: Uint8Array, info: PacketInfo, direction: 'out' | 'in'): boolean {
  if (sel.local.family !== info.family) return false;
  if (sel.protocol !== 0 && sel.protocol !== info.protocol) return false;
  const srcSide = direction === 'out' ? sel.local : sel.remote;
  const dstSide = direction === 'out' ? sel.remote : sel.local;
  return (
    addressIn(p, info.dstOffset, dstSide) &&
    addressIn(p, info.srcOffset, srcSide) &&
    portIn(info.srcPort, srcSide) &&
    portIn(info.dstPort, dstSide)
  );
}

// --- the outbound SPD ----------------------------------------------------------------------

interface Entry<T> {
  selector: ParsedSelector;
  priority: number;
  order: number;
  value: T;
}

function portWidth(s: SelectorSide): number {
  return s.opaque ? 0 : s.endPort - s.startPort;
}

/** a before b when a is more specific (RFC 4301 §4.4.1: "most specific first"). */
function compare<T>(a: Entry<T>, b: Entry<T>): number {
  return (
    a.priority - b.priority ||
    a.selector.remote.width - b.selector.remote.width ||
    a.selector.local.width - b.selector.local.width ||
    (b.selector.protocol !== 0 ? 1 : 0) - (a.selector.protocol !== 0 ? 1 : 0) ||
    portWidth(a.selector.remote) - portWidth(b.selector.remote) ||
    portWidth(a.selector.local) - portWidth(b.selector.local) ||
    b.order - a.order // equally specific: the newest (e.g. after a rekey) wins
  );
}

/**
 * Outbound policies. Policies for a single remote host (a client's virtual IP, the common case
 * on a gateway: one /32 and one /128 per client) are indexed by that address, so a lookup is a
 * map probe plus a scan of the few wider policies.
 */
export class Spd<T> {
  private readonly hosts = new Map<string | number, Entry<T>[]>();
  private wide: Entry<T>[] = [];
  private counter = 0;

  get size(): number {
    let n = this.wide.length;
    for (const l of this.hosts.values()) n += l.length;
    return n;
  }

  add(selector: ParsedSelector, priority: number, value: T): void {
    const e: Entry<T> = { selector, priority, order: this.counter++, value };
    if (selector.remote.width === 0) {
      const key = hostKey(selector.remote.start, 0, selector.remote.family);
      const list = this.hosts.get(key) ?? [];
      list.push(e);
      list.sort(compare);
      this.hosts.set(key, list);
    } else {
      this.wide.push(e);
      this.wide.sort(compare);
    }
  }

  /** Removes the entries whose value satisfies `pred`; returns how many. */
  remove(pred: (value: T) => boolean): number {
    let n = 0;
    for (const [k, list] of this.hosts) {
      const kept = list.filter((e) => !pred(e.value));
      n += list.length - kept.length;
      if (kept.length === 0) this.hosts.delete(k);
      else this.hosts.set(k, kept);
    }
    const kept = this.wide.filter((e) => !pred(e.value));
    n += this.wide.length - kept.length;
    this.wide = kept;
    return n;
  }

  /** The most specific policy for an outbound packet (source local, destination remote). */
  lookup(p: Uint8Array, info: PacketInfo): T | undefined {
    const list = this.hosts.get(hostKey(p, info.dstOffset, info.family));
    const host = list?.find((e) => matches(e.selector, p, info, 'out'));
    const wide = this.wide.find((e) => matches(e.selector, p, info, 'out'));
    if (host && wide) return compare(host, wide) <= 0 ? host.value : wide.value;
    return (host ?? wide)?.value;
  }

  values(): T[] {
    return [...this.wide, ...[...this.hosts.values()].flat()].map((e) => e.value);
  }
}

function hostKey(bytes: Uint8Array, off: number, family: 4 | 6): string | number {
  if (family === 4) {
    return (((bytes[off] as number) << 24) | ((bytes[off + 1] as number) << 16) | ((bytes[off + 2] as number) << 8) | (bytes[off + 3] as number)) >>> 0;
  }
  let s = '';
  for (let i = 0; i < 16; i++) s += String.fromCharCode(bytes[off + i] as number);
  return s;
}
