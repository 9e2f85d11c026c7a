// EAP packet format (RFC 3748 §4, §4.1 Request/Response, §4.2 Success/Failure) as carried whole
// in the IKEv2 EAP payload (RFC 7296 §3.16). Pure codec: no state, no logs; decodeEap throws
// only EapError.
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Code      |  Identifier   |            Length             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |     Type      |  Type-Data ...            (Request/Response only)
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Code: 1 Request, 2 Response, 3 Success, 4 Failure. Length counts the whole packet; octets
// beyond it are link-layer padding and are ignored (§4); Success/Failure are exactly 4 octets
// (§4.2).
import { EapCode, EapType } from '../ike/constants.js';

export interface EapPacket {
  code: number /* EapCode */;
  identifier: number;
  /** Only for Request/Response. */
  type?: number;
  /** Type-Data (empty for Success/Failure). */
  data: Uint8Array;
}

/** Malformed EAP. */
export class EapError extends Error {
  override name = 'EapError';
}

const HEADER = 4;

export function decodeEap(bytes: Uint8Array): EapPacket {
  if (bytes.length < HEADER) throw new EapError(`EAP packet of ${bytes.length} octets is shorter than the header`);
  const code = bytes[0]!;
  const identifier = bytes[1]!;
  const length = (bytes[2]! << 8) | bytes[3]!;
  if (length < HEADER) throw new EapError(`EAP Length ${length} is shorter than the header`);
  if (length > bytes.length) throw new EapError(`EAP Length ${length} exceeds the ${bytes.length} octets received`);
  switch (code) {
    case EapCode.REQUEST:
    case EapCode.RESPONSE:
      if (length < HEADER + 1) throw new EapError(`EAP ${code === EapCode.REQUEST ? 'Request' : 'Response'} without a Type`);
      return { code, identifier, type: bytes[4]!, data: bytes.slice(HEADER + 1, length) };
    case EapCode.SUCCESS:
    case EapCode.FAILURE:
      if (length !== HEADER) throw new EapError(`EAP ${code === EapCode.SUCCESS ? 'Success' : 'Failure'} with Length ${length} (must be 4)`);
      return { code, identifier, data: new Uint8Array(0) };
    default:
      throw new EapError(`unknown EAP Code ${code}`);
  }
}

export function encodeEap(p: EapPacket): Uint8Array {
  if (!Number.isInteger(p.identifier) || p.identifier < 0 || p.identifier > 0xff) throw new EapError(`EAP Identifier ${p.identifier} out of range`);
  const hasType = p.code === EapCode.REQUEST || p.code === EapCode.RESPONSE;
  if (!hasType && p.code !== EapCode.SUCCESS && p.code !== EapCode.FAILURE) throw new EapError(`unknown EAP Code ${p.code}`);
  if (hasType) {
    if (p.type === undefined || !Number.isInteger(p.type) || p.type < 0 || p.type > 0xff) throw new EapError(`EAP Type ${String(p.type)} missing or out of range`);
  } else if (p.data.length > 0) {
    throw new EapError('EAP Success/Failure carry no data');
  }
  const length = HEADER + (hasType ? 1 + p.data.length : 0);
  if (length > 0xffff) throw new EapError(`EAP packet of ${length} octets exceeds the 16-bit Length`);
  const out = new Uint8Array(length);
  out[0] = p.code;
  out[1] = p.identifier;
  out[2] = length >>> 8;
  out[3] = length & 0xff;
  if (hasType) {
    out[4] = p.type!;
    out.set(p.data, HEADER + 1);
  }
  return out;
}

// strongSwan's short names (eap_type_short_names), so logs read like charon's.
const TYPE_SHORT: Readonly<Record<number, string>> = {
  [EapType.IDENTITY]: 'ID',
  [EapType.NOTIFICATION]: 'NTF',
  [EapType.NAK]: 'NAK',
  [EapType.MD5]: 'MD5',
  [EapType.TLS]: 'TLS',
  [EapType.TTLS]: 'TTLS',
  [EapType.PEAP]: 'PEAP',
  [EapType.MSCHAPV2]: 'MSCHAPV2',
  254: 'EXP',
};

/** "EAP/REQ/ID", "EAP/RES/MSCHAPV2", "EAP/SUCC", "EAP/FAIL" (unknown types by number). */
export function describeEap(p: EapPacket): string {
  switch (p.code) {
    case EapCode.SUCCESS:
      return 'EAP/SUCC';
    case EapCode.FAILURE:
      return 'EAP/FAIL';
    case EapCode.REQUEST:
    case EapCode.RESPONSE: {
      const dir = p.code === EapCode.REQUEST ? 'REQ' : 'RES';
      const t = p.type === undefined ? '?' : (TYPE_SHORT[p.type] ?? String(p.type));
      return `EAP/${dir}/${t}`;
    }
    default:
      return `EAP/CODE${p.code}`;
  }
}
