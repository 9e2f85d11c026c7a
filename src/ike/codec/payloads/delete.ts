// Delete payload (RFC 7296 §3.11): the SAs the sender removed. Deleting the IKE SA itself
// carries protocol IKE, SPI size 0 and no SPIs (the SPIs are in the header); Child SAs are
// named by their 4-octet inbound SPIs.
//
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Next Payload  |C|  RESERVED   |         Payload Length        |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Protocol ID   |   SPI Size    |          Num of SPIs          |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~               Security Parameter Index(es) (SPI)              ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { ProtocolId } from '../../constants.js';
import { checkFits, invalid, type PayloadCodec } from './codec.js';

export const deleteCodec: PayloadCodec<'delete'> = {
  decode(r, critical) {
    const protocol = r.u8('protocol ID');
    const spiSize = r.u8('SPI size');
    const count = r.u16('num of SPIs');
    // Checked up front so a huge count cannot make us loop over nothing.
    if (spiSize === 0 && count > 0) r.fail(`${count} SPIs with SPI size 0`);
    if (spiSize * count !== r.remaining) {
      r.fail(`${count} SPIs of ${spiSize} bytes need ${spiSize * count} bytes, ${r.remaining} present`);
    }
    const spis: Uint8Array[] = [];
    for (let i = 0; i < count; i++) spis.push(r.bytes(spiSize, `SPI ${i + 1}`));
    return { kind: 'delete', critical, protocol, spiSize, spis };
  },

  encode(w, p) {
    checkFits(p.protocol, 8, 'protocol ID');
    checkFits(p.spiSize, 8, 'SPI size');
    checkFits(p.spis.length, 16, 'num of SPIs');
    if (p.spiSize === 0 && p.spis.length > 0) throw new RangeError('Delete: SPIs listed with SPI size 0');
    w.u8(p.protocol).u8(p.spiSize).u16(p.spis.length);
    for (const spi of p.spis) {
      if (spi.length !== p.spiSize) throw new RangeError(`Delete: SPI of ${spi.length} bytes, SPI size is ${p.spiSize}`);
      w.bytes(spi);
    }
  },

  validate(p) {
    if (p.protocol === ProtocolId.IKE) {
      if (p.spiSize !== 0 || p.spis.length !== 0) invalid('D: deleting the IKE SA takes no SPIs');
    } else if (p.protocol === ProtocolId.AH || p.protocol === ProtocolId.ESP) {
      if (p.spiSize !== 4) invalid(`D: SPI size ${p.spiSize} for protocol ${p.protocol}, expected 4`);
      if (p.spis.length === 0) invalid('D: no SPIs to delete');
    } else {
      invalid(`D: unknown protocol ${p.protocol}`);
    }
  },
};
