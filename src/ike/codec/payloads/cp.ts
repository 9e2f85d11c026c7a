// Configuration payload (RFC 7296 §3.15, §3.15.1): CFG_REQUEST/REPLY/SET/ACK with a list of
// attributes. An attribute with an empty value is a request for that value, so zero-length
// values are normal. Unknown attributes (e.g. Microsoft's 23456/23457) are kept.
//
// Payload body:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |   CFG Type    |                    RESERVED                   |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                   Configuration Attributes                    ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
// Each attribute:
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |R|         Attribute Type      |            Length             |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   ~                             Value                             ~
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { CfgType, CpAttr, cpAttrName } from '../../constants.js';
import type { CpAttribute } from '../payload.js';
import { checkFits, invalid, skipReserved, writeReserved, type PayloadCodec } from './codec.js';

/** Value sizes allowed per attribute (RFC 7296 §3.15.1); 0 is always allowed (a request). */
const VALUE_LENGTHS: ReadonlyMap<number, readonly number[]> = new Map([
  [CpAttr.INTERNAL_IP4_ADDRESS, [4]],
  [CpAttr.INTERNAL_IP4_NETMASK, [4]],
  [CpAttr.INTERNAL_IP4_DNS, [4]],
  [CpAttr.INTERNAL_IP4_NBNS, [4]],
  [CpAttr.INTERNAL_IP4_DHCP, [4]],
  [CpAttr.INTERNAL_IP6_ADDRESS, [17]], // address + prefix length
  [CpAttr.INTERNAL_IP6_DNS, [16]],
  [CpAttr.INTERNAL_IP6_DHCP, [16]],
  [CpAttr.INTERNAL_IP4_SUBNET, [8]], // address + netmask
  [CpAttr.INTERNAL_IP6_SUBNET, [17]],
]);

export const cpCodec: PayloadCodec<'cp'> = {
  decode(r, critical) {
    const cfgType = r.u8('CFG type');
    skipReserved(r, 3);
    const attributes: CpAttribute[] = [];
    while (r.remaining > 0) {
      // The top bit is reserved (MUST be zero, ignored on receipt).
      const type = r.u16('attribute type') & 0x7fff;
      const len = r.u16('attribute length');
      attributes.push({ type, value: r.bytes(len, 'attribute value') });
    }
    return { kind: 'cp', critical, cfgType, attributes };
  },

  encode(w, p) {
    checkFits(p.cfgType, 8, 'CFG type');
    w.u8(p.cfgType);
    writeReserved(w, 3);
    for (const a of p.attributes) {
      if (!Number.isInteger(a.type) || a.type < 0 || a.type > 0x7fff) {
        throw new RangeError(`CP: attribute type ${a.type} does not fit 15 bits`);
      }
      w.u16(a.type).withLength16((x) => x.bytes(a.value));
    }
  },

  validate(p) {
    if (p.cfgType < CfgType.CFG_REQUEST || p.cfgType > CfgType.CFG_ACK) invalid(`CP: unknown CFG type ${p.cfgType}`);
    for (const a of p.attributes) {
      const sizes = VALUE_LENGTHS.get(a.type);
      if (sizes && a.value.length !== 0 && !sizes.includes(a.value.length)) {
        invalid(`CP: ${cpAttrName(a.type)} with ${a.value.length} bytes, expected ${sizes.join(' or ')}`);
      }
    }
  },
};
