// MD4 message digest (RFC 1320 §3), needed only for the MS-CHAPv2 NT password hash
// (RFC 2759 §8.3 NtPasswordHash, §8.4 HashNtPasswordHash). node's OpenSSL 3 refuses md4
// without --openssl-legacy-provider and @noble/hashes has none (crypto-costs.md §2, §3 item 9),
// so it lives here. MD4 is broken as a hash; never use it for anything but MS-CHAPv2.

const INIT = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476] as const;

// Round constants (RFC 1320 §3.4): round 2 adds sqrt(2)·2^30, round 3 sqrt(3)·2^30.
const K2 = 0x5a827999;
const K3 = 0x6ed9eba1;

// Word order and shift amounts of rounds 2 and 3 (round 1 walks X[0..15] with shifts 3,7,11,19).
const R2_ORDER = [0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15] as const;
const R3_ORDER = [0, 8, 4, 12, 2, 10, 6, 14, 1, 9, 5, 13, 3, 11, 7, 15] as const;
const S1 = [3, 7, 11, 19] as const;
const S2 = [3, 5, 9, 13] as const;
const S3 = [3, 9, 11, 15] as const;

const rotl = (x: number, s: number): number => (x << s) | (x >>> (32 - s));

/** MD4 of `message` (RFC 1320), 16 bytes. */
export function md4(message: Uint8Array): Uint8Array {
  // §3.1–3.2: append 0x80, zero-pad to 56 mod 64, then the bit length as 64-bit little-endian.
  const padded = new Uint8Array((((message.length + 8) >>> 6) + 1) << 6);
  padded.set(message);
  padded[message.length] = 0x80;
  const view = new DataView(padded.buffer);
  const bitLen = message.length * 8;
  view.setUint32(padded.length - 8, bitLen >>> 0, true);
  view.setUint32(padded.length - 4, Math.floor(bitLen / 0x100000000) >>> 0, true);

  let [a, b, c, d] = INIT as unknown as [number, number, number, number];
  const x = new Uint32Array(16);
  for (let off = 0; off < padded.length; off += 64) {
    for (let i = 0; i < 16; i++) x[i] = view.getUint32(off + i * 4, true);
    const aa = a;
    const bb = b;
    const cc = c;
    const dd = d;
    // Round 1: F(X,Y,Z) = XY v not(X) Z;  [abcd k s]  a = (a + F(b,c,d) + X[k]) <<< s
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + ((b & c) | (~b & d)) + x[i]!) | 0, S1[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 2: G(X,Y,Z) = XY v XZ v YZ;  a = (a + G(b,c,d) + X[k] + 5A827999) <<< s
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + ((b & c) | (b & d) | (c & d)) + x[R2_ORDER[i]!]! + K2) | 0, S2[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    // Round 3: H(X,Y,Z) = X xor Y xor Z;  a = (a + H(b,c,d) + X[k] + 6ED9EBA1) <<< s
    for (let i = 0; i < 16; i++) {
      const t = rotl((a + (b ^ c ^ d) + x[R3_ORDER[i]!]! + K3) | 0, S3[i & 3]!);
      a = d;
      d = c;
      c = b;
      b = t;
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  x.fill(0);
  padded.fill(0); // the input may be a password

  const out = new Uint8Array(16);
  const ov = new DataView(out.buffer);
  ov.setUint32(0, a, true);
  ov.setUint32(4, b, true);
  ov.setUint32(8, c, true);
  ov.setUint32(12, d, true);
  return out;
}
