// The one shape every payload codec has (RFC 7296 §3.2 generic header handled by message.ts).
// A codec sees only the payload body: the generic header (Next Payload, C bit, length) is
// read and written once, in message.ts, so no codec can get a length or a chain wrong.
import { NotifyType } from '../../constants.js';
import { IkeError } from '../../errors.js';
import type { PayloadKind, PayloadOf } from '../payload.js';
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';

export interface PayloadCodec<K extends PayloadKind = PayloadKind> {
  /**
   * Syntax only: structure and lengths; throws DecodeError. `r` covers exactly the body.
   * `next` is the generic header's Next Payload field; only SK/SKF keep it (as `firstInner`).
   */
  decode(r: Reader, critical: boolean, type: number, next: number): PayloadOf<K>;
  /** Writes the body only. */
  encode(w: Writer, p: PayloadOf<K>): void;
  /** Per-payload semantics (e.g. nonce 16..256 octets); throws IkeError(INVALID_SYNTAX). */
  validate?(p: PayloadOf<K>): void;
}

/** Reads and discards `n` RESERVED octets: senders MUST zero them, receivers MUST ignore them. */
export function skipReserved(r: Reader, n: number): void {
  r.bytes(n, 'RESERVED');
}

export function writeReserved(w: Writer, n: number): void {
  for (let i = 0; i < n; i++) w.u8(0);
}

/** The error every validate() throws: a malformed-but-parsable payload is INVALID_SYNTAX. */
export function invalid(message: string): never {
  throw new IkeError(NotifyType.INVALID_SYNTAX, message);
}

/** Encoders refuse values that do not fit their field: that is a bug in the caller. */
export function checkFits(value: number, bits: 8 | 16 | 32, field: string): void {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${field}: ${value} does not fit ${bits} bits`);
  }
}
