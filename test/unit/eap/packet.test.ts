// EAP packet codec (src/eap/packet.ts), RFC 3748 §4: header layout, Length handling, the Type
// of Requests/Responses, Success/Failure without data, log names as strongSwan prints them.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EapError, decodeEap, describeEap, encodeEap } from '../../../src/eap/packet.js';
import { EapCode, EapType } from '../../../src/ike/constants.js';
import { fromHex, toHex, utf8 } from '../../../src/crypto/bytes.js';

describe('EAP packet codec (RFC 3748 §4)', () => {
  it('encodes and decodes a Request/Identity (Code 1, Type 1, no data)', () => {
    const bytes = encodeEap({ code: EapCode.REQUEST, identifier: 0x2a, type: EapType.IDENTITY, data: new Uint8Array(0) });
    expect(toHex(bytes)).toBe('012a000501');
    expect(decodeEap(bytes)).toEqual({ code: 1, identifier: 0x2a, type: 1, data: new Uint8Array(0) });
  });

  it('encodes and decodes a Response/Identity carrying the identity', () => {
    const bytes = encodeEap({ code: EapCode.RESPONSE, identifier: 7, type: EapType.IDENTITY, data: utf8('alice') });
    expect(toHex(bytes)).toBe(`0207000a01${toHex(utf8('alice'))}`);
    const p = decodeEap(bytes);
    expect(p.type).toBe(1);
    expect(new TextDecoder().decode(p.data)).toBe('alice');
  });

  it('Success and Failure are 4 octets (§4.2)', () => {
    expect(toHex(encodeEap({ code: EapCode.SUCCESS, identifier: 9, data: new Uint8Array(0) }))).toBe('03090004');
    expect(toHex(encodeEap({ code: EapCode.FAILURE, identifier: 9, data: new Uint8Array(0) }))).toBe('04090004');
    expect(decodeEap(fromHex('03090004'))).toEqual({ code: 3, identifier: 9, data: new Uint8Array(0) });
    expect(() => decodeEap(fromHex('0309000500'))).toThrow(EapError);
    expect(() => encodeEap({ code: EapCode.SUCCESS, identifier: 9, data: Uint8Array.of(1) })).toThrow(EapError);
  });

  it('ignores octets beyond Length (link-layer padding, §4) and rejects a Length beyond the data', () => {
    expect(decodeEap(fromHex('0207000601ffeeee')).data).toEqual(Uint8Array.of(0xff));
    expect(() => decodeEap(fromHex('0207000701ff'))).toThrow(EapError);
  });

  it('rejects short packets, Length < 4, unknown codes, and Request/Response without a Type', () => {
    for (const hex of ['', '02', '020700', '02070003', '05070004', '02070004', '01070004']) {
      expect(() => decodeEap(fromHex(hex)), hex).toThrow(EapError);
    }
  });

  it('refuses to encode out-of-range fields', () => {
    expect(() => encodeEap({ code: EapCode.REQUEST, identifier: 256, type: 1, data: new Uint8Array(0) })).toThrow(EapError);
    expect(() => encodeEap({ code: EapCode.REQUEST, identifier: 1, data: new Uint8Array(0) })).toThrow(EapError);
    expect(() => encodeEap({ code: 7, identifier: 1, data: new Uint8Array(0) })).toThrow(EapError);
    expect(() => encodeEap({ code: EapCode.REQUEST, identifier: 1, type: 1, data: new Uint8Array(0xffff) })).toThrow(EapError);
  });

  it('describes packets like strongSwan logs', () => {
    expect(describeEap({ code: 1, identifier: 0, type: 1, data: new Uint8Array(0) })).toBe('EAP/REQ/ID');
    expect(describeEap({ code: 2, identifier: 0, type: 26, data: new Uint8Array(0) })).toBe('EAP/RES/MSCHAPV2');
    expect(describeEap({ code: 2, identifier: 0, type: 3, data: new Uint8Array(0) })).toBe('EAP/RES/NAK');
    expect(describeEap({ code: 1, identifier: 0, type: 13, data: new Uint8Array(0) })).toBe('EAP/REQ/TLS');
    expect(describeEap({ code: 1, identifier: 0, type: 4, data: new Uint8Array(0) })).toBe('EAP/REQ/MD5');
    expect(describeEap({ code: 1, identifier: 0, type: 200, data: new Uint8Array(0) })).toBe('EAP/REQ/200');
    expect(describeEap({ code: 3, identifier: 0, data: new Uint8Array(0) })).toBe('EAP/SUCC');
    expect(describeEap({ code: 4, identifier: 0, data: new Uint8Array(0) })).toBe('EAP/FAIL');
  });

  it('property: decode throws only EapError, and encode∘decode is the identity on what it accepts', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          const p = decodeEap(bytes);
          const length = (bytes[2]! << 8) | bytes[3]!;
          expect(encodeEap(p)).toEqual(bytes.subarray(0, length));
        } catch (e) {
          expect(e).toBeInstanceOf(EapError);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
