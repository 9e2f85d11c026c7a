// Bounded cursor over untrusted bytes. Every length-delimited region is read through sub(),
// and decoders finish with end(), so a declared length can never be overrun or left half-read.
import { DecodeError } from '../errors.js';

export class Reader {
  private pos = 0;

  constructor(
    private readonly buf: Uint8Array,
    private readonly where = 'message',
    /** Offset of buf[0] in the outermost message, for error positions. */
    private readonly base = 0,
  ) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  get offset(): number {
    return this.base + this.pos;
  }

  private need(n: number, field: string): void {
    if (n > this.remaining) throw new DecodeError(`${this.where}: ${field} needs ${n} bytes, ${this.remaining} left`, this.offset);
  }

  u8(field: string): number {
    this.need(1, field);
    return this.buf[this.pos++]!;
  }

  u16(field: string): number {
    this.need(2, field);
    const v = (this.buf[this.pos]! << 8) | this.buf[this.pos + 1]!;
    this.pos += 2;
    return v;
  }

  u32(field: string): number {
    this.need(4, field);
    const b = this.buf;
    const p = this.pos;
    this.pos += 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** A view (not a copy) of the next n bytes. */
  bytes(n: number, field: string): Uint8Array {
    this.need(n, field);
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  rest(field: string): Uint8Array {
    return this.bytes(this.remaining, field);
  }

  /** A child reader over the next n bytes; this reader advances past them at once. */
  sub(n: number, what: string): Reader {
    const start = this.offset;
    return new Reader(this.bytes(n, what), what, start);
  }

  /** Throws unless every byte was consumed. */
  end(): void {
    if (this.remaining !== 0) throw new DecodeError(`${this.where}: ${this.remaining} trailing bytes`, this.offset);
  }

  fail(message: string): never {
    throw new DecodeError(`${this.where}: ${message}`, this.offset);
  }
}
