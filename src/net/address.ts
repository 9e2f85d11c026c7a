// IPv4/IPv6 address text <-> bytes <-> bigint, plus CIDR and range specs as used in
// swanctl.conf (local_addrs, pools.addrs, local_ts). Shared by pools, traffic selectors and
// connection selection. Text forms: RFC 4291 §2.2 (IPv6), RFC 5952 (canonical output).
import { isIPv4, isIPv6 } from 'node:net';

export type Family = 4 | 6;

/** Address bytes (4 or 16), or undefined if `text` is not an IP literal (no zone ids). */
export function parseIp(text: string): Uint8Array | undefined {
  if (isIPv4(text)) return new Uint8Array(text.split('.').map(Number));
  if (!isIPv6(text) || text.includes('%')) return undefined;
  let head = text;
  let tail4: number[] = [];
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    // Embedded IPv4 in the last 32 bits (::ffff:192.0.2.1).
    tail4 = text.slice(lastColon + 1).split('.').map(Number);
    head = text.slice(0, lastColon + 1) + '0:0';
  }
  const [left = '', right] = head.split('::') as [string, string | undefined];
  const l = left === '' ? [] : left.split(':');
  const r = right === undefined || right === '' ? [] : right.split(':');
  const groups = right === undefined ? l : [...l, ...new Array<string>(8 - l.length - r.length).fill('0'), ...r];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  if (tail4.length === 4) out.set(tail4, 12);
  return out;
}

export function familyOf(addr: Uint8Array): Family {
  return addr.length === 4 ? 4 : 6;
}

/** Canonical text (RFC 5952 for IPv6: lower case, longest zero run compressed). */
export function formatIp(addr: Uint8Array): string {
  if (addr.length === 4) return Array.from(addr).join('.');
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((addr[i] as number) << 8) | (addr[i + 1] as number));
  let bestStart = -1;
  let bestLen = 1; // RFC 5952 §4.2.2: a single zero group is not compressed
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export function toBig(addr: Uint8Array): bigint {
  let v = 0n;
  for (const b of addr) v = (v << 8n) | BigInt(b);
  return v;
}

export function fromBig(v: bigint, family: Family): Uint8Array {
  const len = family === 4 ? 4 : 16;
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}

export function maxOf(family: Family): bigint {
  return family === 4 ? 0xffffffffn : (1n << 128n) - 1n;
}

/** An inclusive address range of one family; `prefix` is set when it came from a CIDR. */
export interface AddrRange {
  family: Family;
  start: bigint;
  end: bigint;
  prefix?: number;
}

/** Parses "10.0.0.0/24", "2001:db8::/64", "10.0.0.1-10.0.0.9" or a single address. */
export function parseAddrRange(text: string): AddrRange | undefined {
  const t = text.trim();
  const dash = t.indexOf('-');
  if (dash > 0) {
    const a = parseIp(t.slice(0, dash).trim());
    const b = parseIp(t.slice(dash + 1).trim());
    if (!a || !b || a.length !== b.length) return undefined;
    const start = toBig(a);
    const end = toBig(b);
    if (end < start) return undefined;
    return { family: familyOf(a), start, end };
  }
  const slash = t.indexOf('/');
  const addr = parseIp(slash < 0 ? t : t.slice(0, slash));
  if (!addr) return undefined;
  const family = familyOf(addr);
  const bits = family === 4 ? 32 : 128;
  let prefix = bits;
  if (slash >= 0) {
    const p = t.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p) || Number(p) > bits) return undefined;
    prefix = Number(p);
  }
  const hostBits = BigInt(bits - prefix);
  const mask = ((1n << hostBits) - 1n);
  // Like strongSwan, host bits set in a CIDR are cleared rather than rejected.
  const start = toBig(addr) & ~mask & maxOf(family);
  return { family, start, end: start | mask, prefix };
}

export function rangeContains(r: AddrRange, addr: Uint8Array): boolean {
  if (familyOf(addr) !== r.family) return false;
  const v = toBig(addr);
  return v >= r.start && v <= r.end;
}

export function rangesOverlap(a: AddrRange, b: AddrRange): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

export function formatRange(r: AddrRange): string {
  const s = formatIp(fromBig(r.start, r.family));
  if (r.prefix !== undefined) return `${s}/${r.prefix}`;
  return r.start === r.end ? s : `${s}-${formatIp(fromBig(r.end, r.family))}`;
}
