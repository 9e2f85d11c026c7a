// Address text/bytes conversions and CIDR/range specs.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatIp, formatRange, parseAddrRange, parseIp } from '../../../src/net/address.js';

describe('address', () => {
  it.each([
    ['2001:DB8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
  ])('%s → %s', (i, o) => expect(formatIp(parseIp(i) as Uint8Array)).toBe(o));

  it.each(['1.2.3', '1.2.3.256', 'fe80::1%eth0', '::g', 'x'])('rejects %s', (t) => expect(parseIp(t)).toBeUndefined());

  it('v6 text round-trips through bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (b) => {
        expect(parseIp(formatIp(b))).toEqual(b);
      }),
    );
  });

  it('ranges', () => {
    expect(formatRange(parseAddrRange('10.1.2.3/16') as never)).toBe('10.1.0.0/16');
    expect(formatRange(parseAddrRange('10.0.0.9-10.0.0.1') ?? ({ family: 4, start: 0n, end: 0n } as never))).toBe('0.0.0.0');
    expect(parseAddrRange('10.0.0.9-10.0.0.1')).toBeUndefined();
    expect(parseAddrRange('10.0.0.1-::1')).toBeUndefined();
    expect(parseAddrRange('::/129')).toBeUndefined();
  });
});
