// Netlink framing: nlmsghdr + TLVs, 4-byte alignment, NLMSG_ERROR (with extended ACK), DONE,
// multipart datagrams (linux/netlink.h).
import { describe, expect, it } from 'vitest';
import {
  align4,
  encodeAttrs,
  encodeMessage,
  NetlinkDecodeError,
  NlmFlags,
  NlmsgType,
  parseAttrs,
  parseError,
  parseMessages,
} from '../../../src/xfrm/netlink/message.js';
import { hex, unhex } from './helpers.js';

describe('netlink message codec', () => {
  it('aligns to 4 bytes', () => {
    expect([0, 1, 2, 3, 4, 5, 8].map(align4)).toEqual([0, 4, 4, 4, 4, 8, 8]);
  });

  it('encodes attributes with nla_len excluding the padding', () => {
    // struct nlattr { __u16 nla_len; __u16 nla_type; } + payload + pad
    const bytes = encodeAttrs([
      { type: 3, value: Uint8Array.of(0x20, 0x20) },
      { type: 4, value: Uint8Array.of(0x00, 0x80) },
    ]);
    // Same bytes as `ip xfrm policy set hthresh4 32 32 hthresh6 0 128` puts after its u32.
    expect(hex(bytes)).toBe('06000300202000000600040000800000');
    expect(parseAttrs(bytes)).toEqual([
      { type: 3, value: Uint8Array.of(0x20, 0x20) },
      { type: 4, value: Uint8Array.of(0x00, 0x80) },
    ]);
  });

  it('encodes the header with the total length and pads the family header', () => {
    const m = encodeMessage({ type: 0x24, flags: NlmFlags.NLM_F_REQUEST | NlmFlags.NLM_F_ACK, seq: 0x01020304, body: Uint8Array.of(0xff, 0xff, 0xff, 0xff), attrs: [{ type: 3, value: Uint8Array.of(0, 32) }] });
    expect(hex(m)).toBe('1c000000' + '2400' + '0500' + '04030201' + '00000000' + 'ffffffff' + '0600030000200000');
    const [parsed] = parseMessages(m);
    expect(parsed).toMatchObject({ type: 0x24, flags: 5, seq: 0x01020304, pid: 0 });
    expect(parsed?.payload.length).toBe(12);
  });

  it('splits a multipart datagram and rejects truncation', () => {
    const a = encodeMessage({ type: 0x10, flags: NlmFlags.NLM_F_MULTI, seq: 9, pid: 77, body: Uint8Array.of(1, 2, 3) });
    const done = encodeMessage({ type: NlmsgType.NLMSG_DONE, flags: NlmFlags.NLM_F_MULTI, seq: 9, pid: 77, body: new Uint8Array(4) });
    const datagram = new Uint8Array([...a, ...done]);
    const msgs = parseMessages(datagram);
    expect(msgs.map((m) => [m.type, m.seq, m.pid])).toEqual([
      [0x10, 9, 77],
      [NlmsgType.NLMSG_DONE, 9, 77],
    ]);
    // The family header is padded to 4 bytes inside nlmsg_len (NLMSG_ALIGN, as iproute2 does).
    expect(msgs[0]?.payload.length).toBe(4);
    expect(() => parseMessages(datagram.subarray(0, datagram.length - 2))).toThrow(NetlinkDecodeError);
    expect(() => parseAttrs(Uint8Array.of(8, 0, 1, 0, 0))).toThrow(NetlinkDecodeError);
  });

  it('parses an ACK (error 0, capped)', () => {
    // struct nlmsgerr { int error; struct nlmsghdr msg; }
    const ack = encodeMessage({ type: NlmsgType.NLMSG_ERROR, flags: NlmFlags.NLM_F_CAPPED, seq: 5, pid: 42, body: unhex('00000000' + '24000000130005000500000000000000') });
    const [m] = parseMessages(ack);
    expect(parseError(m!)).toEqual({ errno: 0, request: { len: 0x24, type: 0x13, flags: 5, seq: 5, pid: 0 } });
  });

  it('parses an error with the echoed request and the extended-ACK message', () => {
    // The shape of the kernel's answer to `ip xfrm state add … aead 'rfc4106(gcm(aes))'` on a
    // host without GCM: error -ENOSYS (38), full request echoed, NLMSGERR_ATTR_MSG.
    const request = encodeMessage({ type: 0x10, flags: 5, seq: 7, body: new Uint8Array(8) });
    const text = new TextEncoder().encode('Requested AEAD algorithm not found.\0');
    const body = new Uint8Array([...unhex('daffffff'), ...request, ...encodeAttrs([{ type: 1, value: text }])]);
    const [m] = parseMessages(encodeMessage({ type: NlmsgType.NLMSG_ERROR, flags: NlmFlags.NLM_F_ACK_TLVS, seq: 7, pid: 42, body }));
    const e = parseError(m!);
    expect(e.errno).toBe(38);
    expect(e.request.type).toBe(0x10);
    expect(e.message).toBe('Requested AEAD algorithm not found.');
  });
});
