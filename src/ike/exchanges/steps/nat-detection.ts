// NAT detection (RFC 7296 §2.23): NAT_DETECTION_SOURCE_IP / _DESTINATION_IP carry
// SHA-1(SPIi | SPIr | IP | port) over the IKE SPIs as they appear in the message header.
import { createHash } from 'node:crypto';
import { bytesEqual } from '../../../crypto/bytes.js';
import { endpointBytes, type Endpoint } from '../../../net/endpoint.js';

export function natHash(ispi: Uint8Array, rspi: Uint8Array, e: Endpoint): Uint8Array {
  return new Uint8Array(createHash('sha1').update(ispi).update(rspi).update(endpointBytes(e)).digest());
}

export interface NatResult {
  /** The peer's NAT_DETECTION_SOURCE_IP hashes did not match its address as we see it. */
  natRemote: boolean;
  /** The peer's NAT_DETECTION_DESTINATION_IP did not match our address: we are behind NAT. */
  natLocal: boolean;
  /** Whether the peer sent NAT detection at all (if not, there is no NAT-T). */
  supported: boolean;
}

/**
 * Evaluates the peer's NAT detection notifies of an IKE_SA_INIT request. Several source
 * hashes may be sent (multi-homed peers); any match means "no NAT" for that side.
 */
export function detectNat(ispi: Uint8Array, rspi: Uint8Array, sourceHashes: Uint8Array[], destinationHash: Uint8Array | undefined, remote: Endpoint, local: Endpoint): NatResult {
  if (sourceHashes.length === 0 || !destinationHash) return { natRemote: false, natLocal: false, supported: false };
  const expectedSource = natHash(ispi, rspi, remote);
  const expectedDest = natHash(ispi, rspi, local);
  return {
    natRemote: !sourceHashes.some((h) => bytesEqual(h, expectedSource)),
    natLocal: !bytesEqual(destinationHash, expectedDest),
    supported: true,
  };
}
