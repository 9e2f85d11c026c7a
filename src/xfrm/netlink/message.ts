// Netlink framing (RFC 3549 §2.3.2, linux/netlink.h): the 16-byte nlmsghdr, the rtattr/nlattr
// TLV that follows a family header, 4-byte alignment (NLMSG_ALIGN / NLA_ALIGN), and parsing of
// NLMSG_ERROR (with extended ACK TLVs), NLMSG_DONE and multipart datagrams.
// Pure data: nothing here touches a socket. Host byte order is little-endian (x86_64, arm64).

/** Netlink protocol families the dataplane opens (linux/netlink.h). */
export const NetlinkProtocol = { NETLINK_ROUTE: 0, NETLINK_XFRM: 6 } as const;

/** Control message types below NLMSG_MIN_TYPE (0x10). */
export const NlmsgType = {
  NLMSG_NOOP: 1,
  NLMSG_ERROR: 2,
  NLMSG_DONE: 3,
  NLMSG_OVERRUN: 4,
} as const;

/** nlmsg_flags (linux/netlink.h). */
export const NlmFlags = {
  NLM_F_REQUEST: 0x01,
  NLM_F_MULTI: 0x02,
  NLM_F_ACK: 0x04,
  NLM_F_ECHO: 0x08,
  NLM_F_DUMP_INTR: 0x10,
  NLM_F_DUMP_FILTERED: 0x20,
  // Modifiers to GET requests
  NLM_F_ROOT: 0x100,
  NLM_F_MATCH: 0x200,
  NLM_F_ATOMIC: 0x400,
  NLM_F_DUMP: 0x300,
  // Modifiers to NEW requests
  NLM_F_REPLACE: 0x100,
  NLM_F_EXCL: 0x200,
  NLM_F_CREATE: 0x400,
  NLM_F_APPEND: 0x800,
  // Flags of an ACK (NLMSG_ERROR)
  NLM_F_CAPPED: 0x100,
  NLM_F_ACK_TLVS: 0x200,
} as const;

/** Extended ACK attributes after the echoed request in NLMSG_ERROR (enum nlmsgerr_attrs). */
export const NlmsgerrAttr = { NLMSGERR_ATTR_MSG: 1, NLMSGERR_ATTR_OFFS: 2, NLMSGERR_ATTR_COOKIE: 3 } as const;

export const NLMSG_HDRLEN = 16;
export const NLA_HDRLEN = 4;
/** The nla_type bits that are flags, not type (NLA_F_NESTED, NLA_F_NET_BYTEORDER). */
const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

export class NetlinkDecodeError extends Error {
  override readonly name = 'NetlinkDecodeError';
}

/** One TLV: `value` is the payload without header or padding. */
export interface NlAttr {
  type: number;
  value: Uint8Array;
}

export interface NetlinkMessage {
  type: number;
  flags: number;
  seq: number;
  pid: number;
  /** Everything after the 16-byte header, up to nlmsg_len (family header + attributes). */
  payload: Uint8Array;
}

/*
 * struct nlmsghdr {
 *     __u32 nlmsg_len;    // Length of message including header
 *     __u16 nlmsg_type;   // Message content
 *     __u16 nlmsg_flags;  // Additional flags
 *     __u32 nlmsg_seq;    // Sequence number
 *     __u32 nlmsg_pid;    // Sending process port ID
 * };
 *
 * struct nlattr { __u16 nla_len; __u16 nla_type; };  // == struct rtattr { rta_len; rta_type; }
 */

/** Encodes attributes, each padded to 4 bytes (nla_len excludes the padding). */
export function encodeAttrs(attrs: readonly NlAttr[]): Uint8Array {
  let total = 0;
  for (const a of attrs) total += align4(NLA_HDRLEN + a.value.length);
  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  let off = 0;
  for (const a of attrs) {
    const len = NLA_HDRLEN + a.value.length;
    if (len > 0xffff) throw new RangeError(`netlink attribute ${a.type} too long (${len} bytes)`);
    dv.setUint16(off, len, true);
    dv.setUint16(off + 2, a.type, true);
    out.set(a.value, off + NLA_HDRLEN);
    off += align4(len);
  }
  return out;
}

export interface EncodeMessage {
  type: number;
  flags: number;
  seq: number;
  pid?: number;
  /** The family header (xfrm_usersa_info, rtmsg, …); padded to 4 bytes. */
  body: Uint8Array;
  attrs?: readonly NlAttr[];
}

export function encodeMessage(m: EncodeMessage): Uint8Array {
  const attrs = encodeAttrs(m.attrs ?? []);
  const bodyLen = align4(m.body.length);
  const len = NLMSG_HDRLEN + bodyLen + attrs.length;
  const out = new Uint8Array(len);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, m.type, true);
  dv.setUint16(6, m.flags, true);
  dv.setUint32(8, m.seq >>> 0, true);
  dv.setUint32(12, (m.pid ?? 0) >>> 0, true);
  out.set(m.body, NLMSG_HDRLEN);
  out.set(attrs, NLMSG_HDRLEN + bodyLen);
  return out;
}

/** Splits a datagram into messages (NLMSG_OK / NLMSG_NEXT); throws on truncation. */
export function parseMessages(datagram: Uint8Array): NetlinkMessage[] {
  const dv = new DataView(datagram.buffer, datagram.byteOffset, datagram.byteLength);
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= datagram.length) {
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > datagram.length) {
      throw new NetlinkDecodeError(`netlink message at ${off}: nlmsg_len ${len} does not fit the ${datagram.length}-byte datagram`);
    }
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      payload: datagram.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  if (off < datagram.length && datagram.length - off >= 4) {
    throw new NetlinkDecodeError(`${datagram.length - off} trailing bytes after the last netlink message`);
  }
  return out;
}

/** Parses a run of attributes (e.g. everything after a family header). */
export function parseAttrs(bytes: Uint8Array): NlAttr[] {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: NlAttr[] = [];
  let off = 0;
  while (off + NLA_HDRLEN <= bytes.length) {
    const len = dv.getUint16(off, true);
    const type = dv.getUint16(off + 2, true) & NLA_TYPE_MASK;
    if (len < NLA_HDRLEN || off + len > bytes.length) {
      throw new NetlinkDecodeError(`attribute at ${off}: nla_len ${len} does not fit ${bytes.length} bytes`);
    }
    out.push({ type, value: bytes.subarray(off + NLA_HDRLEN, off + len) });
    off += align4(len);
  }
  return out;
}

/** The attributes after a family header of `headerLen` bytes (NLMSG_ALIGN'ed). */
export function messageAttrs(m: NetlinkMessage, headerLen: number): NlAttr[] {
  const start = align4(headerLen);
  if (m.payload.length < headerLen) {
    throw new NetlinkDecodeError(`message type ${m.type}: ${m.payload.length} bytes, family header needs ${headerLen}`);
  }
  return parseAttrs(m.payload.subarray(Math.min(start, m.payload.length)));
}

export function findAttr(attrs: readonly NlAttr[], type: number): Uint8Array | undefined {
  return attrs.find((a) => a.type === type)?.value;
}

export const u32Attr = (type: number, v: number): NlAttr => {
  const value = new Uint8Array(4);
  new DataView(value.buffer).setUint32(0, v >>> 0, true);
  return { type, value };
};

export const readU32 = (b: Uint8Array, off = 0): number => new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(off, true);

/*
 * struct nlmsgerr {
 *     int error;              // negative errno or 0 for an ACK
 *     struct nlmsghdr msg;    // the request's header (+ payload unless NLM_F_CAPPED)
 *     // followed by struct nlattr extended-ACK TLVs if NLM_F_ACK_TLVS
 * };
 */
export interface NetlinkAck {
  /** Positive errno; 0 for a plain ACK. */
  errno: number;
  /** Header of the request this answers. */
  request: { type: number; flags: number; seq: number; pid: number; len: number };
  /** NLMSGERR_ATTR_MSG, the kernel's extended-ACK text ("Requested type not found"). */
  message?: string;
  /** NLMSGERR_ATTR_OFFS: offset of the offending attribute in the request. */
  offset?: number;
}

export function parseError(m: NetlinkMessage): NetlinkAck {
  const p = m.payload;
  if (p.length < 4 + NLMSG_HDRLEN) throw new NetlinkDecodeError(`NLMSG_ERROR with ${p.length} bytes, needs ${4 + NLMSG_HDRLEN}`);
  const dv = new DataView(p.buffer, p.byteOffset, p.byteLength);
  const error = dv.getInt32(0, true);
  const request = {
    len: dv.getUint32(4, true),
    type: dv.getUint16(8, true),
    flags: dv.getUint16(10, true),
    seq: dv.getUint32(12, true),
    pid: dv.getUint32(16, true),
  };
  const ack: NetlinkAck = { errno: error === 0 ? 0 : -error, request };
  if (m.flags & NlmFlags.NLM_F_ACK_TLVS) {
    // The echoed request is cut to its header when NLM_F_CAPPED is set (always for ACKs, error 0).
    const echoed = m.flags & NlmFlags.NLM_F_CAPPED ? NLMSG_HDRLEN : align4(request.len);
    const tlvStart = 4 + echoed;
    if (tlvStart <= p.length) {
      for (const a of parseAttrs(p.subarray(tlvStart))) {
        if (a.type === NlmsgerrAttr.NLMSGERR_ATTR_MSG) {
          const end = a.value.indexOf(0);
          ack.message = new TextDecoder().decode(end < 0 ? a.value : a.value.subarray(0, end));
        } else if (a.type === NlmsgerrAttr.NLMSGERR_ATTR_OFFS && a.value.length >= 4) {
          ack.offset = readU32(a.value);
        }
      }
    }
  }
  return ack;
}
