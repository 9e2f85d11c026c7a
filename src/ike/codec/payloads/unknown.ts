// Payloads of types this implementation does not understand (RFC 7296 §2.5, §3.2). The body
// is kept raw so messages round-trip; a set Critical bit makes the whole message fail with
// UNSUPPORTED_CRITICAL_PAYLOAD (see rules.ts firstCriticalUnknown), otherwise it is skipped.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                          (opaque body)                        ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import type { PayloadCodec } from './codec.js';

export const unknownCodec: PayloadCodec<'unknown'> = {
  decode(r, critical, type) {
    return { kind: 'unknown', critical, type, body: r.rest('payload body') };
  },

  encode(w, p) {
    w.bytes(p.body);
  },
};
