// Security Association payload with its proposal, transform and attribute substructures
// (RFC 7296 §3.3, §3.3.1, §3.3.2, §3.3.5). Unknown transform types and attributes are kept;
// choosing among them is the proposal step's business, not the codec's.
//
// SA payload body = one or more Proposal substructures:
//                        1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Last Substruc |   RESERVED    |         Proposal Length       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Proposal Num  |  Protocol ID  |    SPI Size   |Num  Transforms|
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                        SPI (variable)                         ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                        <Transforms>                           ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Transform substructure:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Last Substruc |   RESERVED    |        Transform Length       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |Transform Type |   RESERVED    |          Transform ID         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                      Transform Attributes                     ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//
// Transform attribute (AF=1: TV, the 16-bit value sits in the length field):
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |A|       Attribute Type        |    AF=0  Attribute Length     |
//   |F|                             |    AF=1  Attribute Value      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |                   AF=0  Attribute Value                       |
//   |                   AF=1  Not Transmitted                       |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { ProtocolId, TransformAttr } from '../../constants.js';
import type { Proposal, Transform, TransformAttribute } from '../payload.js';
import type { Reader } from '../reader.js';
import type { Writer } from '../writer.js';
import { checkFits, invalid, skipReserved, writeReserved, type PayloadCodec } from './codec.js';

/** "Last Substruc" values: 0 = last, 2 = more proposals follow, 3 = more transforms follow. */
const LAST = 0;
const MORE_PROPOSALS = 2;
const MORE_TRANSFORMS = 3;

const PROPOSAL_HEADER = 8;
const TRANSFORM_HEADER = 8;
const AF_TV = 0x8000;

function decodeAttribute(r: Reader): TransformAttribute {
  const typeField = r.u16('attribute type');
  const type = typeField & 0x7fff;
  if (typeField & AF_TV) return { type, value: r.u16('attribute value') };
  const len = r.u16('attribute length');
  return { type, value: r.bytes(len, 'attribute value') };
}

function decodeTransform(r: Reader): Transform {
  const type = r.u8('transform type');
  skipReserved(r, 1);
  const id = r.u16('transform ID');
  const attributes: TransformAttribute[] = [];
  while (r.remaining > 0) attributes.push(decodeAttribute(r));
  return { type, id, attributes };
}

function decodeProposal(r: Reader): Proposal {
  const num = r.u8('proposal num');
  const protocol = r.u8('protocol ID');
  const spiSize = r.u8('SPI size');
  // IKE SPIs are 8 octets (or absent in IKE_SA_INIT), AH/ESP SPIs 4: no other size exists.
  if (spiSize !== 0 && spiSize !== 4 && spiSize !== 8) r.fail(`SPI size ${spiSize} is not 0, 4 or 8`);
  const numTransforms = r.u8('num transforms');
  const spi = r.bytes(spiSize, 'SPI');
  const transforms: Transform[] = [];
  let last = numTransforms === 0 ? LAST : MORE_TRANSFORMS;
  while (last !== LAST) {
    last = r.u8('transform last substruc');
    if (last !== LAST && last !== MORE_TRANSFORMS) r.fail(`transform last substruc ${last} is not 0 or 3`);
    skipReserved(r, 1);
    const len = r.u16('transform length');
    if (len < TRANSFORM_HEADER) r.fail(`transform length ${len} below ${TRANSFORM_HEADER}`);
    const body = r.sub(len - 4, `transform ${transforms.length + 1}`);
    transforms.push(decodeTransform(body));
    body.end();
  }
  if (transforms.length !== numTransforms) {
    r.fail(`proposal ${num} announces ${numTransforms} transforms but carries ${transforms.length}`);
  }
  return { num, protocol, spi, transforms };
}

function encodeAttribute(w: Writer, a: TransformAttribute): void {
  checkFits(a.type, 16, 'attribute type');
  if (a.type > 0x7fff) throw new RangeError(`attribute type ${a.type} does not fit 15 bits`);
  if (typeof a.value === 'number') {
    checkFits(a.value, 16, 'attribute value');
    w.u16(a.type | AF_TV).u16(a.value);
  } else {
    w.u16(a.type).withLength16((x) => x.bytes(a.value as Uint8Array));
  }
}

function encodeProposal(w: Writer, p: Proposal, last: boolean): void {
  checkFits(p.num, 8, 'proposal num');
  checkFits(p.protocol, 8, 'protocol ID');
  checkFits(p.transforms.length, 8, 'num transforms');
  checkFits(p.spi.length, 8, 'SPI size');
  w.u8(last ? LAST : MORE_PROPOSALS);
  writeReserved(w, 1);
  w.withLength16((x) => {
    x.u8(p.num).u8(p.protocol).u8(p.spi.length).u8(p.transforms.length).bytes(p.spi);
    p.transforms.forEach((t, i) => {
      checkFits(t.type, 8, 'transform type');
      checkFits(t.id, 16, 'transform ID');
      x.u8(i === p.transforms.length - 1 ? LAST : MORE_TRANSFORMS);
      writeReserved(x, 1);
      x.withLength16((y) => {
        y.u8(t.type);
        writeReserved(y, 1);
        y.u16(t.id);
        for (const a of t.attributes) encodeAttribute(y, a);
      }, 4);
    });
  }, 4);
}

/** SPI sizes each protocol allows (RFC 7296 §3.3.1): IKE 0 (IKE_SA_INIT) or 8 (rekey), AH/ESP 4. */
const SPI_SIZES: ReadonlyMap<number, readonly number[]> = new Map([
  [ProtocolId.IKE, [0, 8]],
  [ProtocolId.AH, [4]],
  [ProtocolId.ESP, [4]],
]);

export const saCodec: PayloadCodec<'sa'> = {
  decode(r, critical) {
    const proposals: Proposal[] = [];
    let last = MORE_PROPOSALS;
    while (last !== LAST) {
      last = r.u8('proposal last substruc');
      if (last !== LAST && last !== MORE_PROPOSALS) r.fail(`proposal last substruc ${last} is not 0 or 2`);
      skipReserved(r, 1);
      const len = r.u16('proposal length');
      if (len < PROPOSAL_HEADER) r.fail(`proposal length ${len} below ${PROPOSAL_HEADER}`);
      const body = r.sub(len - 4, `proposal ${proposals.length + 1}`);
      proposals.push(decodeProposal(body));
      body.end();
    }
    // The flag said "last": anything after it is not a proposal.
    return { kind: 'sa', critical, proposals };
  },

  encode(w, p) {
    if (p.proposals.length === 0) throw new RangeError('SA payload needs at least one proposal');
    p.proposals.forEach((prop, i) => encodeProposal(w, prop, i === p.proposals.length - 1));
  },

  validate(p) {
    if (p.proposals.length === 0) invalid('SA: no proposals');
    p.proposals.forEach((prop, i) => {
      // §3.3.1: the first proposal is number 1 and each following one is one more. A response
      // carries a single proposal echoing the accepted number, so that may be any number >= 1.
      if (prop.num < 1) invalid(`SA: proposal number ${prop.num}`);
      if (p.proposals.length > 1 && prop.num !== i + 1) {
        invalid(`SA: proposal ${i + 1} is numbered ${prop.num}`);
      }
      const sizes = SPI_SIZES.get(prop.protocol);
      if (sizes && !sizes.includes(prop.spi.length)) {
        invalid(`SA: proposal ${prop.num} has a ${prop.spi.length}-byte SPI for protocol ${prop.protocol}`);
      }
      if (prop.transforms.length === 0) invalid(`SA: proposal ${prop.num} has no transforms`);
      for (const t of prop.transforms) {
        for (const a of t.attributes) {
          // §3.3.5: Key Length is only ever sent in TV format.
          if (a.type === TransformAttr.KEY_LENGTH && typeof a.value !== 'number') {
            invalid(`SA: proposal ${prop.num} carries Key Length in TLV format`);
          }
        }
      }
    });
  },
};
