// Finite-field Diffie-Hellman key exchange for the MODP groups 2, 5, 14–18 (RFC 2409 §6.2,
// RFC 3526) as IKEv2 KE methods (RFC 7296 §2.14, §3.4). Follows crypto-costs.md §3 traps 1–3:
// one reused node DiffieHellman object per group, our own short exponents, computeSecret with the
// RFC 6989-style range check 1 < y < p-1 done here (safe primes need nothing more).
import { createDiffieHellman, type DiffieHellman } from 'node:crypto';
import type { KeGroup, KeyExchange } from '../suite.js';
import { KeId, NotifyType } from '../../ike/constants.js';
import { IkeError } from '../../ike/errors.js';
import { fromHex, wipe } from '../bytes.js';
import { systemRng, type Rng } from '../random.js';
import * as P from './modp-primes.js';

interface ModpParams {
  id: number;
  name: string;
  primeHex: string;
  /** Private exponent length in bytes: at least twice the group's security strength (NIST SP 800-57). */
  exponentBytes: number;
}

const PARAMS: readonly ModpParams[] = [
  { id: KeId.MODP_1024, name: 'MODP_1024', primeHex: P.MODP_1024_PRIME, exponentBytes: 32 }, // ~80-bit strength
  { id: KeId.MODP_1536, name: 'MODP_1536', primeHex: P.MODP_1536_PRIME, exponentBytes: 32 }, // ~90
  { id: KeId.MODP_2048, name: 'MODP_2048', primeHex: P.MODP_2048_PRIME, exponentBytes: 32 }, // 112
  { id: KeId.MODP_3072, name: 'MODP_3072', primeHex: P.MODP_3072_PRIME, exponentBytes: 32 }, // 128
  { id: KeId.MODP_4096, name: 'MODP_4096', primeHex: P.MODP_4096_PRIME, exponentBytes: 40 }, // ~150
  { id: KeId.MODP_6144, name: 'MODP_6144', primeHex: P.MODP_6144_PRIME, exponentBytes: 48 }, // ~176
  { id: KeId.MODP_8192, name: 'MODP_8192', primeHex: P.MODP_8192_PRIME, exponentBytes: 64 }, // ~200
];

interface GroupState {
  params: ModpParams;
  prime: Uint8Array;
  primeMinusOne: Uint8Array;
  /** Built on first use: the constructor is expensive (ms), set-up per exchange is ~1 µs. */
  dh?: DiffieHellman;
}

const states = new Map<number, GroupState>();

function stateOf(id: number): GroupState | undefined {
  let s = states.get(id);
  if (s) return s;
  const params = PARAMS.find((p) => p.id === id);
  if (!params) return undefined;
  const prime = fromHex(params.primeHex);
  const primeMinusOne = prime.slice();
  // The MODP primes end in ...FFFFFFFF, so p-1 only changes the last octet.
  primeMinusOne[primeMinusOne.length - 1] = (primeMinusOne[primeMinusOne.length - 1] ?? 0) - 1;
  s = { params, prime, primeMinusOne };
  states.set(id, s);
  return s;
}

function dhOf(s: GroupState): DiffieHellman {
  s.dh ??= createDiffieHellman(Buffer.from(s.prime), 2);
  return s.dh;
}

/** Big-endian comparison of two equal-length byte strings. */
function compare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function leftPad(v: Uint8Array, len: number): Uint8Array {
  if (v.length === len) return new Uint8Array(v);
  const out = new Uint8Array(len);
  out.set(v.subarray(Math.max(0, v.length - len)), Math.max(0, len - v.length));
  return out;
}

function isAtMostOne(v: Uint8Array): boolean {
  for (let i = 0; i < v.length - 1; i++) if (v[i] !== 0) return false;
  return (v[v.length - 1] ?? 0) <= 1;
}

class ModpExchange implements KeyExchange {
  readonly group: number;
  readonly publicValue: Uint8Array;
  private x: Uint8Array | undefined;

  constructor(
    private readonly s: GroupState,
    exponent: Uint8Array,
  ) {
    this.group = s.params.id;
    this.x = exponent;
    const dh = dhOf(s);
    dh.setPrivateKey(Buffer.from(exponent));
    // With a private key set, generateKeys() computes g^x mod p from it (no new exponent).
    const pub = dh.generateKeys();
    // KE data is exactly the modulus length, left-padded with zeros (RFC 7296 §3.4).
    this.publicValue = leftPad(pub, s.prime.length);
  }

  deriveShared(peerValue: Uint8Array): Uint8Array {
    const { prime, primeMinusOne, params } = this.s;
    if (!this.x) throw new Error('KeyExchange used after wipe()');
    if (peerValue.length !== prime.length) {
      throw new IkeError(NotifyType.INVALID_SYNTAX, `${params.name} KE data is ${peerValue.length} bytes, expected ${prime.length}`);
    }
    // RFC 6989 §2.1 for safe-prime groups: reject 0, 1, p-1 and anything >= p.
    if (isAtMostOne(peerValue) || compare(peerValue, primeMinusOne) >= 0) {
      throw new IkeError(NotifyType.INVALID_SYNTAX, `${params.name} peer public value out of range`);
    }
    const dh = dhOf(this.s);
    // The node object is shared by every exchange of this group: re-install our exponent first.
    dh.setPrivateKey(Buffer.from(this.x));
    let z: Buffer;
    try {
      z = dh.computeSecret(Buffer.from(peerValue.buffer, peerValue.byteOffset, peerValue.byteLength));
    } catch (e) {
      throw new IkeError(NotifyType.INVALID_SYNTAX, `${params.name} peer public value rejected: ${(e as Error).message}`);
    }
    // g^ir is as long as p, with leading zeros kept (RFC 7296 §2.14, RFC 2631 §2.1.2).
    const shared = leftPad(z, prime.length);
    z.fill(0);
    return shared;
  }

  wipe(): void {
    wipe(this.x);
    this.x = undefined;
  }
}

function randomExponent(s: GroupState, rng: Rng): Uint8Array {
  for (;;) {
    const x = rng.bytes(s.params.exponentBytes);
    if (!isAtMostOne(x)) return x; // exponents 0 and 1 would leak or fix the public value
  }
}

function makeGroup(s: GroupState, rng: Rng): KeGroup {
  return {
    id: s.params.id,
    name: s.params.name,
    publicLength: s.prime.length,
    create: () => new ModpExchange(s, randomExponent(s, rng)),
  };
}

/** The KeGroup for a MODP KE id, or undefined if the id is not a MODP group we implement. */
export function modpGroup(id: number, rng: Rng = systemRng): KeGroup | undefined {
  const s = stateOf(id);
  return s ? makeGroup(s, rng) : undefined;
}

export const MODP_GROUP_IDS: readonly number[] = PARAMS.map((p) => p.id);

/** The group's prime p (big-endian, modulus length); used by tests and benches. */
export function modpPrime(id: number): Uint8Array | undefined {
  return stateOf(id)?.prime.slice();
}

/**
 * TEST ONLY: an exchange with a caller-chosen exponent, for known-answer tests. Not reachable
 * through the catalogue.
 */
export function modpExchangeWithPrivate(id: number, exponent: Uint8Array): KeyExchange {
  const s = stateOf(id);
  if (!s) throw new Error(`not a MODP group: ${id}`);
  return new ModpExchange(s, exponent.slice());
}
