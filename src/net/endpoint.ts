// A UDP endpoint (address + port) and the byte forms IKE needs of it: NAT detection hashes
// (RFC 7296 §2.23) cover the raw address bytes followed by the port in network order.
import { isIPv4, isIPv6 } from 'node:net';
import { formatIp, parseIp } from './address.js';

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
  if (isIPv6(address)) return formatIp(parseIp(address.replace(/%.*$/, ''))!);
  return address;
}

/** Address bytes followed by the port, as hashed for NAT_DETECTION_*_IP. */
export function endpointBytes(e: Endpoint): Uint8Array {
  const addr = parseIp(e.address);
  if (!addr) throw new Error(`not an IP address: ${e.address}`);
  const out = new Uint8Array(addr.length + 2);
  out.set(addr);
  out[addr.length] = e.port >> 8;
  out[addr.length + 1] = e.port & 0xff;
  return out;
}
