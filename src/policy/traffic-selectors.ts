// Traffic selector narrowing for a responder (RFC 7296 §2.9): intersect what the initiator
// proposed in TSi/TSr with the configured remote_ts/local_ts (swanctl syntax, `dynamic` =
// virtual IP or outer address), per family, protocol and port range. Pure; the engine turns a
// failure into TS_UNACCEPTABLE.
import type { TrafficSelector } from '../ike/codec/payload.js';
import { TsType } from '../ike/constants.js';
import { type AddrRange, type Family, familyOf, formatIp, fromBig, maxOf, parseAddrRange, toBig } from '../net/address.js';

/** A configured selector before `dynamic` is substituted. */
export interface TsSpec {
  dynamic: boolean;
  range?: AddrRange; // absent when dynamic
  ipProtocol: number;
  startPort: number;
  endPort: number;
}

const PROTOCOLS: Record<string, number> = { icmp: 1, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmpv6: 58, sctp: 132 };
const SERVICES: Record<string, number> = { domain: 53, http: 80, https: 443, ssh: 22, bootps: 67, bootpc: 68, ntp: 123, isakmp: 500, 'ipsec-nat-t': 4500 };

function tsType(f: Family): number {
  return f === 4 ? TsType.TS_IPV4_ADDR_RANGE : TsType.TS_IPV6_ADDR_RANGE;
}

export function tsFamily(ts: TrafficSelector): Family {
  return ts.tsType === TsType.TS_IPV4_ADDR_RANGE ? 4 : 6;
}

/**
 * Parses one swanctl selector: `10.0.0.0/24`, `10.0.0.1-10.0.0.9`, `dynamic`, each optionally
 * followed by `[proto/port]`, e.g. `[tcp/443]`, `[udp]`, `[/53]`, `[tcp/1000-2000]`,
 * `[udp/opaque]`. Throws Error with a short reason.
 */
export function parseTsSpec(text: string): TsSpec {
  const m = /^([^[\]]+?)\s*(?:\[([^\]]*)\])?$/.exec(text.trim());
  if (!m) throw new Error(`invalid traffic selector '${text}'`);
  const base = m[1] as string;
  let ipProtocol = 0;
  let startPort = 0;
  let endPort = 0xffff;
  if (m[2] !== undefined) {
    const [proto = '', port] = m[2].split('/');
    if (proto !== '' && proto !== 'any') {
      const p = /^\d+$/.test(proto) ? Number(proto) : PROTOCOLS[proto.toLowerCase()];
      if (p === undefined || p > 255) throw new Error(`unknown protocol '${proto}' in '${text}'`);
      ipProtocol = p;
    }
    if (port !== undefined && port !== '' && port !== '%any') {
      if (port === 'opaque') {
        // RFC 4301 OPAQUE: start 0xffff, end 0 (RFC 7296 §3.13.1).
        startPort = 0xffff;
        endPort = 0;
      } else {
        const [a = '', b] = port.split('-');
        const pa = /^\d+$/.test(a) ? Number(a) : SERVICES[a];
        const pb = b === undefined ? pa : /^\d+$/.test(b) ? Number(b) : SERVICES[b];
        if (pa === undefined || pb === undefined || pa > 0xffff || pb > 0xffff || pb < pa) throw new Error(`invalid port '${port}' in '${text}'`);
        startPort = pa;
        endPort = pb;
      }
    }
  }
  if (base === 'dynamic') return { dynamic: true, ipProtocol, startPort, endPort };
  const range = parseAddrRange(base);
  if (!range) throw new Error(`invalid address, subnet or range '${base}' in traffic selector`);
  return { dynamic: false, range, ipProtocol, startPort, endPort };
}

function fromRange(r: AddrRange, ipProtocol = 0, startPort = 0, endPort = 0xffff): TrafficSelector {
  return { tsType: tsType(r.family), ipProtocol, startPort, endPort, startAddr: fromBig(r.start, r.family), endAddr: fromBig(r.end, r.family) };
}

/** "10.0.0.0/24" or a single address → selector for all protocols and ports. */
export function tsFromCidr(text: string, ipProtocol = 0, startPort = 0, endPort = 0xffff): TrafficSelector {
  const r = parseAddrRange(text);
  if (!r) throw new Error(`invalid CIDR '${text}'`);
  return fromRange(r, ipProtocol, startPort, endPort);
}

function rangeOf(ts: TrafficSelector): AddrRange {
  return { family: tsFamily(ts), start: toBig(ts.startAddr), end: toBig(ts.endAddr) };
}

/** Prefix length if the range is exactly a CIDR block. */
function cidrPrefix(r: AddrRange): number | undefined {
  const bits = r.family === 4 ? 32 : 128;
  const size = r.end - r.start + 1n;
  if ((size & (size - 1n)) !== 0n) return undefined;
  const hostBits = size.toString(2).length - 1;
  if ((r.start & (size - 1n)) !== 0n) return undefined;
  return bits - hostBits;
}

/** "10.0.0.0/24", "10.0.0.1-10.0.0.9[tcp/443]", "::/0[udp/opaque]". */
export function tsToString(ts: TrafficSelector): string {
  const r = rangeOf(ts);
  const p = cidrPrefix(r);
  const start = formatIp(ts.startAddr);
  let s = p !== undefined ? `${start}/${p}` : `${start}-${formatIp(ts.endAddr)}`;
  const anyPort = ts.startPort === 0 && ts.endPort === 0xffff;
  if (ts.ipProtocol !== 0 || !anyPort) {
    const proto = ts.ipProtocol === 0 ? '' : (Object.entries(PROTOCOLS).find(([, v]) => v === ts.ipProtocol)?.[0] ?? String(ts.ipProtocol));
    let port = '';
    if (ts.startPort > ts.endPort) port = '/opaque';
    else if (!anyPort) port = ts.startPort === ts.endPort ? `/${ts.startPort}` : `/${ts.startPort}-${ts.endPort}`;
    s += `[${proto}${port}]`;
  }
  return s;
}

function isOpaque(ts: { startPort: number; endPort: number }): boolean {
  return ts.startPort > ts.endPort;
}

/** The intersection of two selectors, or undefined if they share no traffic. */
export function intersectTs(a: TrafficSelector, b: TrafficSelector): TrafficSelector | undefined {
  if (a.tsType !== b.tsType) return undefined;
  if (a.ipProtocol !== 0 && b.ipProtocol !== 0 && a.ipProtocol !== b.ipProtocol) return undefined;
  const ipProtocol = a.ipProtocol || b.ipProtocol;
  let startPort: number;
  let endPort: number;
  const anyA = a.startPort === 0 && a.endPort === 0xffff;
  const anyB = b.startPort === 0 && b.endPort === 0xffff;
  if (isOpaque(a) || isOpaque(b)) {
    // OPAQUE only survives against "any port" or another OPAQUE.
    if ((isOpaque(a) || anyA) && (isOpaque(b) || anyB)) {
      startPort = 0xffff;
      endPort = 0;
    } else return undefined;
  } else {
    startPort = Math.max(a.startPort, b.startPort);
    endPort = Math.min(a.endPort, b.endPort);
    if (startPort > endPort) return undefined;
  }
  const ra = rangeOf(a);
  const rb = rangeOf(b);
  const start = ra.start > rb.start ? ra.start : rb.start;
  const end = ra.end < rb.end ? ra.end : rb.end;
  if (start > end) return undefined;
  return fromRange({ family: ra.family, start, end }, ipProtocol, startPort, endPort);
}

function portsContain(outer: TrafficSelector, inner: TrafficSelector): boolean {
  if (outer.startPort === 0 && outer.endPort === 0xffff) return true;
  if (isOpaque(outer) || isOpaque(inner)) return isOpaque(outer) && isOpaque(inner);
  return outer.startPort <= inner.startPort && inner.endPort <= outer.endPort;
}

/** True if every packet matched by `inner` is matched by `outer`. */
export function tsContains(outer: TrafficSelector, inner: TrafficSelector): boolean {
  if (outer.tsType !== inner.tsType) return false;
  if (outer.ipProtocol !== 0 && outer.ipProtocol !== inner.ipProtocol) return false;
  if (!portsContain(outer, inner)) return false;
  const ro = rangeOf(outer);
  const ri = rangeOf(inner);
  return ro.start <= ri.start && ri.end <= ro.end;
}

/** Drops duplicates and selectors covered by another one, keeping the original order. */
function simplify(list: TrafficSelector[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  list.forEach((ts, i) => {
    const covered = list.some((other, j) => j !== i && tsContains(other, ts) && (!tsContains(ts, other) || j < i));
    if (!covered) out.push(ts);
  });
  return out;
}

/** Replaces `dynamic` with one selector per address (virtual IPs or the outer address). */
export function resolveTsSpecs(specs: TsSpec[], dynamicAddrs: Uint8Array[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const s of specs) {
    if (!s.dynamic) {
      out.push(fromRange(s.range as AddrRange, s.ipProtocol, s.startPort, s.endPort));
      continue;
    }
    for (const a of dynamicAddrs) {
      const v = toBig(a);
      out.push(fromRange({ family: familyOf(a), start: v, end: v }, s.ipProtocol, s.startPort, s.endPort));
    }
  }
  return out;
}

export interface NarrowInput {
  /** Selectors from the initiator's TSi (its side) and TSr (our side). */
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  /** Configured child selectors (swanctl text, e.g. ["dynamic"], ["0.0.0.0/0", "::/0"]). */
  localTs: string[];
  remoteTs: string[];
  /** What `dynamic` stands for: our outer address for local_ts ... */
  localDynamic: Uint8Array[];
  /** ... and the peer's virtual IP(s) if assigned, else its outer address, for remote_ts. */
  remoteDynamic: Uint8Array[];
}

export type NarrowResult = { ok: true; tsi: TrafficSelector[]; tsr: TrafficSelector[] } | { ok: false; reason: string };

function intersectAll(offered: TrafficSelector[], allowed: TrafficSelector[]): TrafficSelector[] {
  const out: TrafficSelector[] = [];
  for (const o of offered) {
    for (const a of allowed) {
      const x = intersectTs(o, a);
      if (x) out.push(x);
    }
  }
  return simplify(out);
}

/**
 * Narrows the initiator's proposal to what this child allows (RFC 7296 §2.9). The first TSi/TSr
 * pair may be a specific "hint" (the packet that triggered the SA); it is intersected like the
 * others and then absorbed by any wider result, so it neither widens nor blocks the answer.
 * Families are kept consistent: a family survives only if it is present on both sides, so a
 * Windows client asking 0.0.0.0/0 + ::/0 with only an IPv4 lease gets IPv4 selectors only.
 */
export function narrowTrafficSelectors(input: NarrowInput): NarrowResult {
  let localSpecs: TsSpec[];
  let remoteSpecs: TsSpec[];
  try {
    localSpecs = input.localTs.map(parseTsSpec);
    remoteSpecs = input.remoteTs.map(parseTsSpec);
  } catch (e) {
    return { ok: false, reason: (e as Error).message };
  }
  const allowedRemote = resolveTsSpecs(remoteSpecs, input.remoteDynamic);
  const allowedLocal = resolveTsSpecs(localSpecs, input.localDynamic);
  let tsi = intersectAll(input.tsi, allowedRemote);
  let tsr = intersectAll(input.tsr, allowedLocal);
  if (tsi.length === 0) return { ok: false, reason: `TSi ${list(input.tsi)} outside remote_ts ${list(allowedRemote)}` };
  if (tsr.length === 0) return { ok: false, reason: `TSr ${list(input.tsr)} outside local_ts ${list(allowedLocal)}` };
  const famI = new Set(tsi.map(tsFamily));
  const famR = new Set(tsr.map(tsFamily));
  tsi = tsi.filter((t) => famR.has(tsFamily(t)));
  tsr = tsr.filter((t) => famI.has(tsFamily(t)));
  if (tsi.length === 0 || tsr.length === 0) return { ok: false, reason: 'no address family common to the narrowed TSi and TSr' };
  return { ok: true, tsi, tsr };
}

function list(l: TrafficSelector[]): string {
  return l.length === 0 ? '(none)' : l.map(tsToString).join(', ');
}

/** Whole address space of a family as a selector (0.0.0.0/0 or ::/0). */
export function tsAny(family: Family): TrafficSelector {
  return fromRange({ family, start: 0n, end: maxOf(family) });
}
