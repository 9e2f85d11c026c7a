// Random bytes for nonces, SPIs, IVs, DH exponents and IKE padding (RFC 7296 §2.10, §3.14).
// node:crypto randomBytes costs ~2.5 µs per call (crypto-costs.md §3.7), so the production
// Rng slices copies out of an 8 KiB pool; `seededRng` is a deterministic generator for tests.
import { createHash, randomBytes } from 'node:crypto';

export interface Rng {
  /** n fresh bytes; the caller owns the returned array (never shared with another caller). */
  bytes(n: number): Uint8Array;
}

const DEFAULT_POOL = 8192;

/**
 * A CSPRNG drawing from a pool. Every byte of the pool is handed out at most once: the slice is
 * copied out (so a long-lived nonce does not pin the whole pool) and the pool region is zeroed.
 */
export function createPooledRng(poolSize: number = DEFAULT_POOL): Rng {
  let pool = new Uint8Array(0);
  let offset = 0;
  return {
    bytes(n: number): Uint8Array {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`invalid random length ${n}`);
      // Large requests would drain the pool for little gain: go to the kernel directly.
      if (n > poolSize / 4) return new Uint8Array(randomBytes(n));
      if (offset + n > pool.length) {
        pool = new Uint8Array(randomBytes(poolSize));
        offset = 0;
      }
      const out = pool.slice(offset, offset + n);
      pool.fill(0, offset, offset + n);
      offset += n;
      return out;
    },
  };
}

/** The process-wide production generator. */
export const systemRng: Rng = createPooledRng();

/**
 * TEST ONLY: a deterministic stream (SHA-256 of seed || counter). Never use it for keys,
 * nonces or SPIs of a real SA — it exists so that tests and fixtures are reproducible.
 */
export function seededRng(seed: number | string | Uint8Array): Rng {
  const seedBytes =
    typeof seed === 'number' ? new TextEncoder().encode(`seed:${seed}`) : typeof seed === 'string' ? new TextEncoder().encode(seed) : seed;
  let counter = 0;
  let buf = new Uint8Array(0);
  let off = 0;
  return {
    bytes(n: number): Uint8Array {
      if (!Number.isInteger(n) || n < 0) throw new RangeError(`invalid random length ${n}`);
      const out = new Uint8Array(n);
      let filled = 0;
      while (filled < n) {
        if (off >= buf.length) {
          const ctr = new Uint8Array(4);
          new DataView(ctr.buffer).setUint32(0, counter++);
          buf = new Uint8Array(createHash('sha256').update(seedBytes).update(ctr).digest());
          off = 0;
        }
        const take = Math.min(n - filled, buf.length - off);
        out.set(buf.subarray(off, off + take), filled);
        off += take;
        filled += take;
      }
      return out;
    },
  };
}
