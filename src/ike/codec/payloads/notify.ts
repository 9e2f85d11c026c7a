// Notify payload (RFC 7296 §3.10): errors and status information. The SPI identifies a
// Child SA for the few notifies that concern one (REKEY_SA, INVALID_SELECTORS,
// CHILD_SA_NOT_FOUND); for everything else it is empty and the Protocol ID is ignored.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Protocol ID  |   SPI Size    |      Notify Message Type      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                Security Parameter Index (SPI)                 ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                       Notification Data                       ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { NotifyType, ProtocolId, notifyName } from '../../constants.js';
import { checkFits, invalid, type PayloadCodec } from './codec.js';
import type { PayloadOf } from '../payload.js';

/** Data sizes fixed by the RFC defining each notify; other notifies are left to their step. */
const DATA_LENGTH: ReadonlyMap<number, number> = new Map([
  [NotifyType.INVALID_KE_PAYLOAD, 2], // accepted group (RFC 7296 §1.2)
  [NotifyType.NAT_DETECTION_SOURCE_IP, 20], // SHA-1 digest (RFC 7296 §2.23)
  [NotifyType.NAT_DETECTION_DESTINATION_IP, 20],
  [NotifyType.ADDITIONAL_IP4_ADDRESS, 4], // RFC 4555 §3.6
  [NotifyType.ADDITIONAL_IP6_ADDRESS, 16],
  [NotifyType.AUTH_LIFETIME, 4], // RFC 4478
  [NotifyType.IPCOMP_SUPPORTED, 3], // CPI + transform ID (RFC 7296 §3.10.1)
]);

/** RFC 7296 §2.6: the cookie is 1..64 octets. */
const COOKIE_MAX = 64;

export const notifyCodec: PayloadCodec<'notify'> = {
  decode(r, critical) {
    const protocol = r.u8('protocol ID');
    const spiSize = r.u8('SPI size');
    const notify = r.u16('notify message type');
    const spi = r.bytes(spiSize, 'SPI');
    return { kind: 'notify', critical, protocol, spi, notify, data: r.rest('notification data') };
  },

  encode(w, p) {
    checkFits(p.protocol, 8, 'protocol ID');
    checkFits(p.spi.length, 8, 'SPI size');
    checkFits(p.notify, 16, 'notify message type');
    w.u8(p.protocol).u8(p.spi.length).u16(p.notify).bytes(p.spi).bytes(p.data);
  },

  validate(p) {
    const name = notifyName(p.notify);
    if (p.spi.length > 0) {
      const ok =
        ((p.protocol === ProtocolId.AH || p.protocol === ProtocolId.ESP) && p.spi.length === 4) ||
        (p.protocol === ProtocolId.IKE && p.spi.length === 8);
      if (!ok) invalid(`N(${name}): ${p.spi.length}-byte SPI for protocol ${p.protocol}`);
    }
    const want = DATA_LENGTH.get(p.notify);
    if (want !== undefined && p.data.length !== want) {
      invalid(`N(${name}): ${p.data.length} bytes of data, expected ${want}`);
    }
    if (p.notify === NotifyType.COOKIE && (p.data.length < 1 || p.data.length > COOKIE_MAX)) {
      invalid(`N(COOKIE): ${p.data.length} bytes, must be 1..${COOKIE_MAX}`);
    }
    // RFC 7427 §4: a list of 16-bit hash algorithm identifiers.
    if (p.notify === NotifyType.SIGNATURE_HASH_ALGORITHMS && p.data.length % 2 !== 0) {
      invalid(`N(${name}): odd data length ${p.data.length}`);
    }
  },
};

/** A Notify payload as the exchanges build them (RFC 7296 §3.10); protocol and SPI only for CHILD_SA notifies. */
export function notify(type: number, data: Uint8Array = new Uint8Array(0), about?: { protocol: number; spi: Uint8Array }): PayloadOf<'notify'> {
  return { kind: 'notify', critical: false, protocol: about?.protocol ?? 0, spi: about?.spi ?? new Uint8Array(0), notify: type, data };
}

/** Notification data naming a key exchange method (INVALID_KE_PAYLOAD, RFC 7296 §3.10.1: two octets). */
export function keGroupData(group: number): Uint8Array {
  return new Uint8Array([group >> 8, group & 0xff]);
}
