// InitiatorSignedOctets / ResponderSignedOctets (RFC 7296 §2.15):
//   InitiatorSignedOctets = RealMessage1 | NonceRData | MACedIDForI,  MACedIDForI = prf(SK_pi, RestOfInitIDPayload)
//   ResponderSignedOctets = RealMessage2 | NonceIData | MACedIDForR,  MACedIDForR = prf(SK_pr, RestOfRespIDPayload)
// where RestOfXIDPayload is the ID payload body: ID Type, three reserved octets, identification data.
import { concat } from '../../crypto/bytes.js';
import type { Prf } from '../../crypto/suite.js';
import type { IkeIdentity } from '../../policy/policy.js';

export function idPayloadBody(id: IkeIdentity): Uint8Array {
  const out = new Uint8Array(4 + id.data.length);
  out[0] = id.type;
  out.set(id.data, 4);
  return out;
}

export function initiatorSignedOctets(prf: Prf, skPi: Uint8Array, realMessage1: Uint8Array, nr: Uint8Array, idi: IkeIdentity): Uint8Array {
  return concat(realMessage1, nr, prf.compute(skPi, idPayloadBody(idi)));
}

export function responderSignedOctets(prf: Prf, skPr: Uint8Array, realMessage2: Uint8Array, ni: Uint8Array, idr: IkeIdentity): Uint8Array {
  return concat(realMessage2, ni, prf.compute(skPr, idPayloadBody(idr)));
}
