// Crypto benchmarks: every KE group (keygen + derive, node vs @noble/curves or a plain BigInt
// modPow), PRF/prf+ and SK seal/open of 1 KiB (node vs @noble/ciphers). Compare with the figures
// in /work/shared/design/crypto-costs.md §2.
import { randomBytes } from 'node:crypto';
import { x25519 } from '@noble/curves/ed25519.js';
import { x448 } from '@noble/curves/ed448.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { cbc, gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { keGroupFor, skProtectorFor } from '../src/crypto/catalogue.js';
import { modpPrime } from '../src/crypto/ke/modp.js';
import { PRF_HMAC_SHA2_256, prfPlus } from '../src/crypto/prf.js';
import { EncrId, IntegId, KeId } from '../src/ike/constants.js';
import { concat, ctEqual } from '../src/crypto/bytes.js';

export interface BenchCase {
  /** Algorithm, e.g. "X25519", "AES-256-GCM-16 1 KiB". */
  algorithm: string;
  impl: 'node' | 'noble' | 'bigint';
  operation: string;
  run: () => unknown;
  /** `openssl speed` algorithm for the reference column; one exchange ≈ 2 derive operations. */
  openssl?: string;
}

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

function keCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const groups: { id: number; algorithm: string; openssl?: string }[] = [
    { id: KeId.CURVE25519, algorithm: 'X25519 (31)', openssl: 'ecdhx25519' },
    { id: KeId.CURVE448, algorithm: 'X448 (32)', openssl: 'ecdhx448' },
    { id: KeId.ECP_256, algorithm: 'ECP-256 (19)', openssl: 'ecdhp256' },
    { id: KeId.ECP_384, algorithm: 'ECP-384 (20)', openssl: 'ecdhp384' },
    { id: KeId.ECP_521, algorithm: 'ECP-521 (21)', openssl: 'ecdhp521' },
    { id: KeId.MODP_1024, algorithm: 'MODP-1024 (2)' },
    { id: KeId.MODP_1536, algorithm: 'MODP-1536 (5)' },
    { id: KeId.MODP_2048, algorithm: 'MODP-2048 (14)', openssl: 'ffdh2048' },
    { id: KeId.MODP_3072, algorithm: 'MODP-3072 (15)', openssl: 'ffdh3072' },
    { id: KeId.MODP_4096, algorithm: 'MODP-4096 (16)' },
  ];
  for (const g of groups) {
    const group = keGroupFor(g.id);
    const peer = group.create().publicValue;
    cases.push({
      algorithm: g.algorithm,
      impl: 'node',
      operation: 'keygen + derive',
      openssl: g.openssl,
      run: () => {
        const x = group.create();
        const z = x.deriveShared(peer);
        x.wipe();
        return z;
      },
    });
  }

  const montgomery = [
    { algorithm: 'X25519 (31)', c: x25519 },
    { algorithm: 'X448 (32)', c: x448 },
  ];
  for (const m of montgomery) {
    const peer = m.c.getPublicKey(m.c.utils.randomSecretKey());
    cases.push({
      algorithm: m.algorithm,
      impl: 'noble',
      operation: 'keygen + derive',
      run: () => {
        const sk = m.c.utils.randomSecretKey();
        consumeLocal(m.c.getPublicKey(sk));
        return m.c.getSharedSecret(sk, peer);
      },
    });
  }
  const weierstrass = [
    { algorithm: 'ECP-256 (19)', c: p256 },
    { algorithm: 'ECP-384 (20)', c: p384 },
    { algorithm: 'ECP-521 (21)', c: p521 },
  ];
  for (const w of weierstrass) {
    const peer = w.c.getPublicKey(w.c.utils.randomSecretKey(), false);
    cases.push({
      algorithm: w.algorithm,
      impl: 'noble',
      operation: 'keygen + derive',
      run: () => {
        const sk = w.c.utils.randomSecretKey();
        consumeLocal(w.c.getPublicKey(sk, false));
        return w.c.getSharedSecret(sk, peer, true).subarray(1); // x coordinate only
      },
    });
  }

  // A plain square-and-multiply BigInt modPow with 256-bit exponents, as a pure-JS baseline.
  for (const [id, algorithm] of [
    [KeId.MODP_1024, 'MODP-1024 (2)'],
    [KeId.MODP_2048, 'MODP-2048 (14)'],
    [KeId.MODP_3072, 'MODP-3072 (15)'],
  ] as const) {
    const p = BigInt('0x' + Buffer.from(modpPrime(id) ?? new Uint8Array(1)).toString('hex'));
    const peer = modPow(2n, BigInt('0x' + Buffer.from(rnd(32)).toString('hex')), p);
    cases.push({
      algorithm,
      impl: 'bigint',
      operation: 'keygen + derive',
      run: () => {
        const x = BigInt('0x' + Buffer.from(rnd(32)).toString('hex'));
        consumeLocal(modPow(2n, x, p));
        return modPow(peer, x, p);
      },
    });
  }
  return cases;
}

let localSink = 0;
function consumeLocal(v: Uint8Array | bigint): void {
  localSink ^= typeof v === 'bigint' ? Number(v & 1n) : (v[0] ?? 0);
}

function modPow(base: bigint, exp: bigint, mod: bigint): bigint {
  let r = 1n;
  let b = base % mod;
  let e = exp;
  while (e > 0n) {
    if (e & 1n) r = (r * b) % mod;
    b = (b * b) % mod;
    e >>= 1n;
  }
  return r;
}

function noblePrfPlus(key: Uint8Array, seed: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(Math.ceil(length / 32) * 32);
  let prev = new Uint8Array(0);
  for (let n = 1; n * 32 - 32 < length; n++) {
    prev = hmac(sha256, key, concat(prev, seed, new Uint8Array([n])));
    out.set(prev, (n - 1) * 32);
  }
  return out.subarray(0, length);
}

function symmetricCases(): BenchCase[] {
  const cases: BenchCase[] = [];
  const key32 = rnd(32);
  const data64 = rnd(64);
  cases.push({ algorithm: 'PRF HMAC-SHA2-256 64 B', impl: 'node', operation: 'compute', run: () => PRF_HMAC_SHA2_256.compute(key32, data64) });
  cases.push({ algorithm: 'PRF HMAC-SHA2-256 64 B', impl: 'noble', operation: 'compute', run: () => hmac(sha256, key32, data64) });
  const seed = rnd(80); // Ni | Nr | SPIi | SPIr with 32-byte nonces
  cases.push({ algorithm: 'prf+ HMAC-SHA2-256 224 B', impl: 'node', operation: 'expand', run: () => prfPlus(PRF_HMAC_SHA2_256, key32, seed, 224) });
  cases.push({ algorithm: 'prf+ HMAC-SHA2-256 224 B', impl: 'noble', operation: 'expand', run: () => noblePrfPlus(key32, seed, 224) });

  const aad = rnd(32);
  const pt = rnd(1024);
  // AES-256-CBC + HMAC-SHA2-256-128
  {
    const p = skProtectorFor({ id: EncrId.AES_CBC, keyBits: 256 }, IntegId.HMAC_SHA2_256_128);
    const keys = { enc: rnd(32), integ: rnd(32) };
    const iv = rnd(16);
    const sealed = p.seal(keys, iv, aad, pt);
    const algorithm = 'AES-256-CBC + HMAC-SHA2-256-128 1 KiB';
    cases.push({ algorithm, impl: 'node', operation: 'seal', run: () => p.seal(keys, iv, aad, pt) });
    cases.push({ algorithm, impl: 'node', operation: 'open', run: () => p.open(keys, iv, aad, sealed) });
    const nobleSeal = (): Uint8Array => {
      const ct = cbc(keys.enc, iv, { disablePadding: true }).encrypt(pt);
      return concat(ct, hmac(sha256, keys.integ, concat(aad, iv, ct)).subarray(0, 16));
    };
    cases.push({ algorithm, impl: 'noble', operation: 'seal', run: nobleSeal });
    cases.push({
      algorithm,
      impl: 'noble',
      operation: 'open',
      run: () => {
        const ct = sealed.subarray(0, sealed.length - 16);
        if (!ctEqual(hmac(sha256, keys.integ, concat(aad, iv, ct)).subarray(0, 16), sealed.subarray(sealed.length - 16))) return undefined;
        return cbc(keys.enc, iv, { disablePadding: true }).decrypt(ct);
      },
    });
  }
  // AES-256-GCM-16 and ChaCha20-Poly1305: key | salt, nonce = salt | iv
  const aeads = [
    { algorithm: 'AES-256-GCM-16 1 KiB', encr: { id: EncrId.AES_GCM_16, keyBits: 256 }, noble: gcm },
    { algorithm: 'ChaCha20-Poly1305 1 KiB', encr: { id: EncrId.CHACHA20_POLY1305 }, noble: chacha20poly1305 },
  ];
  for (const a of aeads) {
    const p = skProtectorFor(a.encr);
    const keys = { enc: rnd(36), integ: new Uint8Array(0) };
    const iv = rnd(8);
    const sealed = p.seal(keys, iv, aad, pt);
    const nonce = concat(keys.enc.subarray(32), iv);
    cases.push({ algorithm: a.algorithm, impl: 'node', operation: 'seal', run: () => p.seal(keys, iv, aad, pt) });
    cases.push({ algorithm: a.algorithm, impl: 'node', operation: 'open', run: () => p.open(keys, iv, aad, sealed) });
    cases.push({ algorithm: a.algorithm, impl: 'noble', operation: 'seal', run: () => a.noble(keys.enc.subarray(0, 32), nonce, aad).encrypt(pt) });
    cases.push({ algorithm: a.algorithm, impl: 'noble', operation: 'open', run: () => a.noble(keys.enc.subarray(0, 32), nonce, aad).decrypt(sealed) });
  }
  return cases;
}

export function cryptoBenches(): BenchCase[] {
  const all = [...keCases(), ...symmetricCases()];
  if (localSink === -1) console.log(''); // keeps the local sink observable
  return all;
}
