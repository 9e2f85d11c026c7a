// Log lines in strongSwan notation (message.c get_string()), checked against the forms
// strongSwan prints for the same messages.
import { describe, expect, it } from 'vitest';
import { CpAttr, ExchangeType, HeaderFlag, NotifyType } from '../../../src/ike/constants.js';
import { cpAttrShortName, describeMessage, describePayload, notifyShortName } from '../../../src/ike/codec/describe.js';
import { decodeMessage } from '../../../src/ike/codec/message.js';
import type { Payload } from '../../../src/ike/codec/payload.js';
import { IKE_AUTH_SKF, WINDOWS_IKE_SA_INIT, pattern } from './fixtures.js';

const none: Uint8Array = new Uint8Array(0);
const N = (notify: number, data = none): Payload => ({ kind: 'notify', critical: false, protocol: 0, spi: none, notify, data });
const hdr = (exchange: number, messageId: number, response = false) => ({
  exchange,
  messageId,
  flags: response ? HeaderFlag.RESPONSE : HeaderFlag.INITIATOR,
});
const SK: Payload = { kind: 'sk', critical: false, firstInner: 35, body: pattern(64) };

describe('describeMessage', () => {
  it('renders an IKE_SA_INIT request', () => {
    const payloads: Payload[] = [
      { kind: 'sa', critical: false, proposals: [] },
      { kind: 'ke', critical: false, group: 2, data: pattern(128) },
      { kind: 'nonce', critical: false, nonce: pattern(32) },
      N(NotifyType.NAT_DETECTION_SOURCE_IP, pattern(20)),
      N(NotifyType.NAT_DETECTION_DESTINATION_IP, pattern(20)),
      N(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED),
      { kind: 'vendor', critical: false, data: pattern(16) },
    ];
    expect(describeMessage(hdr(ExchangeType.IKE_SA_INIT, 0), payloads)).toBe(
      'IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) V ]',
    );
  });

  it('renders the decoded Windows request', () => {
    const { header, payloads } = decodeMessage(WINDOWS_IKE_SA_INIT);
    expect(describeMessage(header, payloads)).toBe('IKE_SA_INIT request 0 [ SA KE No N(NATD_S_IP) N(NATD_D_IP) N(FRAG_SUP) V V V V ]');
  });

  it('lists decrypted payloads in place of SK, with CP attributes', () => {
    const inner: Payload[] = [
      { kind: 'idi', critical: false, idType: 9, data: pattern(30) },
      { kind: 'cert', critical: false, encoding: 4, data: pattern(300) },
      { kind: 'certreq', critical: false, encoding: 4, data: pattern(40) },
      N(NotifyType.INITIAL_CONTACT),
      { kind: 'idr', critical: false, idType: 2, data: pattern(10) },
      { kind: 'auth', critical: false, method: 14, data: pattern(72) },
      {
        kind: 'cp',
        critical: false,
        cfgType: 1,
        attributes: [
          CpAttr.INTERNAL_IP4_ADDRESS,
          CpAttr.INTERNAL_IP4_DNS,
          CpAttr.INTERNAL_IP6_ADDRESS,
          CpAttr.INTERNAL_IP6_DNS,
          CpAttr.MS_INTERNAL_IP4_SERVER,
        ].map((type) => ({ type, value: none })),
      },
      { kind: 'sa', critical: false, proposals: [] },
      { kind: 'tsi', critical: false, selectors: [] },
      { kind: 'tsr', critical: false, selectors: [] },
    ];
    expect(describeMessage(hdr(ExchangeType.IKE_AUTH, 1), [SK], inner)).toBe(
      'IKE_AUTH request 1 [ IDi CERT CERTREQ N(INIT_CONTACT) IDr AUTH CPRQ(ADDR DNS ADDR6 DNS6 SRV) SA TSi TSr ]',
    );
    expect(describeMessage(hdr(ExchangeType.IKE_AUTH, 1), [SK])).toBe('IKE_AUTH request 1 [ SK ]');
  });

  it('renders EAP code and method from the EAP packet', () => {
    const eap = (...bytes: number[]): Payload => ({ kind: 'eap', critical: false, data: Uint8Array.from(bytes) });
    const r = hdr(ExchangeType.IKE_AUTH, 2, true);
    expect(describeMessage(r, [SK], [eap(1, 1, 0, 5, 1)])).toBe('IKE_AUTH response 2 [ EAP/REQ/ID ]');
    expect(describeMessage(r, [SK], [eap(2, 7, 0, 6, 26, 2)])).toBe('IKE_AUTH response 2 [ EAP/RES/MSCHAPV2 ]');
    expect(describeMessage(r, [SK], [eap(3, 8, 0, 4)])).toBe('IKE_AUTH response 2 [ EAP/SUCC ]');
    expect(describeMessage(r, [SK], [eap(4, 8, 0, 4)])).toBe('IKE_AUTH response 2 [ EAP/FAIL ]');
    expect(describePayload(eap(1, 1, 0, 6, 13, 0x20))).toBe('EAP/REQ/TLS');
    expect(describePayload(eap(1, 1, 0, 5, 99))).toBe('EAP/REQ/(99)');
    // Expanded type: Vendor-Id 0x000137 (311, Microsoft), Vendor-Type 33.
    expect(describePayload(eap(1, 1, 0, 12, 254, 0, 1, 0x37, 0, 0, 0, 33))).toBe('EAP/REQ/33-311');
    expect(describePayload(eap())).toBe('EAP');
  });

  it('renders Delete, fragments, errors and responses', () => {
    const d: Payload = { kind: 'delete', critical: false, protocol: 1, spiSize: 0, spis: [] };
    expect(describeMessage(hdr(ExchangeType.INFORMATIONAL, 5), [SK], [d])).toBe('INFORMATIONAL request 5 [ D ]');
    const { header, payloads } = decodeMessage(IKE_AUTH_SKF);
    expect(describeMessage(header, payloads)).toBe('IKE_AUTH request 1 [ EF(1/12) ]');
    expect(describeMessage(hdr(ExchangeType.IKE_SA_INIT, 0, true), [N(NotifyType.INVALID_KE_PAYLOAD, Uint8Array.of(0, 14))])).toBe(
      'IKE_SA_INIT response 0 [ N(INVAL_KE) ]',
    );
    expect(describeMessage(hdr(ExchangeType.INFORMATIONAL, 9, true), [SK], [])).toBe('INFORMATIONAL response 9 [ ]');
  });

  it('renders unknown payloads, notifies, CP attributes and exchanges as numbers', () => {
    const unknown: Payload = { kind: 'unknown', critical: true, type: 130, body: none };
    expect(describeMessage(hdr(99, 3), [unknown, N(40000)])).toBe('EXCHANGE(99) request 3 [ ??(130) N((40000)) ]');
    expect(cpAttrShortName(25)).toBe('(25)');
    expect(describePayload({ kind: 'cp', critical: false, cfgType: 2, attributes: [{ type: 1, value: pattern(4) }] })).toBe('CPRP(ADDR)');
    expect(describePayload({ kind: 'cp', critical: false, cfgType: 1, attributes: [] })).toBe('CP');
  });

  it('shows the Windows status code of MS_NOTIFY_STATUS', () => {
    expect(describePayload(N(NotifyType.MS_NOTIFY_STATUS, Uint8Array.of(0, 0, 0x36, 0x27)))).toBe('N(MS_STATUS(13863))');
  });

  it('uses strongSwan short notify names', () => {
    const names: [number, string][] = [
      [NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, 'CRIT'],
      [NotifyType.INVALID_SYNTAX, 'INVAL_SYN'],
      [NotifyType.NO_PROPOSAL_CHOSEN, 'NO_PROP'],
      [NotifyType.AUTHENTICATION_FAILED, 'AUTH_FAILED'],
      [NotifyType.INTERNAL_ADDRESS_FAILURE, 'INT_ADDR_FAIL'],
      [NotifyType.CHILD_SA_NOT_FOUND, 'NO_CHILD_SA'],
      [NotifyType.COOKIE, 'COOKIE'],
      [NotifyType.REKEY_SA, 'REKEY_SA'],
      [NotifyType.ESP_TFC_PADDING_NOT_SUPPORTED, 'ESP_TFC_PAD_N'],
      [NotifyType.NON_FIRST_FRAGMENTS_ALSO, 'NON_FIRST_FRAG'],
      [NotifyType.MOBIKE_SUPPORTED, 'MOBIKE_SUP'],
      [NotifyType.ADDITIONAL_IP4_ADDRESS, 'ADD_4_ADDR'],
      [NotifyType.UPDATE_SA_ADDRESSES, 'UPD_SA_ADDR'],
      [NotifyType.EAP_ONLY_AUTHENTICATION, 'EAP_ONLY'],
      [NotifyType.CHILDLESS_IKEV2_SUPPORTED, 'CHDLESS_SUP'],
      [16420, 'MSG_ID_SYN_SUP'],
      [NotifyType.IKEV2_FRAGMENTATION_SUPPORTED, 'FRAG_SUP'],
      [NotifyType.SIGNATURE_HASH_ALGORITHMS, 'HASH_ALG'],
      [NotifyType.INTERMEDIATE_EXCHANGE_SUPPORTED, 'IKE_INT_SUP'],
    ];
    for (const [n, name] of names) expect(notifyShortName(n)).toBe(name);
  });

  it('never prints payload data', () => {
    const secret = Uint8Array.from([0xde, 0xad, 0xbe, 0xef, 0x13, 0x37, 0xca, 0xfe]);
    const line = describeMessage(hdr(ExchangeType.IKE_AUTH, 1), [SK], [
      { kind: 'auth', critical: false, method: 2, data: secret },
      { kind: 'nonce', critical: false, nonce: secret },
      N(NotifyType.COOKIE, secret),
    ]);
    expect(line).toBe('IKE_AUTH request 1 [ AUTH No N(COOKIE) ]');
    expect(line.toLowerCase()).not.toMatch(/dead|beef|cafe/);
  });
});
