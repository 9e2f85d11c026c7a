// Byte-string helpers shared by every layer. Bytes are always Uint8Array (never bigint:
// leading zero octets of nonces and KE values are significant).
import { timingSafeEqual } from 'node:crypto';

export function concat(...parts: readonly Uint8Array[]): Uint8Array {
  let total = 0;
  for (const p of parts) total += p.length;
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Constant-time comparison for MACs, AUTH values and cookies. */
export function ctEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  return timingSafeEqual(a, b);
}

/** Plain (not constant-time) equality, for public values such as SPIs and hashes of requests. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Overwrites secrets that are no longer needed. */
export function wipe(...arrays: (Uint8Array | undefined)[]): void {
  for (const a of arrays) a?.fill(0);
}

export function toHex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s:]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`invalid hex string: ${hex.slice(0, 32)}`);
  return new Uint8Array(Buffer.from(clean, 'hex'));
}

export function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}

/** A Buffer view of the same memory, for node:crypto calls (no copy). */
export function asBuffer(b: Uint8Array): Buffer {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

