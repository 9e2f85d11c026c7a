// Per-payload semantic checks (architecture §12.6): well-formed bytes that still break an
// RFC rule fail with IkeError(INVALID_SYNTAX), separately from decoding.
import { describe, expect, it } from 'vitest';
import { NotifyType } from '../../../src/ike/constants.js';
import { IkeError } from '../../../src/ike/errors.js';
import { decodeMessage, validatePayload, validatePayloads } from '../../../src/ike/codec/message.js';
import type { Payload, Proposal } from '../../../src/ike/codec/payload.js';
import { WINDOWS_IKE_SA_INIT, pattern } from './fixtures.js';

const none: Uint8Array = new Uint8Array(0);

function rejects(p: Payload, why: RegExp): void {
  try {
    validatePayload(p);
  } catch (e) {
    expect(e).toBeInstanceOf(IkeError);
    expect((e as IkeError).notify).toBe(NotifyType.INVALID_SYNTAX);
    expect((e as IkeError).message).toMatch(why);
    return;
  }
  throw new Error(`accepted ${p.kind}`);
}

const esp = (num: number, spi = pattern(4)): Proposal => ({
  num,
  protocol: 3,
  spi,
  transforms: [{ type: 1, id: 12, attributes: [{ type: 14, value: 128 }] }],
});

describe('validatePayload', () => {
  it('accepts the Windows IKE_SA_INIT payloads', () => {
    expect(() => validatePayloads(decodeMessage(WINDOWS_IKE_SA_INIT).payloads)).not.toThrow();
  });

  it('bounds the nonce to 16..256 bytes (RFC 7296 §3.9)', () => {
    for (const n of [16, 32, 256]) expect(() => validatePayload({ kind: 'nonce', critical: false, nonce: new Uint8Array(n) })).not.toThrow();
    rejects({ kind: 'nonce', critical: false, nonce: new Uint8Array(15) }, /Nonce: 15 bytes/);
    rejects({ kind: 'nonce', critical: false, nonce: new Uint8Array(257) }, /Nonce: 257 bytes/);
  });

  it('needs KE, ID, AUTH and CERT data', () => {
    rejects({ kind: 'ke', critical: false, group: 14, data: none }, /KE: empty/);
    rejects({ kind: 'idi', critical: false, idType: 2, data: none }, /IDi: empty/);
    rejects({ kind: 'idr', critical: false, idType: 11, data: none }, /IDr: empty/);
    rejects({ kind: 'auth', critical: false, method: 2, data: none }, /AUTH: empty/);
    rejects({ kind: 'cert', critical: false, encoding: 4, data: none }, /CERT: empty/);
  });

  it('checks address identity sizes', () => {
    rejects({ kind: 'idi', critical: false, idType: 1, data: new Uint8Array(16) }, /expected 4/);
    rejects({ kind: 'idr', critical: false, idType: 5, data: new Uint8Array(4) }, /expected 16/);
  });

  it('checks proposal numbering', () => {
    const sa = (proposals: Proposal[]): Payload => ({ kind: 'sa', critical: false, proposals });
    expect(() => validatePayload(sa([esp(1), esp(2), esp(3)]))).not.toThrow();
    expect(() => validatePayload(sa([esp(5)]))).not.toThrow(); // a response echoes the chosen number
    rejects(sa([esp(1), esp(3)]), /proposal 2 is numbered 3/);
    rejects(sa([esp(2), esp(3)]), /proposal 1 is numbered 2/);
    rejects(sa([esp(0)]), /proposal number 0/);
    rejects(sa([]), /no proposals/);
  });

  it('checks SPI sizes per protocol', () => {
    const sa = (p: Proposal): Payload => ({ kind: 'sa', critical: false, proposals: [p] });
    rejects(sa(esp(1, pattern(8))), /8-byte SPI for protocol 3/);
    rejects(sa(esp(1, none)), /0-byte SPI for protocol 3/);
    expect(() => validatePayload(sa({ ...esp(1, pattern(8)), protocol: 1 }))).not.toThrow(); // IKE rekey
    rejects(sa({ ...esp(1, pattern(4)), protocol: 1 }), /4-byte SPI for protocol 1/);
  });

  it('wants transforms and a TV Key Length', () => {
    rejects({ kind: 'sa', critical: false, proposals: [{ ...esp(1), transforms: [] }] }, /no transforms/);
    const tlv: Proposal = { ...esp(1), transforms: [{ type: 1, id: 12, attributes: [{ type: 14, value: Uint8Array.of(1, 0) }] }] };
    rejects({ kind: 'sa', critical: false, proposals: [tlv] }, /Key Length in TLV format/);
  });

  it('checks fixed notify data sizes', () => {
    const n = (notify: number, data: Uint8Array, protocol = 0, spi = none): Payload => ({
      kind: 'notify',
      critical: false,
      protocol,
      spi,
      notify,
      data,
    });
    rejects(n(NotifyType.NAT_DETECTION_SOURCE_IP, new Uint8Array(19)), /expected 20/);
    rejects(n(NotifyType.INVALID_KE_PAYLOAD, none), /expected 2/);
    rejects(n(NotifyType.COOKIE, new Uint8Array(65)), /COOKIE/);
    rejects(n(NotifyType.COOKIE, none), /COOKIE/);
    rejects(n(NotifyType.SIGNATURE_HASH_ALGORITHMS, new Uint8Array(3)), /odd/);
    rejects(n(NotifyType.REKEY_SA, none, 3, pattern(8)), /8-byte SPI for protocol 3/);
    expect(() => validatePayload(n(NotifyType.REKEY_SA, none, 3, pattern(4)))).not.toThrow();
    // Protocol ID is ignored when there is no SPI (RFC 7296 §3.10).
    expect(() => validatePayload(n(NotifyType.INITIAL_CONTACT, none, 77))).not.toThrow();
  });

  it('checks Delete shapes (§3.11)', () => {
    const d = (protocol: number, spiSize: number, spis: Uint8Array[]): Payload => ({ kind: 'delete', critical: false, protocol, spiSize, spis });
    expect(() => validatePayload(d(1, 0, []))).not.toThrow();
    expect(() => validatePayload(d(3, 4, [pattern(4)]))).not.toThrow();
    rejects(d(3, 8, [pattern(8)]), /SPI size 8/);
    rejects(d(3, 4, []), /no SPIs/);
    rejects(d(9, 4, [pattern(4)]), /unknown protocol 9/);
  });

  it('checks TS, CP, CERTREQ, EAP and SKF', () => {
    rejects({ kind: 'tsr', critical: false, selectors: [] }, /TSr: no traffic selectors/);
    rejects({ kind: 'cp', critical: false, cfgType: 9, attributes: [] }, /unknown CFG type 9/);
    rejects({ kind: 'cp', critical: false, cfgType: 2, attributes: [{ type: 1, value: new Uint8Array(3) }] }, /INTERNAL_IP4_ADDRESS with 3 bytes/);
    expect(() =>
      validatePayload({ kind: 'cp', critical: false, cfgType: 1, attributes: [{ type: 1, value: none }, { type: 23456, value: none }] }),
    ).not.toThrow();
    rejects({ kind: 'certreq', critical: false, encoding: 4, data: new Uint8Array(21) }, /CA hashes/);
    expect(() => validatePayload({ kind: 'certreq', critical: false, encoding: 4, data: none })).not.toThrow();
    rejects({ kind: 'eap', critical: false, data: Uint8Array.of(1, 1, 0, 9, 1) }, /packet says 9 bytes/);
    rejects({ kind: 'eap', critical: false, data: Uint8Array.of(1, 1, 0, 4) }, /without a type/);
    rejects({ kind: 'eap', critical: false, data: Uint8Array.of(7, 1, 0, 4) }, /unknown code 7/);
    expect(() => validatePayload({ kind: 'eap', critical: false, data: Uint8Array.of(3, 1, 0, 4) })).not.toThrow();
    const skf = (fragmentNumber: number, totalFragments: number): Payload => ({ kind: 'skf', critical: false, firstInner: 0, fragmentNumber, totalFragments, body: none });
    rejects(skf(0, 3), /fragment 0 of 3/);
    rejects(skf(4, 3), /fragment 4 of 3/);
    rejects(skf(1, 0), /total fragments is zero/);
  });

  it('has nothing to say about vendor IDs, SK or unknown payloads', () => {
    for (const p of [
      { kind: 'vendor', critical: false, data: none },
      { kind: 'sk', critical: false, firstInner: 0, body: none },
      { kind: 'unknown', critical: true, type: 99, body: none },
    ] satisfies Payload[]) {
      expect(() => validatePayload(p)).not.toThrow();
    }
  });
});
