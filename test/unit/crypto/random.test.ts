// Rng: the pooled generator never hands out the same bytes twice; seededRng is reproducible.
import { describe, expect, it } from 'vitest';
import { createPooledRng, seededRng, systemRng } from '../../../src/crypto/random.js';
import { toHex } from '../../../src/crypto/bytes.js';

describe('createPooledRng', () => {
  it('returns the requested lengths, including 0 and lengths larger than the pool share', () => {
    const rng = createPooledRng(256);
    for (const n of [0, 1, 8, 32, 64, 65, 300]) expect(rng.bytes(n).length).toBe(n);
  });

  it('never repeats a 16-byte slice across many calls and pool refills', () => {
    const rng = createPooledRng(256);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const hex = toHex(rng.bytes(16));
      expect(seen.has(hex)).toBe(false);
      seen.add(hex);
    }
  });

  it('hands out copies: mutating one result does not change the next', () => {
    const a = systemRng.bytes(32);
    const b = systemRng.bytes(32);
    a.fill(0);
    expect(b.some((x) => x !== 0)).toBe(true);
    expect(a.buffer).not.toBe(b.buffer);
  });

  it('rejects negative and fractional lengths', () => {
    expect(() => systemRng.bytes(-1)).toThrow(RangeError);
    expect(() => systemRng.bytes(1.5)).toThrow(RangeError);
  });
});

describe('seededRng (test only)', () => {
  it('is deterministic per seed and differs between seeds', () => {
    const a = seededRng(1).bytes(80);
    const b = seededRng(1).bytes(80);
    const c = seededRng(2).bytes(80);
    expect(toHex(a)).toBe(toHex(b));
    expect(toHex(a)).not.toBe(toHex(c));
  });

  it('produces the same stream regardless of how it is chunked', () => {
    const whole = seededRng('x').bytes(70);
    const r = seededRng('x');
    const parts = [r.bytes(5), r.bytes(40), r.bytes(25)];
    expect(toHex(Buffer.concat(parts))).toBe(toHex(whole));
  });
});
