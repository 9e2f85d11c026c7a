// Virtual IP pools: never the network address (field facts §2.1.4), identity-sticky leases,
// exhaustion, lazily allocated large IPv6 pools.
import { describe, expect, it } from 'vitest';
import { AddressPool, PoolSet } from '../../../src/policy/pool.js';
import { formatIp, parseIp } from '../../../src/net/address.js';

const s = (b: Uint8Array | undefined): string | undefined => (b ? formatIp(b) : undefined);

describe('AddressPool', () => {
  it('IPv4 CIDR skips network and broadcast', () => {
    const p = new AddressPool('p', '10.3.0.0/30');
    expect(p.size).toBe(2n);
    expect(s(p.acquire('a'))).toBe('10.3.0.1');
    expect(s(p.acquire('b'))).toBe('10.3.0.2');
    expect(p.acquire('c')).toBeUndefined(); // exhausted: .0 and .3 are never handed out
  });

  it('IPv6 CIDR never hands out prefix::', () => {
    const p = new AddressPool('p6', 'fd42:1::/126');
    const got = [p.acquire('a'), p.acquire('b'), p.acquire('c'), p.acquire('d')].map(s);
    expect(got).toEqual(['fd42:1::1', 'fd42:1::2', 'fd42:1::3', undefined]);
  });

  it('IPv6 ranges skip addresses with a zero interface id', () => {
    const p = new AddressPool('r6', '2001:db8:0:1::-2001:db8:0:1::2');
    expect([s(p.acquire('a')), s(p.acquire('b')), s(p.acquire('c'))]).toEqual(['2001:db8:0:1::1', '2001:db8:0:1::2', undefined]);
  });

  it('IPv4 ranges are used as written', () => {
    const p = new AddressPool('r', '10.0.0.5-10.0.0.6');
    expect([s(p.acquire('a')), s(p.acquire('b')), s(p.acquire('c'))]).toEqual(['10.0.0.5', '10.0.0.6', undefined]);
  });

  it('two clients get two addresses; the same identity gets its address back', () => {
    const p = new AddressPool('p', '10.3.0.0/24');
    const a = s(p.acquire('alice'));
    const b = s(p.acquire('bob'));
    expect(a).not.toBe(b);
    expect(p.release('alice')).toBe(true);
    expect(s(p.acquire('carol'))).toBe('10.3.0.3'); // alice's offline lease stays hers
    expect(s(p.acquire('alice'))).toBe(a);
    expect(p.list()).toEqual([
      { pool: 'p', address: '10.3.0.1', identity: 'alice', online: true },
      { pool: 'p', address: '10.3.0.2', identity: 'bob', online: true },
      { pool: 'p', address: '10.3.0.3', identity: 'carol', online: true },
    ]);
  });

  it('a requested address of the same identity is honoured (reauthentication)', () => {
    const p = new AddressPool('p', '10.3.0.0/24');
    const first = p.acquire('alice');
    const again = p.acquire('alice', first);
    expect(s(again)).toBe(s(first));
    // Someone else asking for alice's address does not get it.
    expect(s(p.acquire('mallory', '10.3.0.1'))).not.toBe('10.3.0.1');
  });

  it('when fresh addresses run out, the oldest offline lease is reassigned', () => {
    const p = new AddressPool('p', '10.0.0.1-10.0.0.2');
    p.acquire('a');
    p.acquire('b');
    p.release('b');
    p.release('a');
    expect(s(p.acquire('c'))).toBe('10.0.0.2'); // b released first
    expect(s(p.acquire('d'))).toBe('10.0.0.1');
    expect(p.acquire('e')).toBeUndefined();
    expect(p.list().map((l) => l.identity)).toEqual(['d', 'c']);
  });

  it('a /64 costs nothing until used', () => {
    const p = new AddressPool('big', '2001:db8:1:2::/64');
    expect(p.size).toBe((1n << 64n) - 1n);
    const before = process.memoryUsage().heapUsed;
    const addrs = new Set<string>();
    for (let i = 0; i < 1000; i++) addrs.add(s(p.acquire(`id${i}`)) as string);
    expect(addrs.size).toBe(1000);
    expect(addrs.has('2001:db8:1:2::')).toBe(false);
    expect(addrs.has('2001:db8:1:2::1')).toBe(true);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(50 * 1024 * 1024);
  });
});

describe('PoolSet', () => {
  it('picks the pool of the requested family and the identity’s previous address', () => {
    const ps = new PoolSet([
      { name: 'v4', addrs: '10.1.0.0/24', dns: [], nbns: [], where: 'x:1' },
      { name: 'v6', addrs: 'fd00::/120', dns: [], nbns: [], where: 'x:2' },
    ]);
    const a4 = ps.acquire(['v4', 'v6'], 4, 'alice');
    const a6 = ps.acquire(['v4', 'v6'], 6, 'alice');
    expect(a4 && { pool: a4.pool, a: s(a4.address) }).toEqual({ pool: 'v4', a: '10.1.0.1' });
    expect(a6 && { pool: a6.pool, a: s(a6.address) }).toEqual({ pool: 'v6', a: 'fd00::1' });
    expect(ps.acquire(['v4'], 6, 'alice')).toBeUndefined();
    expect(ps.release('v4', 'alice', parseIp('10.1.0.1') as Uint8Array)).toBe(true);
    expect(ps.list().find((l) => l.address === '10.1.0.1')?.online).toBe(false);
  });
});
