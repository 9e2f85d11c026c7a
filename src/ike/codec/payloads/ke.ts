// Key Exchange payload (RFC 7296 §3.4): the sender's public value for the announced group.
// The data length is fixed per group, but only the key-exchange step knows the group sizes,
// so the codec checks structure and validate() only that there is something to use.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   Diffie-Hellman Group Num    |           RESERVED            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                       Key Exchange Data                       ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { checkFits, invalid, skipReserved, writeReserved, type PayloadCodec } from './codec.js';

export const keCodec: PayloadCodec<'ke'> = {
  decode(r, critical) {
    const group = r.u16('DH group num');
    skipReserved(r, 2);
    return { kind: 'ke', critical, group, data: r.rest('key exchange data') };
  },

  encode(w, p) {
    checkFits(p.group, 16, 'DH group num');
    w.u16(p.group);
    writeReserved(w, 2);
    w.bytes(p.data);
  },

  validate(p) {
    if (p.data.length === 0) invalid(`KE: empty key exchange data for group ${p.group}`);
  },
};
