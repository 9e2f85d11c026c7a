// Traffic Selector payloads TSi and TSr (RFC 7296 §3.13, §3.13.1). Only the two address-range
// types exist in IKEv2 proper; an unknown TS type cannot be skipped safely (narrowing would
// silently drop it), so it is a syntax error.
//
// Payload body:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   | Number of TSs |                 RESERVED                      |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                       <Traffic Selectors>                     ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Each selector:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   TS Type     |IP Protocol ID*|       Selector Length         |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |           Start Port*         |           End Port*           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                         Starting Address*                     ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                         Ending Address*                       ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { PayloadType, TsType } from '../../constants.js';
import type { TrafficSelector } from '../payload.js';
import type { Reader } from '../reader.js';
import { checkFits, invalid, skipReserved, writeReserved, type PayloadCodec } from './codec.js';

const ADDRESS_LENGTH: ReadonlyMap<number, number> = new Map([
  [TsType.TS_IPV4_ADDR_RANGE, 4],
  [TsType.TS_IPV6_ADDR_RANGE, 16],
]);

const SELECTOR_HEADER = 8;

function decodeSelector(r: Reader, index: number): TrafficSelector {
  const tsType = r.u8('TS type');
  const ipProtocol = r.u8('IP protocol ID');
  const len = r.u16('selector length');
  const addrLen = ADDRESS_LENGTH.get(tsType);
  if (addrLen === undefined) r.fail(`traffic selector ${index}: unknown TS type ${tsType}`);
  if (len !== SELECTOR_HEADER + 2 * addrLen) {
    r.fail(`traffic selector ${index}: length ${len} for TS type ${tsType}, expected ${SELECTOR_HEADER + 2 * addrLen}`);
  }
  const startPort = r.u16('start port');
  const endPort = r.u16('end port');
  const startAddr = r.bytes(addrLen, 'starting address');
  const endAddr = r.bytes(addrLen, 'ending address');
  return { tsType, ipProtocol, startPort, endPort, startAddr, endAddr };
}

export const tsCodec: PayloadCodec<'tsi' | 'tsr'> = {
  decode(r, critical, type) {
    const count = r.u8('number of TSs');
    skipReserved(r, 3);
    const selectors: TrafficSelector[] = [];
    for (let i = 1; i <= count; i++) selectors.push(decodeSelector(r, i));
    return { kind: type === PayloadType.TSr ? 'tsr' : 'tsi', critical, selectors };
  },

  encode(w, p) {
    checkFits(p.selectors.length, 8, 'number of TSs');
    w.u8(p.selectors.length);
    writeReserved(w, 3);
    for (const ts of p.selectors) {
      const addrLen = ADDRESS_LENGTH.get(ts.tsType);
      if (addrLen === undefined) throw new RangeError(`TS: cannot encode TS type ${ts.tsType}`);
      if (ts.startAddr.length !== addrLen || ts.endAddr.length !== addrLen) {
        throw new RangeError(`TS: TS type ${ts.tsType} needs ${addrLen}-byte addresses`);
      }
      checkFits(ts.ipProtocol, 8, 'IP protocol ID');
      checkFits(ts.startPort, 16, 'start port');
      checkFits(ts.endPort, 16, 'end port');
      w.u8(ts.tsType).u8(ts.ipProtocol).u16(SELECTOR_HEADER + 2 * addrLen);
      w.u16(ts.startPort).u16(ts.endPort).bytes(ts.startAddr).bytes(ts.endAddr);
    }
  },

  validate(p) {
    // Port order is not checked: start 65535 / end 0 is the RFC's "OPAQUE" port (§3.13.1).
    if (p.selectors.length === 0) invalid(`${p.kind === 'tsi' ? 'TSi' : 'TSr'}: no traffic selectors`);
  },
};
