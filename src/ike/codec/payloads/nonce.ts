// Nonce payload (RFC 7296 §3.9): random data between 16 and 256 octets, at least half the
// negotiated PRF key size. The PRF-dependent lower bound is checked by the exchange.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                            Nonce Data                         ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { invalid, type PayloadCodec } from './codec.js';

export const NONCE_MIN = 16;
export const NONCE_MAX = 256;

export const nonceCodec: PayloadCodec<'nonce'> = {
  decode(r, critical) {
    return { kind: 'nonce', critical, nonce: r.rest('nonce data') };
  },

  encode(w, p) {
    w.bytes(p.nonce);
  },

  validate(p) {
    if (p.nonce.length < NONCE_MIN || p.nonce.length > NONCE_MAX) {
      invalid(`Nonce: ${p.nonce.length} bytes, must be ${NONCE_MIN}..${NONCE_MAX} (RFC 7296 §3.9)`);
    }
  },
};
