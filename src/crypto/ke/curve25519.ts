// X25519 and X448 key exchange as IKEv2 groups 31 and 32 (RFC 8031, RFC 7748 §5–§6).
// Keys move in and out of node as JWK only: DER costs ~100 µs per call, and exporting a freshly
// generated key as JWK can deadlock node 20 (crypto-costs.md §3.4–§3.5), so the public value is
// requested as JWK from generateKeyPairSync itself.
import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import type { KeGroup, KeyExchange } from '../suite.js';
import { KeId, NotifyType } from '../../ike/constants.js';
import { IkeError } from '../../ike/errors.js';

interface XParams {
  id: number;
  name: string;
  type: 'x25519' | 'x448';
  crv: 'X25519' | 'X448';
  length: number;
}

const PARAMS: readonly XParams[] = [
  { id: KeId.CURVE25519, name: 'CURVE_25519', type: 'x25519', crv: 'X25519', length: 32 },
  { id: KeId.CURVE448, name: 'CURVE_448', type: 'x448', crv: 'X448', length: 56 },
];

const b64u = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64url');

class XExchange implements KeyExchange {
  readonly group: number;

  constructor(
    private readonly p: XParams,
    private key: KeyObject | undefined,
    readonly publicValue: Uint8Array,
  ) {
    this.group = p.id;
  }

  deriveShared(peerValue: Uint8Array): Uint8Array {
    const { name, crv, length } = this.p;
    if (!this.key) throw new Error('KeyExchange used after wipe()');
    if (peerValue.length !== length) {
      throw new IkeError(NotifyType.INVALID_SYNTAX, `${name} KE data is ${peerValue.length} bytes, expected ${length}`);
    }
    let z: Buffer;
    try {
      const peer = createPublicKey({ key: { kty: 'OKP', crv, x: b64u(peerValue) }, format: 'jwk' });
      // OpenSSL refuses an all-zero result (small-order peer point) by throwing here.
      z = diffieHellman({ privateKey: this.key, publicKey: peer });
    } catch (e) {
      throw new IkeError(NotifyType.INVALID_SYNTAX, `${name} peer value rejected: ${(e as Error).message}`);
    }
    // RFC 7748 §6.1 / RFC 8031 §2: an all-zero shared secret MUST be rejected; checked here too so
    // that the guarantee does not rest on the OpenSSL version.
    let acc = 0;
    for (const b of z) acc |= b;
    if (acc === 0) throw new IkeError(NotifyType.INVALID_SYNTAX, `${name} shared secret is all zero (small-order peer value)`);
    return new Uint8Array(z);
  }

  wipe(): void {
    this.key = undefined;
  }
}

function generate(p: XParams): KeyExchange {
  const opts = { publicKeyEncoding: { format: 'jwk' } } as const;
  const { publicKey, privateKey } = p.type === 'x25519' ? generateKeyPairSync('x25519', opts) : generateKeyPairSync('x448', opts);
  const x = (publicKey as { x?: string }).x;
  if (typeof x !== 'string') throw new Error(`${p.name}: node returned no JWK public value`);
  return new XExchange(p, privateKey, new Uint8Array(Buffer.from(x, 'base64url')));
}

export function montgomeryGroup(id: number): KeGroup | undefined {
  const p = PARAMS.find((x) => x.id === id);
  if (!p) return undefined;
  return { id: p.id, name: p.name, publicLength: p.length, create: () => generate(p) };
}

/** PKCS#8 prefixes for raw X25519 / X448 private keys (RFC 8410 §7), test path only. */
const PKCS8_PREFIX: Record<XParams['type'], string> = {
  x25519: '302e020100300506032b656e04220420',
  x448: '3046020100300506032b656f043a0438',
};

/**
 * TEST ONLY: an exchange with a fixed private scalar (RFC 7748 §6 vectors). Uses the slow DER
 * path, which is fine for tests and keeps it visibly apart from the production path.
 */
export function montgomeryExchangeWithPrivate(id: number, privateKey: Uint8Array): KeyExchange {
  const p = PARAMS.find((x) => x.id === id);
  if (!p) throw new Error(`not a Montgomery-curve group: ${id}`);
  if (privateKey.length !== p.length) throw new Error(`${p.name} private key must be ${p.length} bytes`);
  const der = Buffer.concat([Buffer.from(PKCS8_PREFIX[p.type], 'hex'), Buffer.from(privateKey)]);
  const key = createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
  const spki = createPublicKey(key).export({ format: 'der', type: 'spki' });
  return new XExchange(p, key, new Uint8Array(spki.subarray(spki.length - p.length)));
}
