// EAP payload (RFC 7296 §3.16): carries one whole EAP packet (RFC 3748 §4). The EAP header
// inside is EAP's business; validate() only checks that the packet is self-consistent,
// since an EAP length that disagrees with the payload length means a broken peer.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                       EAP Message                             ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// EAP Message:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Code      | Identifier    |           Length              |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      | Type_Data...
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { EapCode } from '../../constants.js';
import { invalid, type PayloadCodec } from './codec.js';

const EAP_HEADER = 4;

export const eapCodec: PayloadCodec<'eap'> = {
  decode(r, critical) {
    return { kind: 'eap', critical, data: r.rest('EAP message') };
  },

  encode(w, p) {
    w.bytes(p.data);
  },

  validate(p) {
    const d = p.data;
    if (d.length < EAP_HEADER) invalid(`EAP: ${d.length} bytes is shorter than an EAP header`);
    const code = d[0]!;
    const length = (d[2]! << 8) | d[3]!;
    if (length !== d.length) invalid(`EAP: packet says ${length} bytes, payload carries ${d.length}`);
    if (code < EapCode.REQUEST || code > EapCode.FAILURE) invalid(`EAP: unknown code ${code}`);
    // Requests and responses carry a Type octet; Success/Failure are header only.
    if ((code === EapCode.REQUEST || code === EapCode.RESPONSE) && d.length < EAP_HEADER + 1) {
      invalid('EAP: request/response without a type');
    }
  },
};
