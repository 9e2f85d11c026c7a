// EAP-TLS Type-Data framing, fragmentation and reassembly (RFC 5216 §2.1.5, §3.1, §3.2; unchanged
// by RFC 9190 §2.1.7). Pure functions and two small state holders; no TLS, no I/O.
//
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Code      |   Identifier  |            Length             |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     Type      |     Flags     |      TLS Message Length
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  |     TLS Message Length        |       TLS Data...
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
//  Flags: L (0x80) length included, M (0x40) more fragments, S (0x20) EAP-TLS start; the low five
//  bits are reserved (sent as zero, ignored on receipt). Here we see Flags onward (Type-Data).

import { concat } from '../../crypto/bytes.js';

export const EapTlsFlag = {
  L: 0x80,
  M: 0x40,
  S: 0x20,
} as const;

export interface EapTlsFrame {
  flags: number;
  /** TLS Message Length when L is set. */
  messageLength: number | undefined;
  /** This fragment's TLS data (a view into the input). */
  data: Uint8Array;
}

/** Thrown for malformed or abusive framing; the method turns it into an EAP failure. */
export class EapTlsFramingError extends Error {
  override readonly name = 'EapTlsFramingError';
}

export function decodeEapTlsData(typeData: Uint8Array): EapTlsFrame {
  const flags = typeData[0];
  if (flags === undefined) throw new EapTlsFramingError('EAP-TLS packet without Flags octet');
  if (flags & EapTlsFlag.L) {
    if (typeData.length < 5) throw new EapTlsFramingError('EAP-TLS L flag set but TLS Message Length truncated');
    const messageLength = new DataView(typeData.buffer, typeData.byteOffset + 1, 4).getUint32(0);
    return { flags, messageLength, data: typeData.subarray(5) };
  }
  return { flags, messageLength: undefined, data: typeData.subarray(1) };
}

export function encodeEapTlsData(flags: number, data: Uint8Array, messageLength?: number): Uint8Array {
  const withLength = messageLength !== undefined;
  const out = new Uint8Array(1 + (withLength ? 4 : 0) + data.length);
  out[0] = (flags & ~EapTlsFlag.L) | (withLength ? EapTlsFlag.L : 0);
  if (withLength) new DataView(out.buffer).setUint32(1, messageLength);
  out.set(data, withLength ? 5 : 1);
  return out;
}

/**
 * Collects the fragments of one TLS message from the peer (RFC 5216 §3.2: each M-flagged fragment
 * is acknowledged with an empty EAP-TLS Request). Bounded by `maxMessage` whether or not the peer
 * announced a length.
 */
export class Reassembler {
  #parts: Uint8Array[] = [];
  #received = 0;
  #expected: number | undefined;

  constructor(private readonly maxMessage: number) {}

  get inProgress(): boolean {
    return this.#parts.length > 0 || this.#expected !== undefined;
  }

  /** Adds one fragment; returns the whole message when this was the last fragment. */
  add(frame: EapTlsFrame): Uint8Array | undefined {
    if (frame.messageLength !== undefined) {
      if (frame.messageLength > this.maxMessage)
        throw new EapTlsFramingError(`TLS message length ${frame.messageLength} exceeds limit of ${this.maxMessage} bytes`);
      if (this.#expected === undefined) {
        if (this.#received > 0) throw new EapTlsFramingError('TLS Message Length announced after the first fragment');
        this.#expected = frame.messageLength;
      } else if (this.#expected !== frame.messageLength) {
        throw new EapTlsFramingError(`TLS Message Length changed between fragments (${this.#expected} -> ${frame.messageLength})`);
      }
    }
    this.#received += frame.data.length;
    if (this.#received > (this.#expected ?? this.maxMessage))
      throw new EapTlsFramingError(
        this.#expected === undefined ? `TLS message exceeds limit of ${this.maxMessage} bytes` : `fragments exceed announced TLS Message Length ${this.#expected}`,
      );
    if (frame.data.length > 0) this.#parts.push(frame.data.slice());
    if (frame.flags & EapTlsFlag.M) {
      if (frame.data.length === 0) throw new EapTlsFramingError('empty EAP-TLS fragment with M flag');
      return undefined;
    }
    if (this.#expected !== undefined && this.#received !== this.#expected)
      throw new EapTlsFramingError(`reassembled TLS message has ${this.#received} bytes, announced ${this.#expected}`);
    const message = concat(...this.#parts);
    this.reset();
    return message;
  }

  reset(): void {
    this.#parts = [];
    this.#received = 0;
    this.#expected = undefined;
  }
}

/**
 * Cuts one outgoing TLS flight into EAP-TLS Type-Data fragments of at most `fragmentSize` TLS
 * bytes. The first fragment carries L with the total length (also when unfragmented, as strongSwan
 * does with include_length), every fragment but the last carries M (RFC 5216 §2.1.5).
 */
export class Fragmenter {
  #message: Uint8Array = new Uint8Array(0);
  #offset = 0;
  #pending = false;

  constructor(private readonly fragmentSize: number) {}

  /** True while fragments of the current message remain to be sent. */
  get pending(): boolean {
    return this.#pending;
  }

  load(message: Uint8Array): void {
    this.#message = message;
    this.#offset = 0;
    this.#pending = true;
  }

  /** The next fragment's Type-Data. */
  next(): Uint8Array {
    if (!this.#pending) throw new Error('no EAP-TLS fragment pending');
    const first = this.#offset === 0;
    const end = Math.min(this.#offset + this.fragmentSize, this.#message.length);
    const more = end < this.#message.length;
    const typeData = encodeEapTlsData(more ? EapTlsFlag.M : 0, this.#message.subarray(this.#offset, end), first ? this.#message.length : undefined);
    this.#offset = end;
    if (!more) {
      this.#pending = false;
      this.#message = new Uint8Array(0);
    }
    return typeData;
  }
}
