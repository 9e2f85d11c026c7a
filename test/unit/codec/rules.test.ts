// Message rules per exchange (RFC 7296 §1.2–1.5, §2.5, §2.6, §2.16; RFC 7383): what each
// request and response may carry, in SK or in the clear, and what alone makes it complete.
import { describe, expect, it } from 'vitest';
import { ExchangeType as X, NotifyType } from '../../../src/ike/constants.js';
import { IkeError } from '../../../src/ike/errors.js';
import { decodeMessage } from '../../../src/ike/codec/message.js';
import type { Payload } from '../../../src/ike/codec/payload.js';
import { RULES, checkRules, firstCriticalUnknown, rulesFor } from '../../../src/ike/codec/rules.js';
import { WINDOWS_IKE_SA_INIT, pattern } from './fixtures.js';

const none: Uint8Array = new Uint8Array(0);
const SA: Payload = { kind: 'sa', critical: false, proposals: [{ num: 1, protocol: 1, spi: none, transforms: [] }] };
const KE: Payload = { kind: 'ke', critical: false, group: 19, data: pattern(64) };
const NO: Payload = { kind: 'nonce', critical: false, nonce: pattern(32) };
const IDI: Payload = { kind: 'idi', critical: false, idType: 1, data: pattern(4) };
const IDR: Payload = { kind: 'idr', critical: false, idType: 2, data: pattern(8) };
const AUTH: Payload = { kind: 'auth', critical: false, method: 2, data: pattern(20) };
const EAP: Payload = { kind: 'eap', critical: false, data: Uint8Array.of(2, 1, 0, 5, 1) };
const TSI: Payload = { kind: 'tsi', critical: false, selectors: [] };
const TSR: Payload = { kind: 'tsr', critical: false, selectors: [] };
const CP: Payload = { kind: 'cp', critical: false, cfgType: 1, attributes: [] };
const D: Payload = { kind: 'delete', critical: false, protocol: 1, spiSize: 0, spis: [] };
const V: Payload = { kind: 'vendor', critical: false, data: pattern(16) };
const SK: Payload = { kind: 'sk', critical: false, firstInner: 35, body: pattern(48) };
const SKF: Payload = { kind: 'skf', critical: false, firstInner: 35, fragmentNumber: 1, totalFragments: 2, body: pattern(48) };
const N = (notify: number): Payload => ({ kind: 'notify', critical: false, protocol: 0, spi: none, notify, data: none });
const unknown = (type: number, critical: boolean): Payload => ({ kind: 'unknown', critical, type, body: none });

function fails(exchange: number, response: boolean, outer: Payload[], inner: Payload[] | undefined, why: string): void {
  try {
    checkRules(exchange, response, outer, inner);
  } catch (e) {
    expect(e).toBeInstanceOf(IkeError);
    expect((e as IkeError).notify).toBe(NotifyType.INVALID_SYNTAX);
    expect((e as IkeError).message).toBe(`INVALID_SYNTAX: ${why}`);
    return;
  }
  throw new Error(`accepted, expected "${why}"`);
}
const ok = (exchange: number, response: boolean, outer: Payload[], inner?: Payload[]): void =>
  expect(() => checkRules(exchange, response, outer, inner)).not.toThrow();

describe('IKE_SA_INIT', () => {
  it('accepts the Windows request', () => {
    ok(X.IKE_SA_INIT, false, decodeMessage(WINDOWS_IKE_SA_INIT).payloads);
  });

  it('names the missing payload', () => {
    fails(X.IKE_SA_INIT, false, [SA, NO], undefined, 'IKE_SA_INIT request: KE missing');
    fails(X.IKE_SA_INIT, false, [KE, NO], undefined, 'IKE_SA_INIT request: SA missing');
    fails(X.IKE_SA_INIT, false, [SA, KE], undefined, 'IKE_SA_INIT request: NONCE missing');
  });

  it('limits counts', () => {
    fails(X.IKE_SA_INIT, false, [SA, SA, KE, NO], undefined, 'IKE_SA_INIT request: 2 SA payloads, at most 1 allowed');
    const manyVids = Array.from({ length: 21 }, () => V);
    fails(X.IKE_SA_INIT, false, [SA, KE, NO, ...manyVids], undefined, 'IKE_SA_INIT request: 21 VENDOR payloads, at most 20 allowed');
  });

  it('does not let a request be just a notify', () => {
    fails(X.IKE_SA_INIT, false, [N(NotifyType.COOKIE)], undefined, 'IKE_SA_INIT request: SA missing');
  });

  it('accepts COOKIE and error responses alone (§2.6, §1.2)', () => {
    ok(X.IKE_SA_INIT, true, [N(NotifyType.COOKIE)]);
    ok(X.IKE_SA_INIT, true, [N(NotifyType.INVALID_KE_PAYLOAD)]);
    ok(X.IKE_SA_INIT, true, [N(NotifyType.NO_PROPOSAL_CHOSEN)]);
    fails(X.IKE_SA_INIT, true, [N(NotifyType.NAT_DETECTION_SOURCE_IP)], undefined, 'IKE_SA_INIT response: SA missing');
  });

  it('accepts a full response with CERTREQ', () => {
    ok(X.IKE_SA_INIT, true, [SA, KE, NO, N(NotifyType.NAT_DETECTION_SOURCE_IP), { kind: 'certreq', critical: false, encoding: 4, data: none }]);
  });

  it('refuses payloads of later exchanges and encryption', () => {
    fails(X.IKE_SA_INIT, false, [SA, KE, NO, AUTH], undefined, 'IKE_SA_INIT request: AUTH not allowed');
    fails(X.IKE_SA_INIT, false, [SA, KE, NO, SK], undefined, 'IKE_SA_INIT request: SK not allowed');
    fails(X.IKE_SA_INIT, false, [SA, KE, NO, SKF], undefined, 'IKE_SA_INIT request: SKF not allowed');
  });
});

describe('IKE_AUTH', () => {
  it('accepts a first request with certificates and a config request', () => {
    const cert: Payload = { kind: 'cert', critical: false, encoding: 4, data: pattern(10) };
    const certreq: Payload = { kind: 'certreq', critical: false, encoding: 4, data: pattern(20) };
    ok(X.IKE_AUTH, false, [SK], [IDI, cert, certreq, N(NotifyType.INITIAL_CONTACT), IDR, AUTH, CP, SA, TSI, TSR]);
  });

  it('accepts the EAP rounds: EAP only, then AUTH only (§2.16)', () => {
    ok(X.IKE_AUTH, false, [SK], [IDI, CP, SA, TSI, TSR]); // no AUTH: asks for EAP
    ok(X.IKE_AUTH, false, [SK], [EAP]);
    ok(X.IKE_AUTH, false, [SK], [AUTH]);
    ok(X.IKE_AUTH, true, [SK], [IDR, AUTH, EAP]);
    ok(X.IKE_AUTH, true, [SK], [EAP]);
    ok(X.IKE_AUTH, true, [SK], [AUTH, CP, SA, TSI, TSR]);
  });

  it('accepts an error notify alone as a response, a status notify not', () => {
    ok(X.IKE_AUTH, true, [SK], [N(NotifyType.AUTHENTICATION_FAILED)]);
    fails(X.IKE_AUTH, true, [SK], [N(NotifyType.MOBIKE_SUPPORTED)], 'IKE_AUTH response: IDr missing');
  });

  it('requires IDi unless EAP or AUTH complete the request', () => {
    fails(X.IKE_AUTH, false, [SK], [SA, TSI, TSR], 'IKE_AUTH request: IDi missing');
  });

  it('requires encryption', () => {
    fails(X.IKE_AUTH, false, [IDI, SK], [AUTH], 'IKE_AUTH request: IDi must be encrypted');
    fails(X.IKE_AUTH, false, [IDI, AUTH], undefined, 'IKE_AUTH request: IDi must be encrypted');
    fails(X.IKE_AUTH, false, [], undefined, 'IKE_AUTH request: SK payload missing');
    fails(X.IKE_AUTH, false, [unknown(49, false)], [IDI, AUTH], 'IKE_AUTH request: SK payload missing');
  });

  it('checks only the clear part before decryption', () => {
    ok(X.IKE_AUTH, false, [SKF]);
    ok(X.IKE_AUTH, false, [unknown(49, false), SK]);
    fails(X.IKE_AUTH, false, [N(NotifyType.INITIAL_CONTACT), SK], undefined, 'IKE_AUTH request: NOTIFY must be encrypted');
  });

  it('refuses payloads the exchange does not carry, duplicates and nested SK', () => {
    fails(X.IKE_AUTH, false, [SK], [IDI, AUTH, KE], 'IKE_AUTH request: KE not allowed');
    fails(X.IKE_AUTH, false, [SK], [IDI, AUTH, AUTH], 'IKE_AUTH request: 2 AUTH payloads, at most 1 allowed');
    fails(X.IKE_AUTH, false, [SK], [IDI, SK], 'IKE_AUTH request: SK inside an encrypted payload');
    fails(X.IKE_AUTH, true, [SK], [IDR, AUTH, { kind: 'certreq', critical: false, encoding: 4, data: none }], 'IKE_AUTH response: CERTREQ not allowed');
  });
});

describe('CREATE_CHILD_SA', () => {
  it('accepts new Child SA, rekey and IKE rekey requests (§1.3)', () => {
    ok(X.CREATE_CHILD_SA, false, [SK], [SA, NO, KE, TSI, TSR]);
    ok(X.CREATE_CHILD_SA, false, [SK], [N(NotifyType.REKEY_SA), SA, NO, TSI, TSR]);
    ok(X.CREATE_CHILD_SA, false, [SK], [SA, NO, KE]);
  });

  it('needs SA and nonce unless the response is an error', () => {
    fails(X.CREATE_CHILD_SA, false, [SK], [SA, KE, TSI, TSR], 'CREATE_CHILD_SA request: NONCE missing');
    ok(X.CREATE_CHILD_SA, true, [SK], [N(NotifyType.NO_ADDITIONAL_SAS)]);
    ok(X.CREATE_CHILD_SA, true, [SK], [N(NotifyType.TEMPORARY_FAILURE)]);
    fails(X.CREATE_CHILD_SA, true, [SK], [N(NotifyType.ADDITIONAL_TS_POSSIBLE)], 'CREATE_CHILD_SA response: SA missing');
  });
});

describe('INFORMATIONAL', () => {
  it('accepts empty (liveness), delete, notifies and MOBIKE updates (RFC 4555)', () => {
    ok(X.INFORMATIONAL, false, [SK], []);
    ok(X.INFORMATIONAL, true, [SK], []);
    ok(X.INFORMATIONAL, false, [SK], [D]);
    ok(X.INFORMATIONAL, false, [SK], [N(NotifyType.UPDATE_SA_ADDRESSES), N(NotifyType.NAT_DETECTION_SOURCE_IP), N(NotifyType.NAT_DETECTION_DESTINATION_IP)]);
  });

  it('refuses anything else', () => {
    fails(X.INFORMATIONAL, false, [SK], [SA], 'INFORMATIONAL request: SA not allowed');
    fails(X.INFORMATIONAL, false, [D], undefined, 'INFORMATIONAL request: DELETE must be encrypted');
  });
});

describe('unknown payloads and exchanges', () => {
  it('ignores unknown payloads, critical or not, in the rules', () => {
    ok(X.INFORMATIONAL, false, [SK], [unknown(49, false), D, unknown(200, true)]);
  });

  it('finds the first unknown critical payload (§2.5)', () => {
    expect(firstCriticalUnknown([SA, unknown(49, false), KE])).toBeUndefined();
    expect(firstCriticalUnknown([SA, unknown(49, false), unknown(130, true), unknown(131, true)])).toBe(130);
    // A known payload with the C bit set is simply understood.
    expect(firstCriticalUnknown([{ ...SA, critical: true }])).toBeUndefined();
  });

  it('has no rules for exchanges it does not know', () => {
    expect(rulesFor(99, false)).toBeUndefined();
    fails(99, false, [], undefined, 'EXCHANGE(99) request: no payload rules for this exchange');
  });

  it('covers every exchange it names', () => {
    expect(Object.keys(RULES).sort()).toEqual(
      ['CREATE_CHILD_SA', 'IKE_AUTH', 'IKE_INTERMEDIATE', 'IKE_SA_INIT', 'INFORMATIONAL']
        .flatMap((x) => [`${x}/request`, `${x}/response`])
        .sort(),
    );
    expect(rulesFor(X.IKE_AUTH, true)).toBe(RULES['IKE_AUTH/response']);
  });
});
