// Whole IKE messages and payload chains (RFC 7296 §3.1–§3.2, RFC 7383 §2.5 for SKF).
// The generic payload header is read and written here, once: codecs see only bodies, and
// encoders never count bytes or thread Next Payload fields by hand (architecture §12.7).
// Decoding throws nothing but DecodeError, whatever the input.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { IKE_HEADER_LENGTH, PayloadType, payloadName } from '../constants.js';
import { DecodeError } from '../errors.js';
import { decodeHeader, encodeHeader, type IkeHeader } from './header.js';
import type { Payload, PayloadKind } from './payload.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';
import { authCodec } from './payloads/auth.js';
import { certCodec } from './payloads/cert.js';
import { cpCodec } from './payloads/cp.js';
import { deleteCodec } from './payloads/delete.js';
import { eapCodec } from './payloads/eap.js';
import { idCodec } from './payloads/id.js';
import { keCodec } from './payloads/ke.js';
import { nonceCodec } from './payloads/nonce.js';
import { notifyCodec } from './payloads/notify.js';
import { saCodec } from './payloads/sa.js';
import { skCodec, skfCodec } from './payloads/sk.js';
import { tsCodec } from './payloads/ts.js';
import { unknownCodec } from './payloads/unknown.js';
import { vendorCodec } from './payloads/vendor.js';

/** Generic payload header size (RFC 7296 §3.2). */
export const PAYLOAD_HEADER_LENGTH = 4;
const CRITICAL = 0x80;

type KnownKind = Exclude<PayloadKind, 'unknown'>;

/** Payload type number of every kind this codec understands. */
const TYPE_OF_KIND: Readonly<Record<KnownKind, number>> = {
  sa: PayloadType.SA,
  ke: PayloadType.KE,
  idi: PayloadType.IDi,
  idr: PayloadType.IDr,
  cert: PayloadType.CERT,
  certreq: PayloadType.CERTREQ,
  auth: PayloadType.AUTH,
  nonce: PayloadType.NONCE,
  notify: PayloadType.NOTIFY,
  delete: PayloadType.DELETE,
  vendor: PayloadType.VENDOR,
  tsi: PayloadType.TSi,
  tsr: PayloadType.TSr,
  sk: PayloadType.SK,
  cp: PayloadType.CP,
  eap: PayloadType.EAP,
  skf: PayloadType.SKF,
};

const KIND_OF_TYPE: ReadonlyMap<number, KnownKind> = new Map(
  (Object.entries(TYPE_OF_KIND) as [KnownKind, number][]).map(([kind, type]) => [type, kind]),
);

/**
 * The registry's view of a codec. Methods are compared bivariantly, so each specific codec
 * fits; the kind/codec pairing is guaranteed by the CODECS table below.
 */
interface AnyCodec {
  decode(r: Reader, critical: boolean, type: number, next: number): Payload;
  encode(w: Writer, p: Payload): void;
  validate?(p: Payload): void;
}

// IDi/IDr, CERT/CERTREQ and TSi/TSr share a codec; the payload type picks the kind.
const CODECS: Readonly<Record<PayloadKind, AnyCodec>> = {
  sa: saCodec,
  ke: keCodec,
  idi: idCodec,
  idr: idCodec,
  cert: certCodec,
  certreq: certCodec,
  auth: authCodec,
  nonce: nonceCodec,
  notify: notifyCodec,
  delete: deleteCodec,
  vendor: vendorCodec,
  tsi: tsCodec,
  tsr: tsCodec,
  sk: skCodec,
  cp: cpCodec,
  eap: eapCodec,
  skf: skfCodec,
  unknown: unknownCodec,
};

function codecOf(kind: PayloadKind): AnyCodec {
  return CODECS[kind];
}

/** The kind a payload type decodes to; types this codec does not know are 'unknown'. */
export function kindOfType(type: number): PayloadKind {
  return KIND_OF_TYPE.get(type) ?? 'unknown';
}

/** The payload type number of a known kind. */
export function typeOfKind(kind: Exclude<PayloadKind, 'unknown'>): number {
  return TYPE_OF_KIND[kind];
}

/** The payload type number written on the wire for `p`. */
export function payloadTypeOf(p: Payload): number {
  return p.kind === 'unknown' ? p.type : TYPE_OF_KIND[p.kind];
}

/** SK and SKF end their chain: their Next Payload names the first payload inside them. */
export function isEncryptedPayload(p: Payload): p is Extract<Payload, { kind: 'sk' | 'skf' }> {
  return p.kind === 'sk' || p.kind === 'skf';
}

/**
 * Walks a payload chain starting with type `first` and consumes all of `r`. Used for the
 * clear part of a message and, by the SK protector, for the decrypted inner payloads.
 */
export function decodePayloads(first: number, r: Reader): Payload[] {
  const payloads: Payload[] = [];
  let type = first;
  while (type !== PayloadType.NONE) {
    const name = payloadName(type);
    if (r.remaining < PAYLOAD_HEADER_LENGTH) {
      r.fail(`${name} payload header needs ${PAYLOAD_HEADER_LENGTH} bytes, ${r.remaining} left`);
    }
    const next = r.u8('next payload');
    const critical = (r.u8('flags') & CRITICAL) !== 0; // the other 7 bits are RESERVED
    const length = r.u16('payload length');
    if (length < PAYLOAD_HEADER_LENGTH) r.fail(`${name} payload length ${length} below ${PAYLOAD_HEADER_LENGTH}`);
    const body = r.sub(length - PAYLOAD_HEADER_LENGTH, `${name} payload`);
    const p = codecOf(kindOfType(type)).decode(body, critical, type, next);
    body.end();
    payloads.push(p);
    // SK/SKF run to the end of their declared length and their Next Payload names the
    // first inner payload, so nothing in the clear may follow them (RFC 7296 §3.14).
    if (isEncryptedPayload(p)) break;
    type = next;
  }
  r.end();
  return payloads;
}

/** Encodes a chain; Next Payload fields and lengths are computed here, never by callers. */
export function encodePayloads(payloads: readonly Payload[]): { first: number; bytes: Uint8Array } {
  const w = new Writer();
  payloads.forEach((p, i) => {
    const following = payloads[i + 1];
    if (isEncryptedPayload(p) && following) {
      throw new RangeError(`${p.kind.toUpperCase()} payload must be the last payload of its chain`);
    }
    if (p.kind === 'unknown' && (p.type < 1 || p.type > 0xff || !Number.isInteger(p.type))) {
      throw new RangeError(`cannot encode payload type ${p.type}`);
    }
    const next = isEncryptedPayload(p) ? p.firstInner : following ? payloadTypeOf(following) : PayloadType.NONE;
    w.u8(next).u8(p.critical ? CRITICAL : 0);
    w.withLength16((x) => codecOf(p.kind).encode(x, p), PAYLOAD_HEADER_LENGTH);
  });
  const head = payloads[0];
  return { first: head ? payloadTypeOf(head) : PayloadType.NONE, bytes: w.finish() };
}

/**
 * Decodes a datagram (non-ESP marker already stripped). The header's length must match the
 * datagram exactly; whether that means a drop or an answer is the engine's call. Check the
 * major version with decodeHeader() first: payloads of other versions do not parse as IKEv2.
 */
export function decodeMessage(datagram: Uint8Array): { header: IkeHeader; payloads: Payload[] } {
  const header = decodeHeader(datagram);
  if (header.length !== datagram.length) {
    throw new DecodeError(`IKE header: length field says ${header.length}, datagram has ${datagram.length} bytes`, 24);
  }
  const r = new Reader(datagram.subarray(IKE_HEADER_LENGTH), 'message', IKE_HEADER_LENGTH);
  return { header, payloads: decodePayloads(header.nextPayload, r) };
}

export function encodeMessage(h: Omit<IkeHeader, 'nextPayload' | 'length'>, payloads: readonly Payload[]): Uint8Array {
  const { first, bytes } = encodePayloads(payloads);
  const w = new Writer();
  encodeHeader(w, { ...h, nextPayload: first, length: IKE_HEADER_LENGTH + bytes.length });
  w.bytes(bytes);
  return w.finish();
}

/** Per-payload semantic checks (architecture §12.6); throws IkeError(INVALID_SYNTAX). */
export function validatePayload(p: Payload): void {
  codecOf(p.kind).validate?.(p);
}

export function validatePayloads(payloads: readonly Payload[]): void {
  for (const p of payloads) validatePayload(p);
}
