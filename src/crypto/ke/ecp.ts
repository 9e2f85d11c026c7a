// Elliptic-curve Diffie-Hellman over the NIST prime curves as IKEv2 groups 19, 20, 21 (RFC 5903).
// KE data is x | y without the SEC1 0x04 prefix (RFC 5903 §7); the shared secret is the x
// coordinate only (RFC 5903 §9). node's ECDH validates that the peer point is on the curve.
import { createECDH, type ECDH } from 'node:crypto';
import type { KeGroup, KeyExchange } from '../suite.js';
import { KeId, NotifyType } from '../../ike/constants.js';
import { IkeError } from '../../ike/errors.js';

interface EcpParams {
  id: number;
  name: string;
  curve: string; // OpenSSL curve name
  coordLength: number; // bytes per coordinate
}

const PARAMS: readonly EcpParams[] = [
  { id: KeId.ECP_256, name: 'ECP_256', curve: 'prime256v1', coordLength: 32 },
  { id: KeId.ECP_384, name: 'ECP_384', curve: 'secp384r1', coordLength: 48 },
  { id: KeId.ECP_521, name: 'ECP_521', curve: 'secp521r1', coordLength: 66 },
];

class EcpExchange implements KeyExchange {
  readonly group: number;
  readonly publicValue: Uint8Array;
  private ecdh: ECDH | undefined;

  constructor(
    private readonly p: EcpParams,
    privateKey?: Uint8Array,
  ) {
    this.group = p.id;
    const ecdh = createECDH(p.curve);
    let pub: Buffer;
    if (privateKey) {
      ecdh.setPrivateKey(Buffer.from(privateKey));
      pub = ecdh.getPublicKey();
    } else {
      pub = ecdh.generateKeys();
    }
    this.ecdh = ecdh;
    this.publicValue = new Uint8Array(pub.subarray(1)); // drop the 0x04 (uncompressed) octet
  }

  deriveShared(peerValue: Uint8Array): Uint8Array {
    const { name, coordLength } = this.p;
    if (!this.ecdh) throw new Error('KeyExchange used after wipe()');
    if (peerValue.length !== 2 * coordLength) {
      throw new IkeError(NotifyType.INVALID_SYNTAX, `${name} KE data is ${peerValue.length} bytes, expected ${2 * coordLength}`);
    }
    const point = Buffer.alloc(1 + peerValue.length);
    point[0] = 0x04;
    point.set(peerValue, 1);
    try {
      // Throws ERR_CRYPTO_ECDH_INVALID_PUBLIC_KEY for points not on the curve.
      return new Uint8Array(this.ecdh.computeSecret(point));
    } catch (e) {
      throw new IkeError(NotifyType.INVALID_SYNTAX, `${name} peer point rejected: ${(e as Error).message}`);
    }
  }

  wipe(): void {
    // node offers no way to clear the key inside an ECDH object; dropping it is what we can do.
    this.ecdh = undefined;
  }
}

export function ecpGroup(id: number): KeGroup | undefined {
  const p = PARAMS.find((x) => x.id === id);
  if (!p) return undefined;
  return { id: p.id, name: p.name, publicLength: 2 * p.coordLength, create: () => new EcpExchange(p) };
}

/** TEST ONLY: an exchange with a fixed private scalar (RFC 5903 §8 vectors). Not in the catalogue. */
export function ecpExchangeWithPrivate(id: number, privateKey: Uint8Array): KeyExchange {
  const p = PARAMS.find((x) => x.id === id);
  if (!p) throw new Error(`not an ECP group: ${id}`);
  return new EcpExchange(p, privateKey);
}
