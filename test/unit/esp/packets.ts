// Minimal IPv4/IPv6 packet builders for the ESP dataplane tests (headers only as far as the
// dataplane reads them: version, lengths, protocol, addresses, ports; checksums left zero).
import { parseIp } from '../../../src/net/address.js';

function addr(text: string): Uint8Array {
  const a = parseIp(text);
  if (!a) throw new Error(`bad address ${text}`);
  return a;
}

/** An IPv4 packet; `l4` is the transport header + data (e.g. from udp() or icmpEcho()). */
export function ipv4(src: string, dst: string, protocol: number, l4: Uint8Array): Buffer {
  const p = Buffer.alloc(20 + l4.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = 64;
  p[9] = protocol;
  p.set(addr(src), 12);
  p.set(addr(dst), 16);
  p.set(l4, 20);
  return p;
}

export function ipv6(src: string, dst: string, nextHeader: number, l4: Uint8Array): Buffer {
  const p = Buffer.alloc(40 + l4.length);
  p[0] = 0x60;
  p.writeUInt16BE(l4.length, 4);
  p[6] = nextHeader;
  p[7] = 64;
  p.set(addr(src), 8);
  p.set(addr(dst), 24);
  p.set(l4, 40);
  return p;
}

export function udp(sport: number, dport: number, data: Uint8Array = Buffer.alloc(8)): Buffer {
  const h = Buffer.alloc(8 + data.length);
  h.writeUInt16BE(sport, 0);
  h.writeUInt16BE(dport, 2);
  h.writeUInt16BE(h.length, 4);
  h.set(data, 8);
  return h;
}

export function icmpEcho(type = 8, size = 56): Buffer {
  const h = Buffer.alloc(8 + size, 0xa5);
  h[0] = type;
  h[1] = 0;
  return h;
}
