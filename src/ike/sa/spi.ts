// ESP SPIs (RFC 4303 §2.1) as they travel in IKE payloads (4 bytes, network order) and as the
// dataplane and the logs use them (a 32-bit number, 8 hex digits).
import { NotifyType } from '../constants.js';
import { IkeError } from '../errors.js';

/** A 4-byte SPI from a proposal, Delete or REKEY_SA notify; any other length is a syntax error. */
export function spiFromBytes(bytes: Uint8Array): number {
  if (bytes.length !== 4) throw new IkeError(NotifyType.INVALID_SYNTAX, `ESP SPI of ${bytes.length} bytes`);
  return ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
}

export function spiToBytes(spi: number): Uint8Array {
  return new Uint8Array([spi >>> 24, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff]);
}

/** strongSwan's log form: c1234567. */
export function spiHex(spi: number): string {
  return spi.toString(16).padStart(8, '0');
}
