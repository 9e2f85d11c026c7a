// Authentication payload (RFC 7296 §3.8): method plus the signature or MAC over the signed
// octets. Verifying it belongs to src/ike/auth; the codec only splits the fields.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Auth Method   |                RESERVED                       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                      Authentication Data                      ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { checkFits, invalid, skipReserved, writeReserved, type PayloadCodec } from './codec.js';

export const authCodec: PayloadCodec<'auth'> = {
  decode(r, critical) {
    const method = r.u8('auth method');
    skipReserved(r, 3);
    return { kind: 'auth', critical, method, data: r.rest('authentication data') };
  },

  encode(w, p) {
    checkFits(p.method, 8, 'auth method');
    w.u8(p.method);
    writeReserved(w, 3);
    w.bytes(p.data);
  },

  validate(p) {
    if (p.data.length === 0) invalid(`AUTH: empty authentication data (method ${p.method})`);
  },
};
