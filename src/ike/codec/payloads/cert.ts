// Certificate (CERT, RFC 7296 §3.6) and Certificate Request (CERTREQ, §3.7) payloads share
// one layout: an encoding octet, then data. For X.509 CERTREQs the data is a list of SHA-1
// hashes of CA public keys (20 octets each); Windows sends dozens of them in one payload.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Cert Encoding |                                               |
//   +-+-+-+-+-+-+-+-+                                               |
//   ~       Certificate Data / Certification Authority              ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { CertEncoding, PayloadType } from '../../constants.js';
import { checkFits, invalid, type PayloadCodec } from './codec.js';

/** SHA-1 output size: one CA key hash in an X.509 CERTREQ (RFC 7296 §3.7). */
const CA_HASH_LENGTH = 20;

export const certCodec: PayloadCodec<'cert' | 'certreq'> = {
  decode(r, critical, type) {
    const encoding = r.u8('cert encoding');
    const data = r.rest(type === PayloadType.CERTREQ ? 'certification authority' : 'certificate data');
    return type === PayloadType.CERTREQ
      ? { kind: 'certreq', critical, encoding, data }
      : { kind: 'cert', critical, encoding, data };
  },

  encode(w, p) {
    checkFits(p.encoding, 8, 'cert encoding');
    w.u8(p.encoding).bytes(p.data);
  },

  validate(p) {
    if (p.kind === 'cert') {
      if (p.data.length === 0) invalid('CERT: empty certificate data');
      return;
    }
    // An empty CERTREQ is tolerated: some clients send one to mean "any CA".
    if (p.encoding === CertEncoding.X509_SIGNATURE && p.data.length % CA_HASH_LENGTH !== 0) {
      invalid(`CERTREQ: ${p.data.length} bytes is not a list of ${CA_HASH_LENGTH}-byte CA hashes`);
    }
  },
};
