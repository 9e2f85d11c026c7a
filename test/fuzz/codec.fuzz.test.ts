// Property and mutation fuzzing of the IKE codec (architecture §12.17):
//  (a) decoding arbitrary or mutated datagrams throws nothing but DecodeError, and whatever
//      does decode can be validated, rule-checked and described without a stray error type;
//  (b) for generated payload lists of every kind, decode(encode(x)) equals x and
//      encode(decode(bytes)) reproduces bytes.
// Run counts are fixed so the whole file stays within a few seconds.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PayloadType } from '../../src/ike/constants.js';
import { DecodeError, IkeError } from '../../src/ike/errors.js';
import { describeMessage } from '../../src/ike/codec/describe.js';
import type { IkeHeader } from '../../src/ike/codec/header.js';
import {
  decodeMessage,
  decodePayloads,
  encodeMessage,
  encodePayloads,
  kindOfType,
  payloadTypeOf,
  validatePayloads,
} from '../../src/ike/codec/message.js';
import type { Payload, Proposal, TrafficSelector } from '../../src/ike/codec/payload.js';
import { Reader } from '../../src/ike/codec/reader.js';
import { checkRules, firstCriticalUnknown } from '../../src/ike/codec/rules.js';
import { IKE_AUTH_SK, IKE_AUTH_SKF, WINDOWS_IKE_SA_INIT, pattern } from '../unit/codec/fixtures.js';

// ---------------------------------------------------------------------------------------
// Arbitraries: one per payload kind, producing only values the encoder can represent.

const bytes = (maxLength: number) => fc.uint8Array({ maxLength });
const u8 = fc.integer({ min: 0, max: 0xff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const critical = fc.boolean();

const attribute = fc.record({
  type: fc.integer({ min: 0, max: 0x7fff }),
  value: fc.oneof(u16, bytes(8)),
});
const transform = fc.record({ type: u8, id: u16, attributes: fc.array(attribute, { maxLength: 3 }) });
const proposal: fc.Arbitrary<Proposal> = fc.record({
  num: u8,
  protocol: u8,
  spi: fc.constantFrom(0, 4, 8).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
  transforms: fc.array(transform, { maxLength: 5 }),
});
const selector: fc.Arbitrary<TrafficSelector> = fc.constantFrom(4, 16).chain((n) => {
  const addr = fc.uint8Array({ minLength: n, maxLength: n });
  return fc.record({ tsType: fc.constant(n === 4 ? 7 : 8), ipProtocol: u8, startPort: u16, endPort: u16, startAddr: addr, endAddr: addr });
});
const deleteBody = fc.integer({ min: 0, max: 16 }).chain((spiSize) =>
  fc.record({
    spiSize: fc.constant(spiSize),
    spis: spiSize === 0 ? fc.constant<Uint8Array[]>([]) : fc.array(fc.uint8Array({ minLength: spiSize, maxLength: spiSize }), { maxLength: 5 }),
  }),
);
const KNOWN_TYPES = new Set(Object.values(PayloadType));
const unknownType = fc.integer({ min: 1, max: 0xff }).filter((t) => !KNOWN_TYPES.has(t as never));

const clearPayload: fc.Arbitrary<Payload> = fc.oneof(
  fc.record({ kind: fc.constant('sa' as const), critical, proposals: fc.array(proposal, { minLength: 1, maxLength: 4 }) }),
  fc.record({ kind: fc.constant('ke' as const), critical, group: u16, data: bytes(64) }),
  fc.record({ kind: fc.constantFrom('idi' as const, 'idr' as const), critical, idType: u8, data: bytes(32) }),
  fc.record({ kind: fc.constantFrom('cert' as const, 'certreq' as const), critical, encoding: u8, data: bytes(64) }),
  fc.record({ kind: fc.constant('auth' as const), critical, method: u8, data: bytes(48) }),
  fc.record({ kind: fc.constant('nonce' as const), critical, nonce: bytes(64) }),
  fc.record({ kind: fc.constant('notify' as const), critical, protocol: u8, spi: bytes(8), notify: u16, data: bytes(32) }),
  deleteBody.chain((d) => fc.record({ kind: fc.constant('delete' as const), critical, protocol: u8, spiSize: fc.constant(d.spiSize), spis: fc.constant(d.spis) })),
  fc.record({ kind: fc.constant('vendor' as const), critical, data: bytes(24) }),
  fc.record({ kind: fc.constantFrom('tsi' as const, 'tsr' as const), critical, selectors: fc.array(selector, { maxLength: 4 }) }),
  fc.record({
    kind: fc.constant('cp' as const),
    critical,
    cfgType: u8,
    attributes: fc.array(fc.record({ type: fc.integer({ min: 0, max: 0x7fff }), value: bytes(20) }), { maxLength: 6 }),
  }),
  fc.record({ kind: fc.constant('eap' as const), critical, data: bytes(40) }),
  fc.record({ kind: fc.constant('unknown' as const), critical, type: unknownType, body: bytes(16) }),
);
const envelope: fc.Arbitrary<Payload> = fc.oneof(
  fc.record({ kind: fc.constant('sk' as const), critical, firstInner: u8, body: bytes(80) }),
  fc.record({ kind: fc.constant('skf' as const), critical, firstInner: u8, fragmentNumber: u16, totalFragments: u16, body: bytes(80) }),
);
const payloadList: fc.Arbitrary<Payload[]> = fc
  .tuple(fc.array(clearPayload, { maxLength: 8 }), fc.option(envelope, { nil: undefined }))
  .map(([clear, env]) => (env ? [...clear, env] : clear));

const header: fc.Arbitrary<Omit<IkeHeader, 'nextPayload' | 'length'>> = fc.record({
  ispi: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  rspi: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  majorVersion: fc.integer({ min: 0, max: 15 }),
  minorVersion: fc.integer({ min: 0, max: 15 }),
  exchange: u8,
  flags: u8,
  messageId: fc.integer({ min: 0, max: 0xffffffff }),
});

// ---------------------------------------------------------------------------------------
// Seeds for mutation: the hand-built fixtures plus one message carrying every payload kind.

const none = new Uint8Array(0);
const EVERY_KIND: Payload[] = [
  {
    kind: 'sa',
    critical: false,
    proposals: [
      { num: 1, protocol: 3, spi: pattern(4), transforms: [{ type: 1, id: 12, attributes: [{ type: 14, value: 256 }, { type: 17, value: pattern(3) }] }] },
      { num: 2, protocol: 1, spi: none, transforms: [{ type: 4, id: 19, attributes: [] }] },
    ],
  },
  { kind: 'ke', critical: false, group: 19, data: pattern(64) },
  { kind: 'nonce', critical: false, nonce: pattern(32) },
  { kind: 'idi', critical: false, idType: 1, data: pattern(4) },
  { kind: 'idr', critical: false, idType: 2, data: pattern(11) },
  { kind: 'cert', critical: false, encoding: 4, data: pattern(40) },
  { kind: 'certreq', critical: false, encoding: 4, data: pattern(40) },
  { kind: 'auth', critical: false, method: 2, data: pattern(20) },
  { kind: 'notify', critical: false, protocol: 3, spi: pattern(4), notify: 16393, data: none },
  { kind: 'delete', critical: false, protocol: 3, spiSize: 4, spis: [pattern(4), pattern(4, 2)] },
  { kind: 'vendor', critical: false, data: pattern(16) },
  {
    kind: 'tsi',
    critical: false,
    selectors: [
      { tsType: 7, ipProtocol: 0, startPort: 0, endPort: 65535, startAddr: pattern(4), endAddr: pattern(4, 2) },
      { tsType: 8, ipProtocol: 17, startPort: 500, endPort: 500, startAddr: pattern(16), endAddr: pattern(16, 2) },
    ],
  },
  { kind: 'tsr', critical: false, selectors: [{ tsType: 7, ipProtocol: 6, startPort: 1, endPort: 2, startAddr: pattern(4), endAddr: pattern(4) }] },
  { kind: 'cp', critical: false, cfgType: 1, attributes: [{ type: 1, value: none }, { type: 23456, value: none }, { type: 3, value: pattern(4) }] },
  { kind: 'eap', critical: false, data: Uint8Array.of(2, 1, 0, 9, 1, 0x75, 0x73, 0x65, 0x72) },
  { kind: 'unknown', critical: true, type: 130, body: pattern(6) },
  { kind: 'sk', critical: false, firstInner: 39, body: pattern(48) },
];
const EVERY_KIND_MESSAGE = encodeMessage(
  { ispi: pattern(8), rspi: pattern(8, 2), majorVersion: 2, minorVersion: 0, exchange: 35, flags: 0x08, messageId: 1 },
  EVERY_KIND,
);
const SEEDS = [WINDOWS_IKE_SA_INIT, IKE_AUTH_SK, IKE_AUTH_SKF, EVERY_KIND_MESSAGE];

type Mutation =
  | { op: 'bit'; at: number; bit: number }
  | { op: 'byte'; at: number; value: number }
  | { op: 'truncate'; at: number }
  | { op: 'cut-front'; at: number }
  | { op: 'insert'; at: number; data: Uint8Array }
  | { op: 'length'; at: number; delta: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant('bit' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ op: fc.constant('byte' as const), at: fc.nat(), value: u8 }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ op: fc.constant('cut-front' as const), at: fc.integer({ min: 1, max: 64 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), data: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  // Nudge a 16-bit big-endian field: hits payload, proposal, transform and attribute lengths.
  fc.record({ op: fc.constant('length' as const), at: fc.nat(), delta: fc.integer({ min: -8, max: 8 }) }),
);

function mutate(seed: Uint8Array, ops: readonly Mutation[], fixLength: boolean): Uint8Array {
  let b = seed.slice();
  for (const m of ops) {
    if (b.length === 0) break;
    const at = m.op === 'cut-front' ? 0 : m.at % b.length;
    switch (m.op) {
      case 'bit':
        b[at] = b[at]! ^ (1 << m.bit);
        break;
      case 'byte':
        b[at] = m.value;
        break;
      case 'truncate':
        b = b.slice(0, at);
        break;
      case 'cut-front':
        b = b.slice(Math.min(m.at, b.length));
        break;
      case 'insert': {
        const out = new Uint8Array(b.length + m.data.length);
        out.set(b.subarray(0, at));
        out.set(m.data, at);
        out.set(b.subarray(at), at + m.data.length);
        b = out;
        break;
      }
      case 'length': {
        if (at + 1 >= b.length) break;
        const v = (((b[at]! << 8) | b[at + 1]!) + m.delta) & 0xffff;
        b[at] = v >>> 8;
        b[at + 1] = v & 0xff;
        break;
      }
    }
  }
  // Keeping the header length honest lets mutations reach the payload parsers.
  if (fixLength && b.length >= 28) new DataView(b.buffer, b.byteOffset).setUint32(24, b.length);
  return b;
}

/**
 * Decodes and then runs every later stage; only the documented error types may escape.
 * Returns whether the datagram decoded, so tests can check they reach the payload parsers.
 */
function decodeStrictly(datagram: Uint8Array): boolean {
  let decoded: ReturnType<typeof decodeMessage>;
  try {
    decoded = decodeMessage(datagram);
  } catch (e) {
    if (!(e instanceof DecodeError)) throw e;
    return false;
  }
  const { header: h, payloads } = decoded;
  expect(typeof describeMessage(h, payloads)).toBe('string');
  firstCriticalUnknown(payloads);
  for (const stage of [() => validatePayloads(payloads), () => checkRules(h.exchange, (h.flags & 0x20) !== 0, payloads, undefined)]) {
    try {
      stage();
    } catch (e) {
      if (!(e instanceof IkeError)) throw e;
    }
  }
  return true;
}

describe('decoding never throws anything but DecodeError', () => {
  it('on arbitrary bytes', () => {
    fc.assert(fc.property(bytes(600), (b) => void decodeStrictly(b)), { numRuns: 3000 });
  });

  it('on arbitrary payload chains behind a consistent header', () => {
    const datagram = fc.tuple(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(0, ...KNOWN_TYPES, 130), u8, bytes(400)).map(
      ([spis, next, exchange, body]) => {
        const b = new Uint8Array(28 + body.length);
        b.set(spis);
        const v = new DataView(b.buffer);
        v.setUint8(16, next);
        v.setUint8(17, 0x20);
        v.setUint8(18, exchange);
        v.setUint32(24, b.length);
        b.set(body, 28);
        return b;
      },
    );
    fc.assert(fc.property(datagram, (b) => void decodeStrictly(b)), { numRuns: 3000 });
  });

  it('on decodePayloads with any first type', () => {
    fc.assert(
      fc.property(u8, bytes(300), (first, body) => {
        try {
          decodePayloads(first, new Reader(body));
        } catch (e) {
          if (!(e instanceof DecodeError)) throw e;
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('on bit/byte flips, length nudges, insertions and truncations of valid messages', () => {
    for (const seed of SEEDS) expect(() => decodeMessage(seed)).not.toThrow();
    const mutant = fc
      .tuple(fc.constantFrom(...SEEDS), fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.boolean())
      .map(([seed, ops, fix]) => mutate(seed, ops, fix));
    let decoded = 0;
    let rejected = 0;
    fc.assert(
      fc.property(mutant, (b) => {
        if (decodeStrictly(b)) decoded++;
        else rejected++;
      }),
      { numRuns: 20000 },
    );
    // Both outcomes must be common, or the mutations never reach the payload parsers.
    expect(decoded).toBeGreaterThan(1000);
    expect(rejected).toBeGreaterThan(1000);
  });

  it('on every single truncation of every seed', () => {
    for (const seed of SEEDS) {
      for (let n = 0; n < seed.length; n++) {
        decodeStrictly(seed.subarray(0, n));
        decodeStrictly(mutate(seed.subarray(0, n), [], true));
      }
    }
  });
});

describe('encoding and decoding are inverse', () => {
  it('decode(encode(payloads)) equals the payloads and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(payloadList, (payloads) => {
        const { first, bytes: encoded } = encodePayloads(payloads);
        const decoded = decodePayloads(first, new Reader(encoded));
        expect(decoded).toEqual(payloads);
        expect(Buffer.from(encodePayloads(decoded).bytes).equals(Buffer.from(encoded))).toBe(true);
        for (const p of decoded) expect(kindOfType(payloadTypeOf(p))).toBe(p.kind);
      }),
      { numRuns: 1500 },
    );
  });

  it('holds for whole messages', () => {
    fc.assert(
      fc.property(header, payloadList, (h, payloads) => {
        const datagram = encodeMessage(h, payloads);
        const back = decodeMessage(datagram);
        expect(back.header).toMatchObject({ ...h, length: datagram.length });
        expect(back.payloads).toEqual(payloads);
        expect(Buffer.from(encodeMessage(back.header, back.payloads)).equals(Buffer.from(datagram))).toBe(true);
      }),
      { numRuns: 800 },
    );
  });
});
