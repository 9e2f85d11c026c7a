// The fixed 28-byte IKE header (RFC 7296 §3.1). Decoding only splits fields: judging the
// version, SPIs or message ID is the engine's job, because each failure has its own reaction
// (INVALID_MAJOR_VERSION answer, INVALID_IKE_SPI, silent drop).
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       IKE SA Initiator's SPI                  |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                       IKE SA Responder's SPI                  |
//   |                                                               |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Next Payload | MjVer | MnVer | Exchange Type |     Flags     |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                          Message ID                           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                            Length                             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { HeaderFlag, IKE_HEADER_LENGTH } from '../constants.js';
import { DecodeError } from '../errors.js';
import { Reader } from './reader.js';
import type { Writer } from './writer.js';

export interface IkeHeader {
  /** 8 bytes. */
  ispi: Uint8Array;
  /** 8 bytes; all zero in the first IKE_SA_INIT request. */
  rspi: Uint8Array;
  nextPayload: number;
  majorVersion: number;
  minorVersion: number;
  exchange: number;
  /** Raw flags octet; unknown bits are kept so that they can be inspected and logged. */
  flags: number;
  messageId: number;
  /** Total message length in octets, header included. */
  length: number;
}

export const SPI_LENGTH = 8;

/** Reads the header at the start of `bytes`; the rest of `bytes` is left alone. */
export function decodeHeader(bytes: Uint8Array): IkeHeader {
  if (bytes.length < IKE_HEADER_LENGTH) {
    throw new DecodeError(`IKE header: needs ${IKE_HEADER_LENGTH} bytes, got ${bytes.length}`, 0);
  }
  const r = new Reader(bytes.subarray(0, IKE_HEADER_LENGTH), 'IKE header');
  // SPIs are copied: they outlive the datagram as SA lookup keys.
  const ispi = r.bytes(SPI_LENGTH, "initiator's SPI").slice();
  const rspi = r.bytes(SPI_LENGTH, "responder's SPI").slice();
  const nextPayload = r.u8('next payload');
  const version = r.u8('version');
  const exchange = r.u8('exchange type');
  const flags = r.u8('flags');
  const messageId = r.u32('message ID');
  const length = r.u32('length');
  return {
    ispi,
    rspi,
    nextPayload,
    majorVersion: version >>> 4,
    minorVersion: version & 0x0f,
    exchange,
    flags,
    messageId,
    length,
  };
}

export function encodeHeader(w: Writer, h: IkeHeader): void {
  if (h.ispi.length !== SPI_LENGTH || h.rspi.length !== SPI_LENGTH) {
    throw new RangeError(`IKE header: SPIs must be ${SPI_LENGTH} bytes (got ${h.ispi.length}/${h.rspi.length})`);
  }
  w.bytes(h.ispi)
    .bytes(h.rspi)
    .u8(h.nextPayload)
    .u8(((h.majorVersion & 0x0f) << 4) | (h.minorVersion & 0x0f))
    .u8(h.exchange)
    .u8(h.flags)
    .u32(h.messageId)
    .u32(h.length);
}

/** The R flag: this message answers a request with the same message ID. */
export function isResponse(h: Pick<IkeHeader, 'flags'>): boolean {
  return (h.flags & HeaderFlag.RESPONSE) !== 0;
}

/** The I flag: the sender is the original initiator of the IKE SA (not of this exchange). */
export function isInitiator(h: Pick<IkeHeader, 'flags'>): boolean {
  return (h.flags & HeaderFlag.INITIATOR) !== 0;
}
