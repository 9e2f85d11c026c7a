// A UDP endpoint (address + port) and the byte forms IKE needs of it: NAT detection hashes
// (RFC 7296 §2.23) cover the raw address bytes followed by the port in network order.
import { isIPv4, isIPv6 } from 'node:net';

export interface Endpoint {
  address: string; // canonical text form, no brackets, no zone for global addresses
  port: number;
  family: 4 | 6;
}

export function endpoint(address: string, port: number): Endpoint {
  const family = isIPv4(address) ? 4 : isIPv6(address) ? 6 : undefined;
  if (!family) throw new Error(`not an IP address: ${address}`);
  return { address: canonicalAddress(address), port, family };
}

export function formatEndpoint(e: Endpoint): string {
  return e.family === 6 ? `[${e.address}]:${e.port}` : `${e.address}:${e.port}`;
}

export function sameEndpoint(a: Endpoint, b: Endpoint): boolean {
  return a.port === b.port && a.address === b.address;
}

/** IPv4-mapped IPv6 addresses (from dual-stack sockets) are shown and compared as IPv4. */
export function canonicalAddress(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1]!;
  if (isIPv6(address)) return ipToString(ipToBytes(address));
  return address;
}

export function ipToBytes(address: string): Uint8Array {
  if (isIPv4(address)) return new Uint8Array(address.split('.').map((p) => Number(p)));
  if (!isIPv6(address)) throw new Error(`not an IP address: ${address}`);
  let text = address.replace(/%.*$/, '');
  // An embedded dotted quad becomes two hex groups.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = ipToBytes(dotted[1]!);
    text = text.slice(0, -dotted[1]!.length) + `${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...new Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

export function ipToString(b: Uint8Array): string {
  if (b.length === 4) return Array.from(b).join('.');
  if (b.length !== 16) throw new Error(`address of ${b.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((b[i]! << 8) | b[i + 1]!);
  // RFC 5952: compress the longest run (length > 1) of zero groups, the first one on ties.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/** Address bytes followed by the port, as hashed for NAT_DETECTION_*_IP. */
export function endpointBytes(e: Endpoint): Uint8Array {
  const addr = ipToBytes(e.address);
  const out = new Uint8Array(addr.length + 2);
  out.set(addr);
  out[addr.length] = e.port >> 8;
  out[addr.length + 1] = e.port & 0xff;
  return out;
}
