// Identification payloads IDi and IDr (RFC 7296 §3.5). Both share this codec; the payload
// type (35/36) decides the kind. Matching identities against policy happens elsewhere.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   ID Type     |                 RESERVED                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                   Identification Data                         ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { IdType, PayloadType } from '../../constants.js';
import { checkFits, invalid, skipReserved, writeReserved, type PayloadCodec } from './codec.js';

/** Address identities have a fixed size (RFC 7296 §3.5). */
const ADDRESS_LENGTH: ReadonlyMap<number, number> = new Map([
  [IdType.ID_IPV4_ADDR, 4],
  [IdType.ID_IPV6_ADDR, 16],
]);

export const idCodec: PayloadCodec<'idi' | 'idr'> = {
  decode(r, critical, type) {
    const idType = r.u8('ID type');
    skipReserved(r, 3);
    const kind = type === PayloadType.IDr ? 'idr' : 'idi';
    return { kind, critical, idType, data: r.rest('identification data') };
  },

  encode(w, p) {
    checkFits(p.idType, 8, 'ID type');
    w.u8(p.idType);
    writeReserved(w, 3);
    w.bytes(p.data);
  },

  validate(p) {
    const name = p.kind === 'idi' ? 'IDi' : 'IDr';
    if (p.data.length === 0) invalid(`${name}: empty identification data`);
    const want = ADDRESS_LENGTH.get(p.idType);
    if (want !== undefined && p.data.length !== want) {
      invalid(`${name}: address identity of ${p.data.length} bytes, expected ${want}`);
    }
  },
};
