// Vendor ID payload (RFC 7296 §3.12): an opaque constant, typically a hash of a product
// name. Recognising known IDs (Windows, strongSwan, ...) happens in the exchange code.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                        Vendor ID (VID)                        ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import type { PayloadCodec } from './codec.js';

export const vendorCodec: PayloadCodec<'vendor'> = {
  decode(r, critical) {
    return { kind: 'vendor', critical, data: r.rest('vendor ID') };
  },

  encode(w, p) {
    w.bytes(p.data);
  },
};
