// Key exchange: ECP groups 19/20/21 against RFC 5903 §8.1–§8.3, X25519/X448 against RFC 7748
// §5.2 and §6.1/§6.2, small-order rejection (RFC 7748 §6.1, RFC 8031 §2), and MODP groups
// (RFC 2409 §6.2, RFC 3526) checked against the pi formula and an independent BigInt modPow.
import { getDiffieHellman } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ecpExchangeWithPrivate } from '../../../src/crypto/ke/ecp.js';
import { montgomeryExchangeWithPrivate } from '../../../src/crypto/ke/curve25519.js';
import { MODP_GROUP_IDS, modpExchangeWithPrivate, modpPrime } from '../../../src/crypto/ke/modp.js';
import { keGroupFor } from '../../../src/crypto/catalogue.js';
import { IkeError } from '../../../src/ike/errors.js';
import { KeId, NotifyType } from '../../../src/ike/constants.js';
import { fromHex, toHex } from '../../../src/crypto/bytes.js';
import type { KeyExchange } from '../../../src/crypto/suite.js';

function expectInvalidSyntax(fn: () => unknown): void {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(IkeError);
  expect((err as IkeError).notify).toBe(NotifyType.INVALID_SYNTAX);
}

describe('ECP groups (RFC 5903 §8)', () => {
  const vectors = [
    {
      // RFC 5903 §8.1: 256-Bit Random ECP Group
      group: KeId.ECP_256,
      i: 'c88f01f510d9ac3f70a292daa2316de544e9aab8afe84049c62a9c57862d1433',
      gi: 'dad0b65394221cf9b051e1feca5787d098dfe637fc90b9ef945d0c3772581180' + '5271a0461cdb8252d61f1c456fa3e59ab1f45b33accf5f58389e0577b8990bb3',
      r: 'c6ef9c5d78ae012a011164acb397ce2088685d8f06bf9be0b283ab46476bee53',
      gr: 'd12dfb5289c8d4f81208b70270398c342296970a0bccb74c736fc7554494bf63' + '56fbf3ca366cc23e8157854c13c58d6aac23f046ada30f8353e74f33039872ab',
      girx: 'd6840f6b42f6edafd13116e0e12565202fef8e9ece7dce03812464d04b9442de',
    },
    {
      // RFC 5903 §8.2: 384-Bit Random ECP Group
      group: KeId.ECP_384,
      i: '099f3c7034d4a2c699884d73a375a67f7624ef7c6b3c0f160647b67414dce655e35b538041e649ee3faef896783ab194',
      gi:
        '667842d7d180ac2cde6f74f37551f55755c7645c20ef73e31634fe72b4c55ee6de3ac808acb4bdb4c88732aee95f41aa' +
        '9482ed1fc0eeb9cafc4984625ccfc23f65032149e0e144ada024181535a0f38eeb9fcff3c2c947dae69b4c634573a81c',
      r: '41cb0779b4bdb85d47846725fbec3c9430fab46cc8dc5060855cc9bda0aa2942e0308312916b8ed2960e4bd55a7448fc',
      gr:
        'e558dbef53eecde3d3fccfc1aea08a89a987475d12fd950d83cfa41732bc509d0d1ac43a0336def96fda41d0774a3571' +
        'dcfbec7aacf3196472169e838430367f66eebe3c6e70c416dd5f0c68759dd1fff83fa40142209dff5eaad96db9e6386c',
      girx: '11187331c279962d93d604243fd592cb9d0a926f422e47187521287e7156c5c4d603135569b9e9d09cf5d4a270f59746',
    },
    {
      // RFC 5903 §8.3: 521-Bit Random ECP Group
      group: KeId.ECP_521,
      i: '0037ade9319a89f4dabdb3ef411aaccca5123c61acab57b5393dce47608172a095aa85a30fe1c2952c6771d937ba9777f5957b2639bab072462f68c27a57382d4a52',
      gi:
        '0015417e84dbf28c0ad3c278713349dc7df153c897a1891bd98bab4357c9ecbee1e3bf42e00b8e380aeae57c2d107564941885942af5a7f4601723c4195d176ced3e' +
        '017cae20b6641d2eeb695786d8c946146239d099e18e1d5a514c739d7cb4a10ad8a788015ac405d7799dc75e7b7d5b6cf2261a6a7f1507438bf01beb6ca3926f9582',
      r: '0145ba99a847af43793fdd0e872e7cdfa16be30fdc780f97bccc3f078380201e9c677d600b343757a3bdbf2a3163e4c2f869cca7458aa4a4effc311f5cb151685eb9',
      gr:
        '00d0b3975ac4b799f5bea16d5e13e9af971d5e9b984c9f39728b5e5739735a219b97c356436adc6e95bb0352f6be64a6c2912d4ef2d0433ced2b6171640012d9460f' +
        '015c68226383956e3bd066e797b623c27ce0eac2f551a10c2c724d9852077b87220b6536c5c408a1d2aebb8e86d678ae49cb57091f4732296579ab44fcd17f0fc56a',
      girx: '01144c7d79ae6956bc8edb8e7c787c4521cb086fa64407f97894e5e6b2d79b04d1427e73ca4baa240a34786859810c06b3c715a3a8cc3151f2bee417996d19f3ddea',
    },
  ];
  for (const v of vectors) {
    it(`group ${v.group}: KE data is x | y, shared secret is x, both sides agree`, () => {
      const ini = ecpExchangeWithPrivate(v.group, fromHex(v.i));
      const res = ecpExchangeWithPrivate(v.group, fromHex(v.r));
      expect(toHex(ini.publicValue)).toBe(v.gi);
      expect(toHex(res.publicValue)).toBe(v.gr);
      expect(toHex(ini.deriveShared(fromHex(v.gr)))).toBe(v.girx);
      expect(toHex(res.deriveShared(fromHex(v.gi)))).toBe(v.girx);
    });
    it(`group ${v.group}: rejects wrong lengths, the 0x04-prefixed form and points off the curve`, () => {
      const ini = ecpExchangeWithPrivate(v.group, fromHex(v.i));
      const gr = fromHex(v.gr);
      expectInvalidSyntax(() => ini.deriveShared(gr.subarray(1)));
      expectInvalidSyntax(() => ini.deriveShared(new Uint8Array([4, ...gr])));
      const off = gr.slice();
      off[off.length - 1] = (off[off.length - 1] ?? 0) ^ 1; // y changed: not on the curve
      expectInvalidSyntax(() => ini.deriveShared(off));
      expectInvalidSyntax(() => ini.deriveShared(new Uint8Array(gr.length)));
    });
  }
});

describe('Curve25519 / Curve448 (RFC 7748, RFC 8031)', () => {
  it('X25519: RFC 7748 §6.1 Alice and Bob', () => {
    const alice = montgomeryExchangeWithPrivate(KeId.CURVE25519, fromHex('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a'));
    const bob = montgomeryExchangeWithPrivate(KeId.CURVE25519, fromHex('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb'));
    expect(toHex(alice.publicValue)).toBe('8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a');
    expect(toHex(bob.publicValue)).toBe('de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f');
    const k = '4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742';
    expect(toHex(alice.deriveShared(bob.publicValue))).toBe(k);
    expect(toHex(bob.deriveShared(alice.publicValue))).toBe(k);
  });

  it('X25519: RFC 7748 §5.2 first test vector (scalar is clamped)', () => {
    const x = montgomeryExchangeWithPrivate(KeId.CURVE25519, fromHex('a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4'));
    expect(toHex(x.deriveShared(fromHex('e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c')))).toBe(
      'c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552',
    );
  });

  it('X448: RFC 7748 §6.2 Alice and Bob', () => {
    const alice = montgomeryExchangeWithPrivate(
      KeId.CURVE448,
      fromHex('9a8f4925d1519f5775cf46b04b5800d4ee9ee8bae8bc5565d498c28dd9c9baf574a9419744897391006382a6f127ab1d9ac2d8c0a598726b'),
    );
    const bobPub = '3eb7a829b0cd20f5bcfc0b599b6feccf6da4627107bdb0d4f345b43027d8b972fc3e34fb4232a13ca706dcb57aec3dae07bdc1c67bf33609';
    expect(toHex(alice.publicValue)).toBe(
      '9b08f7cc31b7e3e67d22d5aea121074a273bd2b83de09c63faa73d2c22c5d9bbc836647241d953d40c5b12da88120d53177f80e532c41fa0',
    );
    expect(toHex(alice.deriveShared(fromHex(bobPub)))).toBe(
      '07fff4181ac6cc95ec1c16a94a0f74d12da232ce40a77552281d282bb60c0b56fd2464c335543936521c24403085d59a449a5037514a879d',
    );
  });

  it('rejects small-order peer values whose shared secret is all zero (RFC 7748 §6.1)', () => {
    const x = keGroupFor(KeId.CURVE25519).create();
    expectInvalidSyntax(() => x.deriveShared(new Uint8Array(32))); // u = 0
    expectInvalidSyntax(() => x.deriveShared(fromHex('01' + '00'.repeat(31)))); // u = 1 (order 4)
    const y = keGroupFor(KeId.CURVE448).create();
    expectInvalidSyntax(() => y.deriveShared(new Uint8Array(56)));
  });

  it('rejects wrong lengths', () => {
    const x = keGroupFor(KeId.CURVE25519).create();
    expectInvalidSyntax(() => x.deriveShared(new Uint8Array(31)));
    expectInvalidSyntax(() => x.deriveShared(new Uint8Array(33)));
  });
});

// --- MODP -----------------------------------------------------------------------------------

const toBig = (b: Uint8Array): bigint => (b.length === 0 ? 0n : BigInt('0x' + toHex(b)));
const toBytes = (v: bigint, len: number): Uint8Array => fromHex(v.toString(16).padStart(len * 2, '0'));

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

/** floor(pi * 2^bits) by Machin's formula pi = 16 atan(1/5) - 4 atan(1/239), with guard bits. */
function piScaled(bits: number): bigint {
  const guard = 64n;
  const one = 1n << (BigInt(bits) + guard);
  const atanInv = (x: bigint): bigint => {
    let sum = 0n;
    let term = one / x;
    const x2 = x * x;
    for (let k = 0n; term !== 0n; k++) {
      sum += (k % 2n === 0n ? 1n : -1n) * (term / (2n * k + 1n));
      term /= x2;
    }
    return sum;
  };
  return (16n * atanInv(5n) - 4n * atanInv(239n)) >> guard;
}

describe('MODP groups (RFC 2409 §6.2, RFC 3526)', () => {
  // p = 2^n - 2^(n-64) - 1 + 2^64 * ( [2^(n-130) pi] + k ), k as printed in RFC 2409 §6.2 and RFC 3526 §2–§7.
  const formula: [number, number, bigint][] = [
    [KeId.MODP_1024, 1024, 129093n],
    [KeId.MODP_1536, 1536, 741804n],
    [KeId.MODP_2048, 2048, 124476n],
    [KeId.MODP_3072, 3072, 1690314n],
    [KeId.MODP_4096, 4096, 240904n],
    [KeId.MODP_6144, 6144, 929484n],
    [KeId.MODP_8192, 8192, 4743158n],
  ];
  for (const [id, n, k] of formula) {
    it(`group ${id}: the written-out prime equals the ${n}-bit pi formula and OpenSSL's copy`, () => {
      const p = modpPrime(id);
      expect(p).toBeDefined();
      if (!p) return;
      expect(p.length).toBe(n / 8);
      const N = BigInt(n);
      const expected = (1n << N) - (1n << (N - 64n)) - 1n + (1n << 64n) * (piScaled(n - 130) + k);
      expect(toBig(p)).toBe(expected);
      const openssl = { 1024: 'modp2', 1536: 'modp5', 2048: 'modp14', 3072: 'modp15', 4096: 'modp16', 6144: 'modp17', 8192: 'modp18' }[n] ?? '';
      expect(toHex(p)).toBe(getDiffieHellman(openssl).getPrime('hex'));
      // Safe prime with generator 2 generating the order-q subgroup needs p ≡ 7 (mod 8).
      expect(toBig(p) % 8n).toBe(7n);
    });
  }

  it('MODP-1024 and MODP-2048 primes pass a Fermat test for p and q = (p-1)/2', () => {
    for (const id of [KeId.MODP_1024, KeId.MODP_2048]) {
      const p = toBig(modpPrime(id) ?? new Uint8Array(0));
      const q = (p - 1n) / 2n;
      expect(modPow(3n, p - 1n, p)).toBe(1n);
      expect(modPow(3n, q - 1n, q)).toBe(1n);
    }
  });

  for (const id of [KeId.MODP_1024, KeId.MODP_1536, KeId.MODP_2048, KeId.MODP_3072]) {
    it(`group ${id}: node's g^x and (g^y)^x equal an independent BigInt modPow`, () => {
      const pBytes = modpPrime(id) ?? new Uint8Array(0);
      const p = toBig(pBytes);
      const x = fromHex('0f'.repeat(1) + '1d'.repeat(31));
      const y = fromHex('00' + '7a'.repeat(31)); // leading zero octet must not matter
      const a = modpExchangeWithPrivate(id, x);
      const b = modpExchangeWithPrivate(id, y);
      expect(a.publicValue.length).toBe(pBytes.length);
      expect(toBig(a.publicValue)).toBe(modPow(2n, toBig(x), p));
      const shared = a.deriveShared(b.publicValue);
      expect(shared.length).toBe(pBytes.length);
      expect(toBig(shared)).toBe(modPow(toBig(b.publicValue), toBig(x), p));
      expect(toHex(b.deriveShared(a.publicValue))).toBe(toHex(shared));
    });
  }

  it('keeps leading zero octets of the public value and the shared secret (RFC 7296 §2.14)', () => {
    // g^1 = 2 and g^8 = 256 are tiny numbers: the KE data must still be the full modulus length.
    const id = KeId.MODP_1024;
    const small = modpExchangeWithPrivate(id, new Uint8Array([8]));
    expect(small.publicValue.length).toBe(128);
    expect(toHex(small.publicValue)).toBe('00'.repeat(126) + '0100');
    const peer = toBytes(2n, 128);
    expect(toHex(small.deriveShared(peer))).toBe('00'.repeat(126) + '0100');
  });

  it('rejects peer values 0, 1, p-1, p, 2^n-1 and wrong lengths; accepts 2 and p-2', () => {
    const id = KeId.MODP_2048;
    const p = toBig(modpPrime(id) ?? new Uint8Array(0));
    const x = keGroupFor(id).create();
    for (const bad of [0n, 1n, p - 1n, p, (1n << 2048n) - 1n]) expectInvalidSyntax(() => x.deriveShared(toBytes(bad, 256)));
    expectInvalidSyntax(() => x.deriveShared(toBytes(5n, 255)));
    expectInvalidSyntax(() => x.deriveShared(toBytes(5n, 257)));
    expect(x.deriveShared(toBytes(2n, 256)).length).toBe(256);
    expect(x.deriveShared(toBytes(p - 2n, 256)).length).toBe(256);
  });

  it('interleaved exchanges on the shared node object keep their own exponents', () => {
    const g = keGroupFor(KeId.MODP_2048);
    const a = g.create();
    const b = g.create();
    const c = g.create(); // created last: the node object now holds c's key
    expect(toHex(a.deriveShared(b.publicValue))).toBe(toHex(b.deriveShared(a.publicValue)));
    expect(toHex(c.deriveShared(a.publicValue))).toBe(toHex(a.deriveShared(c.publicValue)));
  });
});

describe('every catalogue KE group', () => {
  const ids = [...MODP_GROUP_IDS, KeId.ECP_256, KeId.ECP_384, KeId.ECP_521, KeId.CURVE25519, KeId.CURVE448];
  for (const id of ids) {
    it(`group ${id}: two fresh exchanges agree; wipe() disables the exchange`, () => {
      const g = keGroupFor(id);
      const a: KeyExchange = g.create();
      const b: KeyExchange = g.create();
      expect(a.group).toBe(id);
      expect(a.publicValue.length).toBe(g.publicLength);
      expect(toHex(a.publicValue)).not.toBe(toHex(b.publicValue));
      const s1 = a.deriveShared(b.publicValue);
      expect(toHex(s1)).toBe(toHex(b.deriveShared(a.publicValue)));
      a.wipe();
      expect(() => a.deriveShared(b.publicValue)).toThrow(/wipe/);
    });
  }

  it('unknown groups are a clear error', () => {
    expect(() => keGroupFor(KeId.MODP_768)).toThrow(/unsupported KE method 1/);
    expect(() => keGroupFor(9999)).toThrow(/unsupported/);
  });
});
