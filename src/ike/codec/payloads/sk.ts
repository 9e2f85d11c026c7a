// Encrypted (SK, RFC 7296 §3.14) and Encrypted Fragment (SKF, RFC 7383 §2.5) payload shells.
// The body (IV || ciphertext || ICV) stays opaque here: src/ike/protect opens it. Their Next
// Payload field names the first *inner* payload, and they always end their chain.
//
// SK:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Initialization Vector                     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                    Encrypted IKE Payloads                     ~
//   +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |               |             Padding (0-255 octets)            |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                                               |  Pad Length   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                    Integrity Checksum Data                    ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// SKF (Next Payload is non-zero only in fragment 1):
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |        Fragment Number        |        Total Fragments        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                     Initialization Vector                     |
//   ~                      Encrypted content ... ICV                ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { checkFits, invalid, type PayloadCodec } from './codec.js';

export const skCodec: PayloadCodec<'sk'> = {
  decode(r, critical, _type, next) {
    return { kind: 'sk', critical, firstInner: next, body: r.rest('encrypted body') };
  },

  encode(w, p) {
    w.bytes(p.body);
  },
};

export const skfCodec: PayloadCodec<'skf'> = {
  decode(r, critical, _type, next) {
    const fragmentNumber = r.u16('fragment number');
    const totalFragments = r.u16('total fragments');
    return { kind: 'skf', critical, firstInner: next, fragmentNumber, totalFragments, body: r.rest('encrypted body') };
  },

  encode(w, p) {
    checkFits(p.fragmentNumber, 16, 'fragment number');
    checkFits(p.totalFragments, 16, 'total fragments');
    w.u16(p.fragmentNumber).u16(p.totalFragments).bytes(p.body);
  },

  validate(p) {
    // RFC 7383 §2.5: both are non-zero and the number never exceeds the total.
    if (p.totalFragments === 0) invalid('EF: total fragments is zero');
    if (p.fragmentNumber === 0 || p.fragmentNumber > p.totalFragments) {
      invalid(`EF: fragment ${p.fragmentNumber} of ${p.totalFragments}`);
    }
  },
};
