// Engine traffic-selector text -> XFRM prefix selectors (RFC 7296 §3.13.1 ranges as prefixes).
import { describe, expect, it } from 'vitest';
import { parseAddrRange } from '../../../src/net/address.js';
import { expandSelector, parseTs, portRangeToMasks, rangeToPrefixes, SelectorError, selectorRank } from '../../../src/xfrm/selectors.js';

const text = (p: { addr: Uint8Array; len: number }) => `${p.addr.join('.')}/${p.len}`;

describe('selectors', () => {
  it('parses CIDR, range and the [proto/port] suffix of tsToString()', () => {
    expect(parseTs('10.0.0.0/24')).toMatchObject({ protocol: 0, range: { family: 4, prefix: 24 } });
    expect(parseTs('0.0.0.0/0[tcp/80]')).toMatchObject({ protocol: 6, ports: [80, 80] });
    expect(parseTs('::/0[udp/1000-2000]')).toMatchObject({ protocol: 17, ports: [1000, 2000], range: { family: 6 } });
    expect(parseTs('10.0.0.1-10.0.0.9[17]')).toMatchObject({ protocol: 17 });
    expect(parseTs('10.0.0.1[/53]')).toMatchObject({ protocol: 0, ports: [53, 53] });
    expect(() => parseTs('10.0.0.0/24[tcp/opaque]')).toThrow(SelectorError);
    expect(() => parseTs('nonsense')).toThrow(SelectorError);
  });

  it('splits an address range into the minimal prefixes', () => {
    expect(rangeToPrefixes(parseAddrRange('10.0.0.1-10.0.0.9')!).map(text)).toEqual(['10.0.0.1/32', '10.0.0.2/31', '10.0.0.4/30', '10.0.0.8/31']);
    expect(rangeToPrefixes(parseAddrRange('0.0.0.0/0')!).map(text)).toEqual(['0.0.0.0/0']);
    expect(rangeToPrefixes(parseAddrRange('255.255.255.254-255.255.255.255')!).map(text)).toEqual(['255.255.255.254/31']);
    expect(rangeToPrefixes(parseAddrRange('::-ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff')!)).toHaveLength(1);
  });

  it('splits a port range into port/mask pairs', () => {
    expect(portRangeToMasks(80, 80)).toEqual([{ port: 80, mask: 0xffff }]);
    expect(portRangeToMasks(0, 0xffff)).toEqual([{ port: 0, mask: 0 }]);
    expect(portRangeToMasks(1024, 2047)).toEqual([{ port: 1024, mask: 0xfc00 }]);
    expect(portRangeToMasks(1000, 1003)).toEqual([{ port: 1000, mask: 0xfffc }]);
    expect(portRangeToMasks(6, 9)).toEqual([
      { port: 6, mask: 0xfffe },
      { port: 8, mask: 0xfffe },
    ]);
  });

  it('orients selectors per direction: out is local -> remote, in and fwd remote -> local', () => {
    const sel = { local: '0.0.0.0/0', remote: '198.18.0.5/32', protocol: 0 };
    const [out] = expandSelector(sel, 'out');
    const [fwd] = expandSelector(sel, 'fwd');
    expect([text(out!.src), text(out!.dst)]).toEqual(['0.0.0.0/0', '198.18.0.5/32']);
    expect([text(fwd!.src), text(fwd!.dst)]).toEqual(['198.18.0.5/32', '0.0.0.0/0']);
    const [tcp] = expandSelector({ local: '10.1.0.0/16[tcp/443]', remote: '198.18.0.5/32[tcp]', protocol: 6 }, 'in');
    expect(tcp).toMatchObject({ protocol: 6, sport: { port: 0, mask: 0 }, dport: { port: 443, mask: 0xffff } });
  });

  it('maps ICMP type/code to sport/dport, and ranks specific selectors first', () => {
    const [icmp] = expandSelector({ local: '0.0.0.0/0[icmp/2048]', remote: '198.18.0.5/32', protocol: 1 }, 'out');
    expect(icmp).toMatchObject({ sport: { port: 8, mask: 0xffff }, dport: { port: 0, mask: 0xffff } });
    const rw = expandSelector({ local: '0.0.0.0/0', remote: '198.18.0.5/32', protocol: 0 }, 'out')[0]!;
    const lan = expandSelector({ local: '10.1.0.0/16', remote: '198.18.0.5/32', protocol: 0 }, 'out')[0]!;
    const web = expandSelector({ local: '10.1.0.0/16[tcp/443]', remote: '198.18.0.5/32', protocol: 6 }, 'out')[0]!;
    expect(selectorRank(rw)).toBe(((64 - 32) << 2) + 3);
    expect(selectorRank(web)).toBeLessThan(selectorRank(lan));
    expect(selectorRank(lan)).toBeLessThan(selectorRank(rw));
  });

  it('refuses mixed families and expansions beyond the limit', () => {
    expect(() => expandSelector({ local: '::/0', remote: '198.18.0.5/32', protocol: 0 }, 'out')).toThrow(/families/);
    expect(() => expandSelector({ local: '10.0.0.1-10.0.0.254[tcp/1-65000]', remote: '198.18.0.5/32', protocol: 6 }, 'out')).toThrow(/limit/);
  });
});
