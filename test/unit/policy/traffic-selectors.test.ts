// Traffic selector narrowing (RFC 7296 §2.9) as a responder.
import { describe, expect, it } from 'vitest';
import type { TrafficSelector } from '../../../src/ike/codec/payload.js';
import { parseIp } from '../../../src/net/address.js';
import { narrowTrafficSelectors, parseTsSpec, tsFromCidr, tsToString, type NarrowInput } from '../../../src/policy/traffic-selectors.js';

const ip = (t: string): Uint8Array => parseIp(t) as Uint8Array;
const strs = (l: TrafficSelector[]): string[] => l.map(tsToString);

function narrow(over: Partial<NarrowInput>) {
  return narrowTrafficSelectors({
    tsi: [tsFromCidr('0.0.0.0/0'), tsFromCidr('::/0')],
    tsr: [tsFromCidr('0.0.0.0/0'), tsFromCidr('::/0')],
    localTs: ['0.0.0.0/0', '::/0'],
    remoteTs: ['dynamic'],
    localDynamic: [ip('192.0.2.1')],
    remoteDynamic: [ip('10.42.0.7')],
    ...over,
  });
}

describe('tsToString / parseTsSpec', () => {
  it.each([
    ['10.0.0.0/24', '10.0.0.0/24'],
    ['10.0.0.1-10.0.0.9', '10.0.0.1-10.0.0.9'],
    ['10.0.0.0/24[tcp/443]', '10.0.0.0/24[tcp/443]'],
    ['::/0[udp]', '::/0[udp]'],
    ['10.0.0.5[/53]', '10.0.0.5/32[/53]'],
    ['2001:db8::/64[tcp/1000-2000]', '2001:db8::/64[tcp/1000-2000]'],
    ['0.0.0.0/0[udp/opaque]', '0.0.0.0/0[udp/opaque]'],
  ])('%s', (spec, out) => {
    const p = parseTsSpec(spec);
    expect(p.dynamic).toBe(false);
    const ts = tsFromCidr(spec.replace(/\[.*$/, ''), p.ipProtocol, p.startPort, p.endPort);
    expect(tsToString(ts)).toBe(out);
  });

  it('dynamic with protocol', () => {
    expect(parseTsSpec('dynamic[tcp/https]')).toEqual({ dynamic: true, ipProtocol: 6, startPort: 443, endPort: 443 });
  });

  it.each(['10.0.0.0/33', 'dynamic[foo]', '10.0.0.0/8[tcp/99999]', 'nope'])('rejects %s', (t) => expect(() => parseTsSpec(t)).toThrow());
});

describe('narrowTrafficSelectors', () => {
  it('Windows asks 0.0.0.0/0 + ::/0 with only a v4 lease → v4 only', () => {
    const r = narrow({});
    expect(r.ok && { tsi: strs(r.tsi), tsr: strs(r.tsr) }).toEqual({ tsi: ['10.42.0.7/32'], tsr: ['0.0.0.0/0'] });
  });

  it('... and with a v6 lease as well → both families', () => {
    const r = narrow({ remoteDynamic: [ip('10.42.0.7'), ip('fd42:1::7')] });
    expect(r.ok && { tsi: strs(r.tsi), tsr: strs(r.tsr) }).toEqual({ tsi: ['10.42.0.7/32', 'fd42:1::7/128'], tsr: ['0.0.0.0/0', '::/0'] });
  });

  it('a supernet TSr is narrowed to the configured subnets', () => {
    const r = narrow({ localTs: ['10.1.0.0/16', '192.168.5.0/24'] });
    expect(r.ok && strs(r.tsr)).toEqual(['10.1.0.0/16', '192.168.5.0/24']);
  });

  it('re-narrowing a supernet proposal in a CREATE_CHILD_SA gives the same answer', () => {
    const first = narrow({ localTs: ['10.1.0.0/16'] });
    if (!first.ok) throw new Error(first.reason);
    const again = narrow({ tsi: first.tsi, tsr: first.tsr, localTs: ['10.1.0.0/16'] });
    expect(again.ok && strs(again.tsr)).toEqual(['10.1.0.0/16']);
    expect(again.ok && strs(again.tsi)).toEqual(['10.42.0.7/32']);
  });

  it('a narrower proposal stays as proposed', () => {
    const r = narrow({ tsr: [tsFromCidr('10.1.2.0/24')], localTs: ['10.1.0.0/16'] });
    expect(r.ok && strs(r.tsr)).toEqual(['10.1.2.0/24']);
  });

  it('the first specific pair is a hint that wider results absorb', () => {
    const r = narrow({
      tsi: [tsFromCidr('10.42.0.7/32', 6, 40000, 40000), tsFromCidr('0.0.0.0/0')],
      tsr: [tsFromCidr('10.1.2.3/32', 6, 443, 443), tsFromCidr('0.0.0.0/0')],
      localTs: ['10.1.0.0/16'],
    });
    expect(r.ok && { tsi: strs(r.tsi), tsr: strs(r.tsr) }).toEqual({ tsi: ['10.42.0.7/32'], tsr: ['10.1.0.0/16'] });
  });

  it('protocol and port narrowing', () => {
    const r = narrow({ tsr: [tsFromCidr('0.0.0.0/0', 6, 0, 65535)], localTs: ['10.1.0.0/16[tcp/1000-2000]', '10.2.0.0/16[udp]'] });
    expect(r.ok && strs(r.tsr)).toEqual(['10.1.0.0/16[tcp/1000-2000]']);
  });

  it('dynamic local_ts is our outer address', () => {
    const r = narrow({ localTs: ['dynamic'] });
    expect(r.ok && strs(r.tsr)).toEqual(['192.0.2.1/32']);
  });

  it('a TSi outside the lease fails (TS_UNACCEPTABLE)', () => {
    const r = narrow({ tsi: [tsFromCidr('10.99.0.1/32')] });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('remote_ts');
  });

  it('a TSr outside local_ts fails', () => {
    const r = narrow({ tsr: [tsFromCidr('172.16.0.0/12')], localTs: ['10.0.0.0/8'] });
    expect(!r.ok && r.reason).toContain('local_ts');
  });

  it('families that do not meet fail', () => {
    const r = narrow({ tsi: [tsFromCidr('::/0')], remoteDynamic: [ip('fd42:1::7')], localTs: ['10.0.0.0/8'] });
    expect(r.ok).toBe(false);
  });

  it('OPAQUE ports survive only against any-port selectors', () => {
    const r = narrow({ tsr: [tsFromCidr('0.0.0.0/0', 17, 0xffff, 0)], localTs: ['10.0.0.0/8[udp/53]'] });
    expect(r.ok).toBe(false);
    const r2 = narrow({ tsr: [tsFromCidr('0.0.0.0/0', 17, 0xffff, 0)], localTs: ['10.0.0.0/8'] });
    expect(r2.ok && strs(r2.tsr)).toEqual(['10.0.0.0/8[udp/opaque]']);
  });
});
