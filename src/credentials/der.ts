// Minimal DER reader/writer (ITU-T X.690 §8, §10) for the few places where we need the exact
// bytes of a structure: the TBSCertificate, Name and SubjectPublicKeyInfo of a certificate
// (RFC 5280 §4.1), the RFC 7427 §3 AlgorithmIdentifier and RSASSA-PSS-params (RFC 4055 §3.1).
// pkijs does the full certificate parsing; this reader exists because it hands back byte-exact
// slices and fails with one error type on attacker-supplied input.

/** Malformed DER. Every decoding failure in src/credentials surfaces as this (or CertificateError). */
export class Asn1Error extends Error {
  override readonly name = 'Asn1Error';
}

export const Tag = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  NUMERIC_STRING: 0x12,
  PRINTABLE_STRING: 0x13,
  TELETEX_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  VISIBLE_STRING: 0x1a,
  UNIVERSAL_STRING: 0x1c,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** One Tag-Length-Value element. `bytes` is the whole element, `value` its contents (views, no copy). */
export interface Tlv {
  tag: number;
  bytes: Uint8Array;
  value: Uint8Array;
}

/** Reads one element at `offset`; the element must end at or before `buf.length`. */
export function readTlv(buf: Uint8Array, offset = 0): Tlv {
  if (offset + 2 > buf.length) throw new Asn1Error('truncated DER element');
  const tag = buf[offset]!;
  // Multi-byte tags (low five bits all set) never occur in the structures we read.
  if ((tag & 0x1f) === 0x1f) throw new Asn1Error(`unsupported high tag number at offset ${offset}`);
  let pos = offset + 1;
  const first = buf[pos++]!;
  let length: number;
  if (first < 0x80) {
    length = first;
  } else {
    const n = first & 0x7f;
    // 0x80 is BER's indefinite length, not allowed in DER; > 4 octets is absurd for IKE sizes.
    if (n === 0 || n > 4) throw new Asn1Error(`invalid DER length at offset ${offset}`);
    if (pos + n > buf.length) throw new Asn1Error('truncated DER length');
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + buf[pos++]!;
  }
  const end = pos + length;
  if (end > buf.length) throw new Asn1Error(`DER element at offset ${offset} overruns its container`);
  return { tag, bytes: buf.subarray(offset, end), value: buf.subarray(pos, end) };
}

/** Reads exactly one element that must fill `buf` completely (no trailing bytes). */
export function readOne(buf: Uint8Array, what = 'DER value'): Tlv {
  const tlv = readTlv(buf, 0);
  if (tlv.bytes.length !== buf.length) throw new Asn1Error(`trailing bytes after ${what}`);
  return tlv;
}

/** The elements inside a constructed element. */
export function children(tlv: Tlv): Tlv[] {
  if ((tlv.tag & 0x20) === 0) throw new Asn1Error(`element with tag 0x${tlv.tag.toString(16)} is not constructed`);
  const out: Tlv[] = [];
  let off = 0;
  while (off < tlv.value.length) {
    const child = readTlv(tlv.value, off);
    out.push(child);
    off += child.bytes.length;
  }
  return out;
}

export function expectTag(tlv: Tlv | undefined, tag: number, what: string): Tlv {
  if (!tlv) throw new Asn1Error(`missing ${what}`);
  if (tlv.tag !== tag) throw new Asn1Error(`${what}: expected tag 0x${tag.toString(16)}, got 0x${tlv.tag.toString(16)}`);
  return tlv;
}

/** Dotted text of an OBJECT IDENTIFIER's contents (X.690 §8.19). */
export function decodeOid(value: Uint8Array): string {
  if (value.length === 0) throw new Asn1Error('empty OBJECT IDENTIFIER');
  const arcs: number[] = [];
  let acc = 0;
  let started = false;
  for (let i = 0; i < value.length; i++) {
    const b = value[i]!;
    if (!started && b === 0x80) throw new Asn1Error('non-minimal OBJECT IDENTIFIER arc');
    started = (b & 0x80) !== 0;
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER / 128) throw new Asn1Error('OBJECT IDENTIFIER arc too large');
    if (!started) {
      arcs.push(acc);
      acc = 0;
    }
  }
  if (started) throw new Asn1Error('truncated OBJECT IDENTIFIER');
  const first = arcs.shift()!;
  const a = first < 40 ? 0 : first < 80 ? 1 : 2;
  return [a, first - a * 40, ...arcs].join('.');
}

/** Contents octets of an OBJECT IDENTIFIER given in dotted form. */
export function encodeOidValue(oid: string): Uint8Array {
  const parts = oid.split('.').map((p) => {
    if (!/^\d+$/.test(p)) throw new Asn1Error(`invalid OID ${oid}`);
    return Number(p);
  });
  if (parts.length < 2) throw new Asn1Error(`invalid OID ${oid}`);
  const arcs = [parts[0]! * 40 + parts[1]!, ...parts.slice(2)];
  const out: number[] = [];
  for (const arc of arcs) {
    const tmp: number[] = [arc & 0x7f];
    let v = Math.floor(arc / 128);
    while (v > 0) {
      tmp.unshift((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    out.push(...tmp);
  }
  return new Uint8Array(out);
}

/** Encodes one element; lengths in definite short/long form (X.690 §10.1). */
export function tlv(tag: number, ...contents: Uint8Array[]): Uint8Array {
  let len = 0;
  for (const c of contents) len += c.length;
  const header: number[] = [tag];
  if (len < 0x80) header.push(len);
  else {
    const bytes: number[] = [];
    for (let v = len; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
    header.push(0x80 | bytes.length, ...bytes);
  }
  const out = new Uint8Array(header.length + len);
  out.set(header, 0);
  let off = header.length;
  for (const c of contents) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

export const oid = (dotted: string): Uint8Array => tlv(Tag.OID, encodeOidValue(dotted));
export const seq = (...contents: Uint8Array[]): Uint8Array => tlv(Tag.SEQUENCE, ...contents);
export const derNull = (): Uint8Array => new Uint8Array([Tag.NULL, 0]);

/** Small non-negative INTEGER (X.690 §8.3), as used for saltLength and trailerField. */
export function smallInt(n: number): Uint8Array {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0]! & 0x80) !== 0) bytes.unshift(0);
  return tlv(Tag.INTEGER, new Uint8Array(bytes));
}

/** Reads a small non-negative INTEGER's contents (rejects negatives and values > 2^31). */
export function decodeSmallInt(value: Uint8Array): number {
  if (value.length === 0 || value.length > 5) throw new Asn1Error('INTEGER out of range');
  if ((value[0]! & 0x80) !== 0) throw new Asn1Error('negative INTEGER');
  let n = 0;
  for (const b of value) n = n * 256 + b;
  if (n > 0x7fffffff) throw new Asn1Error('INTEGER out of range');
  return n;
}

/** Decodes the character string types that occur in X.520 names (RFC 5280 §4.1.2.4). */
export function decodeString(t: Tlv): string {
  switch (t.tag) {
    case Tag.UTF8_STRING:
      return new TextDecoder('utf-8', { fatal: false }).decode(t.value);
    case Tag.PRINTABLE_STRING:
    case Tag.IA5_STRING:
    case Tag.NUMERIC_STRING:
    case Tag.VISIBLE_STRING:
    case Tag.TELETEX_STRING: // T.61 in theory; in practice Latin-1
      return Buffer.from(t.value).toString('latin1');
    case Tag.BMP_STRING: {
      let s = '';
      for (let i = 0; i + 1 < t.value.length; i += 2) s += String.fromCharCode((t.value[i]! << 8) | t.value[i + 1]!);
      return s;
    }
    case Tag.UNIVERSAL_STRING: {
      let s = '';
      for (let i = 0; i + 3 < t.value.length; i += 4) {
        const cp = ((t.value[i]! << 24) | (t.value[i + 1]! << 16) | (t.value[i + 2]! << 8) | t.value[i + 3]!) >>> 0;
        s += cp <= 0x10ffff ? String.fromCodePoint(cp) : '\ufffd';
      }
      return s;
    }
    default:
      // RFC 4514 §2.4: values of other types are shown as '#' + hex of the whole element.
      return '#' + Buffer.from(t.bytes).toString('hex');
  }
}
