// SPD (RFC 4301 §4.4.1) for the userspace dataplane: selector text as the engine writes it
// (CIDR, ranges, "[proto/port]"), matching raw IPv4/IPv6 headers in both directions, and the
// outbound lookup returning the most specific policy.
import { describe, expect, it } from 'vitest';
import { matches, packetInfo, parseSelector, parseSelectorSide, Spd } from '../../../src/esp/spd.js';
import { icmpEcho, ipv4, ipv6, udp } from './packets.js';

const sel = (local: string, remote: string, protocol = 0) => parseSelector({ local, remote, protocol });

describe('selector parsing', () => {
  it('parses CIDR, ranges, single hosts and protocol/port suffixes', () => {
    expect(parseSelectorSide('198.18.0.5/32').side).toMatchObject({ family: 4, width: 0, startPort: 0, endPort: 0xffff });
    expect(parseSelectorSide('0.0.0.0/0').side.width).toBe(32);
    expect(parseSelectorSide('::/0').side.width).toBe(128);
    expect(parseSelectorSide('10.0.0.1-10.0.0.9').side.width).toBe(3);
    expect(parseSelectorSide('2001:db8::/64[tcp/443]')).toMatchObject({ protocol: 6, side: { startPort: 443, endPort: 443 } });
    expect(parseSelectorSide('10.0.0.0/8[udp/1000-2000]')).toMatchObject({ protocol: 17, side: { startPort: 1000, endPort: 2000 } });
    expect(parseSelectorSide('10.0.0.0/8[/53]')).toMatchObject({ protocol: 0, side: { startPort: 53, endPort: 53 } });
    expect(parseSelectorSide('10.0.0.0/8[udp/opaque]')).toMatchObject({ protocol: 17, side: { opaque: true } });
    expect(parseSelectorSide('10.0.0.0/8[ipv6-icmp]').protocol).toBe(58);
    expect(() => parseSelectorSide('10.0.0.0/33')).toThrow();
    expect(() => parseSelectorSide('10.0.0.0/8[foo]')).toThrow(/unknown protocol/);
    expect(() => sel('0.0.0.0/0', '::/0')).toThrow(/mixes address families/);
  });
});

describe('matching packets', () => {
  const s = sel('0.0.0.0/0', '198.18.0.5/32');
  it('outbound: source on the local side, destination on the remote side', () => {
    const out = ipv4('203.0.113.2', '198.18.0.5', 1, icmpEcho(0));
    expect(matches(s, out, packetInfo(out)!, 'out')).toBe(true);
    const other = ipv4('203.0.113.2', '198.18.0.6', 1, icmpEcho(0));
    expect(matches(s, other, packetInfo(other)!, 'out')).toBe(false);
  });

  it('inbound (RFC 4301 §5.2): source on the remote side, destination on the local side', () => {
    const inb = ipv4('198.18.0.5', '203.0.113.2', 1, icmpEcho());
    expect(matches(s, inb, packetInfo(inb)!, 'in')).toBe(true);
    const spoofed = ipv4('198.18.0.99', '203.0.113.2', 1, icmpEcho());
    expect(matches(s, spoofed, packetInfo(spoofed)!, 'in')).toBe(false);
    expect(matches(s, inb, packetInfo(inb)!, 'out')).toBe(false);
  });

  it('checks protocol and ports; ICMP type/code count as the port (RFC 7296 §3.13.1)', () => {
    const dns = sel('10.0.0.0/8[udp/53]', '198.18.0.0/24');
    const q = ipv4('198.18.0.7', '10.1.1.1', 17, udp(40000, 53));
    expect(matches(dns, q, packetInfo(q)!, 'in')).toBe(true);
    const other = ipv4('198.18.0.7', '10.1.1.1', 17, udp(40000, 54));
    expect(matches(dns, other, packetInfo(other)!, 'in')).toBe(false);
    const tcp = ipv4('198.18.0.7', '10.1.1.1', 6, udp(40000, 53));
    expect(matches(dns, tcp, packetInfo(tcp)!, 'in')).toBe(false);
    const echo = sel('0.0.0.0/0[icmp/2048]', '0.0.0.0/0'); // type 8, code 0
    const req = ipv4('1.1.1.1', '2.2.2.2', 1, icmpEcho(8));
    const rep = ipv4('1.1.1.1', '2.2.2.2', 1, icmpEcho(0));
    expect(matches(echo, req, packetInfo(req)!, 'in')).toBe(true);
    expect(matches(echo, rep, packetInfo(rep)!, 'in')).toBe(false);
  });

  it('IPv6, including extension headers before the transport header', () => {
    const s6 = sel('::/0', '2001:db8:f00d::1/128[udp]');
    const p = ipv6('2001:db8:cafe::2', '2001:db8:f00d::1', 17, udp(1, 2));
    expect(matches(s6, p, packetInfo(p)!, 'out')).toBe(true);
    const hbh = Buffer.concat([Buffer.from([17, 0, 1, 4, 0, 0, 0, 0]), udp(1, 2)]);
    const withExt = ipv6('2001:db8:cafe::2', '2001:db8:f00d::1', 0, hbh);
    expect(packetInfo(withExt)).toMatchObject({ protocol: 17, srcPort: 1, dstPort: 2 });
    expect(matches(s6, withExt, packetInfo(withExt)!, 'out')).toBe(true);
    const v4 = ipv4('203.0.113.2', '198.18.0.5', 17, udp(1, 2));
    expect(matches(s6, v4, packetInfo(v4)!, 'out')).toBe(false);
  });

  it('non-first fragments have no ports: only OPAQUE or port-less selectors match', () => {
    const frag = ipv4('198.18.0.7', '10.1.1.1', 17, udp(1, 53));
    frag.writeUInt16BE(0x0010, 6); // fragment offset 16 * 8
    expect(packetInfo(frag)).toMatchObject({ srcPort: -1, dstPort: -1 });
    expect(matches(sel('10.0.0.0/8[udp/53]', '0.0.0.0/0'), frag, packetInfo(frag)!, 'in')).toBe(false);
    expect(matches(sel('10.0.0.0/8[udp/opaque]', '0.0.0.0/0'), frag, packetInfo(frag)!, 'in')).toBe(true);
    expect(matches(sel('10.0.0.0/8[udp]', '0.0.0.0/0'), frag, packetInfo(frag)!, 'in')).toBe(true);
  });

  it('refuses truncated headers and unknown versions', () => {
    expect(packetInfo(Buffer.from([0x45, 0, 0]))).toBeUndefined();
    expect(packetInfo(Buffer.alloc(40, 0x70))).toBeUndefined();
  });
});

describe('Spd lookup: most specific first', () => {
  it('prefers the narrower remote, then the narrower local, then protocol/ports, then priority', () => {
    const spd = new Spd<string>();
    spd.add(sel('0.0.0.0/0', '0.0.0.0/0'), 0, 'default');
    spd.add(sel('0.0.0.0/0', '198.18.0.0/24'), 0, 'pool');
    spd.add(sel('0.0.0.0/0', '198.18.0.5/32'), 0, 'client5');
    spd.add(sel('203.0.113.0/24', '198.18.0.5/32'), 0, 'client5-lan');
    spd.add(sel('203.0.113.0/24[tcp/443]', '198.18.0.5/32'), 0, 'client5-https');
    spd.add(sel('0.0.0.0/0', '198.18.0.6-198.18.0.7'), 0, 'range');
    const look = (src: string, dst: string, proto = 1, l4: Uint8Array = icmpEcho(0)): string | undefined => {
      const p = ipv4(src, dst, proto, l4);
      return spd.lookup(p, packetInfo(p)!);
    };
    expect(look('203.0.113.2', '198.18.0.5')).toBe('client5-lan');
    expect(look('203.0.113.2', '198.18.0.5', 6, udp(443, 50000))).toBe('client5-https');
    expect(look('192.0.2.99', '198.18.0.5')).toBe('client5');
    expect(look('192.0.2.99', '198.18.0.7')).toBe('range');
    expect(look('192.0.2.99', '198.18.0.9')).toBe('pool');
    expect(look('192.0.2.99', '8.8.8.8')).toBe('default');
    const p6 = ipv6('2001:db8::1', '2001:db8::2', 58, icmpEcho(129));
    expect(spd.lookup(p6, packetInfo(p6)!)).toBeUndefined();
    // A better priority beats specificity (Linux XFRM: lower value first).
    spd.add(sel('0.0.0.0/0', '0.0.0.0/0'), -1, 'override');
    expect(look('203.0.113.2', '198.18.0.5')).toBe('override');
  });

  it('equally specific: the newest policy wins (rekeyed CHILD_SA); removal restores the old one', () => {
    const spd = new Spd<string>();
    spd.add(sel('0.0.0.0/0', '198.18.0.5/32'), 0, 'old');
    spd.add(sel('0.0.0.0/0', '198.18.0.5/32'), 0, 'new');
    const p = ipv4('203.0.113.2', '198.18.0.5', 1, icmpEcho(0));
    expect(spd.lookup(p, packetInfo(p)!)).toBe('new');
    expect(spd.remove((v) => v === 'new')).toBe(1);
    expect(spd.lookup(p, packetInfo(p)!)).toBe('old');
    expect(spd.size).toBe(1);
  });

  it('scales: 2000 client policies, lookups go through the host index', () => {
    const spd = new Spd<number>();
    for (let i = 0; i < 1000; i++) {
      spd.add(sel('0.0.0.0/0', `198.18.${i >> 8}.${i & 0xff}/32`), 0, i);
      spd.add(sel('::/0', `2001:db8:f00d::${i.toString(16)}/128`), 0, 10_000 + i);
    }
    const p = ipv4('203.0.113.2', '198.18.3.21', 1, icmpEcho(0));
    expect(spd.lookup(p, packetInfo(p)!)).toBe(3 * 256 + 21);
    const p6 = ipv6('2001:db8:cafe::2', '2001:db8:f00d::3e7', 58, icmpEcho(129));
    expect(spd.lookup(p6, packetInfo(p6)!)).toBe(10_000 + 999);
  });
});
