// Shared Key Message Integrity Code (RFC 7296 §2.15, auth method 2), also the form of the
// AUTH payload computed from an EAP MSK (§2.16):  AUTH = prf( prf(Shared Secret, "Key Pad for IKEv2"), SignedOctets )
import { ctEqual } from '../../crypto/bytes.js';
import type { Prf } from '../../crypto/suite.js';

const KEY_PAD = new TextEncoder().encode('Key Pad for IKEv2');

export function sharedKeyAuth(prf: Prf, secret: Uint8Array, signedOctets: Uint8Array): Uint8Array {
  return prf.compute(prf.compute(secret, KEY_PAD), signedOctets);
}

export function verifySharedKeyAuth(prf: Prf, secret: Uint8Array, signedOctets: Uint8Array, received: Uint8Array): boolean {
  return ctEqual(sharedKeyAuth(prf, secret, signedOctets), received);
}
