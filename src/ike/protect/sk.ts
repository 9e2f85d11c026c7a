// The Encrypted payload (RFC 7296 §3.14) and Encrypted Fragment payload (RFC 7383 §2.5):
// sealing a list of inner payloads into a datagram and opening one again. The associated
// data / MAC input is everything from the IKE header up to the IV (RFC 5282 §5.1), which is
// the datagram prefix in front of the SK body because SK/SKF is always the last payload.
import { padPlaintext, unpadPlaintext } from '../../crypto/padding.js';
import type { Rng } from '../../crypto/random.js';
import type { SkKeys, SkProtector } from '../../crypto/suite.js';
import { PayloadType } from '../constants.js';
import type { IkeHeader } from '../codec/header.js';
import { encodeHeader } from '../codec/header.js';
import { encodePayloads } from '../codec/message.js';
import type { Payload } from '../codec/payload.js';
import { Writer } from '../codec/writer.js';

export interface SealContext {
  protector: SkProtector;
  keys: SkKeys;
  rng: Rng;
  /** Monotonic counter source for AEAD IVs; CBC IVs are random (RFC 3602 §3 needs unpredictable IVs). */
  nextIv(): Uint8Array;
}

export type HeaderFields = Omit<IkeHeader, 'nextPayload' | 'length'>;

/** 64-bit big-endian counter IV of `length` bytes (AEAD: RFC 5282 §3.1, RFC 7634 §2). */
export function counterIv(counter: bigint, length: number): Uint8Array {
  const iv = new Uint8Array(length);
  let c = counter;
  for (let i = length - 1; i >= 0 && c > 0n; i--) {
    iv[i] = Number(c & 0xffn);
    c >>= 8n;
  }
  return iv;
}

/** Bytes of an SK datagram around an inner plaintext of `innerLength` bytes (for fragmentation). */
export function skOverhead(protector: SkProtector): number {
  // header + SK generic header + IV + worst-case padding + pad length + ICV
  return 28 + 4 + protector.ivLength + protector.blockLength + protector.icvLength;
}

function sealInto(
  ctx: SealContext,
  header: HeaderFields,
  payloadType: number,
  firstInner: number,
  innerBytes: Uint8Array,
  fragment?: { number: number; total: number },
): Uint8Array {
  const plaintext = padPlaintext(ctx.protector, innerBytes, ctx.rng);
  const iv = ctx.nextIv();
  const sealedLength = plaintext.length + ctx.protector.icvLength;
  const fragFields = fragment ? 4 : 0;
  const skLength = 4 + fragFields + iv.length + sealedLength;
  const w = new Writer();
  encodeHeader(w, { ...header, nextPayload: payloadType, length: 28 + skLength });
  w.u8(firstInner).u8(0).u16(skLength);
  if (fragment) w.u16(fragment.number).u16(fragment.total);
  const aad = w.finish();
  const sealed = ctx.protector.seal(ctx.keys, iv, aad, plaintext);
  const out = new Uint8Array(aad.length + iv.length + sealed.length);
  out.set(aad);
  out.set(iv, aad.length);
  out.set(sealed, aad.length + iv.length);
  return out;
}

/** Seals inner payloads into one datagram: HDR, SK { inner }. */
export function sealMessage(ctx: SealContext, header: HeaderFields, inner: Payload[]): Uint8Array {
  const { first, bytes } = encodePayloads(inner);
  return sealBytes(ctx, header, first, bytes);
}

/** Seals already-encoded inner payload bytes (first type `firstInner`) into HDR, SK { … }. */
export function sealBytes(ctx: SealContext, header: HeaderFields, firstInner: number, innerBytes: Uint8Array): Uint8Array {
  return sealInto(ctx, header, PayloadType.SK, firstInner, innerBytes);
}

/**
 * Seals inner payloads as RFC 7383 fragments so that every datagram fits `maxDatagram`
 * bytes of IKE message. Returns a single SK datagram when it fits anyway.
 */
export function sealFragmented(ctx: SealContext, header: HeaderFields, inner: Payload[], maxDatagram: number): Uint8Array[] {
  const { first, bytes } = encodePayloads(inner);
  const whole = 28 + 4 + ctx.protector.ivLength + bytes.length + ctx.protector.blockLength + ctx.protector.icvLength;
  if (whole <= maxDatagram) return [sealInto(ctx, header, PayloadType.SK, first, bytes)];
  const room = maxDatagram - skOverhead(ctx.protector) - 4;
  if (room < 64) throw new Error(`fragment size ${maxDatagram} leaves no room for data`);
  const total = Math.ceil(bytes.length / room);
  const out: Uint8Array[] = [];
  for (let i = 0; i < total; i++) {
    const chunk = bytes.subarray(i * room, Math.min(bytes.length, (i + 1) * room));
    out.push(sealInto(ctx, header, PayloadType.SKF, i === 0 ? first : 0, chunk, { number: i + 1, total }));
  }
  return out;
}

/**
 * Opens the SK or SKF payload that ends `datagram`. `body` is the payload body as decoded
 * (IV || ciphertext || ICV). Returns the inner bytes (padding removed), or undefined when
 * the ICV does not verify or the padding is malformed: such datagrams are dropped silently.
 */
export function openBody(protector: SkProtector, keys: SkKeys, datagram: Uint8Array, body: Uint8Array): Uint8Array | undefined {
  if (body.length < protector.ivLength + protector.icvLength) return undefined;
  const bodyStart = datagram.length - body.length;
  const aad = datagram.subarray(0, bodyStart);
  const iv = body.subarray(0, protector.ivLength);
  const sealed = body.subarray(protector.ivLength);
  if (protector.blockLength > 1 && (sealed.length - protector.icvLength) % protector.blockLength !== 0) return undefined;
  const plaintext = protector.open(keys, iv, aad, sealed);
  if (!plaintext) return undefined;
  return unpadPlaintext(plaintext);
}
