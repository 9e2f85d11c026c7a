// Value formats of swanctl.conf options.
import { describe, expect, it } from 'vitest';
import { parseBool, parseBytes, parseDuration, parseList, parseSecret, parseUint } from '../../../src/config/values.js';

describe('values', () => {
  it.each([
    ['30', 30], ['30s', 30], ['10m', 600], ['4h', 14400], ['1d', 86400], ['2 H', 7200], ['0x10', 16],
  ])('duration %s = %d s', (v, n) => expect(parseDuration(v)).toBe(n));

  it.each(['', '1.5h', '10 minutes', 'h', '-1s'])('bad duration %j', (v) => expect(() => parseDuration(v)).toThrow());

  it.each([
    ['100', 100], ['1k', 1024], ['2M', 2 * 1024 ** 2], ['1g', 1024 ** 3],
  ])('bytes %s', (v, n) => expect(parseBytes(v)).toBe(n));

  it('booleans as strongSwan spells them', () => {
    for (const t of ['yes', 'true', 'Enabled', '1']) expect(parseBool(t)).toBe(true);
    for (const f of ['no', 'FALSE', 'disabled', '0']) expect(parseBool(f)).toBe(false);
    expect(() => parseBool('y')).toThrow(/boolean/);
  });

  it('numbers, lists, secrets', () => {
    expect(parseUint('0x1F')).toBe(31);
    expect(() => parseUint('70000', 65535)).toThrow();
    expect(parseList(' a, b ,,c ')).toEqual(['a', 'b', 'c']);
    expect(Buffer.from(parseSecret('0x0102ff')).toString('hex')).toBe('0102ff');
    expect(new TextDecoder().decode(parseSecret('0sSGVsbG8='))).toBe('Hello');
    expect(new TextDecoder().decode(parseSecret('plain text'))).toBe('plain text');
    expect(() => parseSecret('0s!!')).toThrow();
  });
});
