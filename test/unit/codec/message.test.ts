// Whole messages (RFC 7296 §3.1): the header, a realistic Windows IKE_SA_INIT request, SK
// and SKF messages, and the length checks between header and datagram.
import { describe, expect, it } from 'vitest';
import { ExchangeType, HeaderFlag, NotifyType, PayloadType } from '../../../src/ike/constants.js';
import { DecodeError } from '../../../src/ike/errors.js';
import { decodeHeader, encodeHeader, isInitiator, isResponse } from '../../../src/ike/codec/header.js';
import { decodeMessage, encodeMessage, kindOfType, payloadTypeOf } from '../../../src/ike/codec/message.js';
import type { Payload, PayloadOf } from '../../../src/ike/codec/payload.js';
import { Writer } from '../../../src/ike/codec/writer.js';
import {
  IKE_AUTH_SK,
  IKE_AUTH_SKF,
  WINDOWS_IKE_SA_INIT,
  WINDOWS_ISPI,
  WINDOWS_KE_DATA,
  WINDOWS_NATD_D,
  WINDOWS_NATD_S,
  WINDOWS_NONCE,
  WINDOWS_VIDS,
  cat,
  hex,
} from './fixtures.js';

const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('IKE header (§3.1)', () => {
  it('splits every field', () => {
    const h = decodeHeader(IKE_AUTH_SK);
    expect(toHex(h.ispi)).toBe(toHex(WINDOWS_ISPI));
    expect(toHex(h.rspi)).toBe('c0ffee0011223344');
    expect(h).toMatchObject({
      nextPayload: PayloadType.SK,
      majorVersion: 2,
      minorVersion: 0,
      exchange: ExchangeType.IKE_AUTH,
      flags: HeaderFlag.INITIATOR,
      messageId: 1,
      length: 92,
    });
    expect(isInitiator(h)).toBe(true);
    expect(isResponse(h)).toBe(false);
  });

  it('does not judge the version and keeps unknown flag bits', () => {
    const v1 = IKE_AUTH_SK.slice(0, 28);
    v1[17] = 0x10; // IKEv1
    v1[19] = 0x20 | 0x08 | 0x01; // Response, Initiator, one unknown bit
    const h = decodeHeader(v1);
    expect(h.majorVersion).toBe(1);
    expect(h.flags).toBe(0x29);
    expect(isResponse(h)).toBe(true);
  });

  it('throws DecodeError below 28 bytes', () => {
    expect(() => decodeHeader(new Uint8Array(27))).toThrow(DecodeError);
  });

  it('encodes what it decodes', () => {
    const h = decodeHeader(WINDOWS_IKE_SA_INIT);
    const w = new Writer();
    encodeHeader(w, h);
    expect(toHex(w.finish())).toBe(toHex(WINDOWS_IKE_SA_INIT.subarray(0, 28)));
  });

  it('returns SPIs that do not alias the datagram', () => {
    const copy = IKE_AUTH_SK.slice();
    const h = decodeHeader(copy);
    copy.fill(0);
    expect(toHex(h.rspi)).toBe('c0ffee0011223344');
  });
});

describe('Windows-like IKE_SA_INIT request', () => {
  const { header, payloads } = decodeMessage(WINDOWS_IKE_SA_INIT);

  it('has the Windows payload sequence', () => {
    expect(header).toMatchObject({ exchange: ExchangeType.IKE_SA_INIT, messageId: 0, length: 484 });
    expect(toHex(header.rspi)).toBe('0000000000000000');
    expect(payloads.map((p) => p.kind)).toEqual([
      'sa', 'ke', 'nonce', 'notify', 'notify', 'notify', 'vendor', 'vendor', 'vendor', 'vendor',
    ]);
  });

  it('decodes the proposals with their key lengths', () => {
    const sa = payloads[0] as PayloadOf<'sa'>;
    expect(sa.proposals.map((p) => p.num)).toEqual([1, 2, 3]);
    const summary = sa.proposals.map((p) =>
      p.transforms.map((t) => `${t.type}:${t.id}${t.attributes.map((a) => `/${a.type}=${String(a.value)}`).join('')}`),
    );
    expect(summary).toEqual([
      ['1:12/14=256', '3:2', '2:2', '4:2'],
      ['1:12/14=128', '3:12', '2:5', '4:2'],
      ['1:3', '3:2', '2:2', '4:2'],
    ]);
    expect(sa.proposals.every((p) => p.protocol === 1 && p.spi.length === 0)).toBe(true);
  });

  it('decodes KE, nonce, NAT detection, fragmentation support and vendor IDs', () => {
    const ke = payloads[1] as PayloadOf<'ke'>;
    expect(ke.group).toBe(2);
    expect(toHex(ke.data)).toBe(toHex(WINDOWS_KE_DATA));
    expect(toHex((payloads[2] as PayloadOf<'nonce'>).nonce)).toBe(toHex(WINDOWS_NONCE));
    const notifies = payloads.slice(3, 6) as PayloadOf<'notify'>[];
    expect(notifies.map((n) => n.notify)).toEqual([
      NotifyType.NAT_DETECTION_SOURCE_IP,
      NotifyType.NAT_DETECTION_DESTINATION_IP,
      NotifyType.IKEV2_FRAGMENTATION_SUPPORTED,
    ]);
    expect(toHex(notifies[0]!.data)).toBe(toHex(WINDOWS_NATD_S));
    expect(toHex(notifies[1]!.data)).toBe(toHex(WINDOWS_NATD_D));
    expect(notifies[2]!.data).toHaveLength(0);
    const vids = (payloads.slice(6) as PayloadOf<'vendor'>[]).map((v) => toHex(v.data));
    expect(vids).toEqual(Object.values(WINDOWS_VIDS).map(toHex));
  });

  it('re-encodes byte for byte', () => {
    const { nextPayload: _n, length: _l, ...h } = header;
    expect(toHex(encodeMessage(h, payloads))).toBe(toHex(WINDOWS_IKE_SA_INIT));
  });
});

describe('encrypted messages', () => {
  it('stops at SK and keeps its body opaque', () => {
    const { payloads } = decodeMessage(IKE_AUTH_SK);
    expect(payloads).toHaveLength(1);
    const sk = payloads[0] as PayloadOf<'sk'>;
    expect(sk.firstInner).toBe(PayloadType.IDi);
    expect(sk.body).toHaveLength(60);
  });

  it('decodes an SKF fragment', () => {
    const { payloads } = decodeMessage(IKE_AUTH_SKF);
    expect(payloads[0]).toMatchObject({ kind: 'skf', firstInner: 35, fragmentNumber: 1, totalFragments: 12 });
  });

  it('round-trips both', () => {
    for (const m of [IKE_AUTH_SK, IKE_AUTH_SKF]) {
      const { header, payloads } = decodeMessage(m);
      expect(toHex(encodeMessage(header, payloads))).toBe(toHex(m));
    }
  });
});

describe('length checks', () => {
  it('rejects a datagram longer than the header says', () => {
    const longer = cat(IKE_AUTH_SK, hex`00`);
    expect(() => decodeMessage(longer)).toThrow(/length field says 92, datagram has 93 bytes/);
  });

  it('rejects a truncated datagram', () => {
    const shorter = IKE_AUTH_SK.subarray(0, IKE_AUTH_SK.length - 1);
    expect(() => decodeMessage(shorter)).toThrow(DecodeError);
  });

  it('rejects a payload overrunning the message even when header length matches', () => {
    const bad = WINDOWS_IKE_SA_INIT.slice();
    bad[30] = 0x0f; // SA payload length 0x0f84 = 3972: runs past the message
    expect(() => decodeMessage(bad)).toThrow(/SA payload needs 3968 bytes/);
    const inner = WINDOWS_IKE_SA_INIT.slice();
    inner[31] = 0xff; // SA payload length 255: inside the message, but proposals end at 132
    expect(() => decodeMessage(inner)).toThrow(/SA payload: 123 trailing bytes/);
  });

  it('rejects a chain that ends before the message does', () => {
    const bad = WINDOWS_IKE_SA_INIT.slice();
    bad[28 + 132 + 136 + 36 + 28 + 28 + 8 + 24 + 20] = 0; // third V says "no next payload"
    expect(() => decodeMessage(bad)).toThrow(/24 trailing bytes/);
  });
});

describe('unknown payloads in messages', () => {
  const header = {
    ispi: WINDOWS_ISPI,
    rspi: new Uint8Array(8),
    majorVersion: 2,
    minorVersion: 0,
    exchange: ExchangeType.INFORMATIONAL,
    flags: 0,
    messageId: 7,
  };

  it('are kept in the chain, critical or not', () => {
    const payloads: Payload[] = [
      { kind: 'unknown', critical: false, type: 49, body: hex`0102` },
      { kind: 'notify', critical: false, protocol: 0, spi: new Uint8Array(0), notify: 16384, data: new Uint8Array(0) },
      { kind: 'unknown', critical: true, type: 130, body: new Uint8Array(0) },
    ];
    const bytes = encodeMessage(header, payloads);
    expect(bytes[16]).toBe(49); // first payload type in the header
    const back = decodeMessage(bytes);
    expect(back.payloads).toEqual(payloads);
  });

  it('cannot be encoded with type 0', () => {
    expect(() => encodeMessage(header, [{ kind: 'unknown', critical: false, type: 0, body: new Uint8Array(0) }])).toThrow(
      RangeError,
    );
  });
});

describe('type/kind maps', () => {
  it('map both ways', () => {
    expect(kindOfType(PayloadType.IDr)).toBe('idr');
    expect(kindOfType(PayloadType.SKF)).toBe('skf');
    expect(kindOfType(49)).toBe('unknown');
    expect(kindOfType(0)).toBe('unknown');
    expect(payloadTypeOf({ kind: 'tsr', critical: false, selectors: [] })).toBe(PayloadType.TSr);
    expect(payloadTypeOf({ kind: 'unknown', critical: false, type: 77, body: new Uint8Array(0) })).toBe(77);
  });
});
