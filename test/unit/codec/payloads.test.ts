// Round trips of every payload codec (RFC 7296 §3.3–§3.16, RFC 7383 §2.5): each fixture is
// written field by field from the RFC diagram, decoded, checked field by field, re-encoded
// and compared byte for byte. Malformed variants must fail with DecodeError.
import { describe, expect, it } from 'vitest';
import { PayloadType } from '../../../src/ike/constants.js';
import { DecodeError } from '../../../src/ike/errors.js';
import { decodePayloads, encodePayloads } from '../../../src/ike/codec/message.js';
import type { Payload, PayloadOf, PayloadKind } from '../../../src/ike/codec/payload.js';
import { Reader } from '../../../src/ike/codec/reader.js';
import { hex, pattern, cat } from './fixtures.js';

/** Decodes a one-payload chain, checks it re-encodes to the same bytes, returns it. */
function roundTrip<K extends PayloadKind>(first: number, bytes: Uint8Array, kind: K): PayloadOf<K> {
  const payloads = decodePayloads(first, new Reader(bytes));
  expect(payloads).toHaveLength(1);
  const p = payloads[0]!;
  expect(p.kind).toBe(kind);
  const again = encodePayloads(payloads);
  expect(again.first).toBe(first);
  expect(Buffer.from(again.bytes).toString('hex')).toBe(Buffer.from(bytes).toString('hex'));
  return p as PayloadOf<K>;
}

function decodeFails(first: number, bytes: Uint8Array): DecodeError {
  try {
    decodePayloads(first, new Reader(bytes));
  } catch (e) {
    expect(e).toBeInstanceOf(DecodeError);
    return e as DecodeError;
  }
  throw new Error('decode unexpectedly succeeded');
}

describe('SA payload (RFC 7296 §3.3)', () => {
  // One ESP proposal with an SPI, a TV Key Length, an unknown TLV attribute and ESN.
  const bytes = hex`
    00 00 0032          # SA: last payload, C=0, length 50
      00 00 002e        # proposal: last (0), RESERVED, length 46
      01 03 04 03       #   proposal 1, protocol ESP (3), SPI size 4, 3 transforms
      c1c2c3c4          #   SPI
        03 00 0012      #   transform: more (3), length 18
        01 00 000c      #     ENCR, RESERVED, AES_CBC (12)
        800e 0100       #     attr AF=1 type 14 (Key Length) = 256
        0011 0002 abcd  #     attr AF=0 type 17 (unknown), length 2, value abcd
        03 00 0008      #   transform: more, length 8
        03 00 0002      #     INTEG HMAC_SHA1_96
        00 00 0008      #   transform: last, length 8
        05 00 0000      #     ESN: no ESN
  `;

  it('round-trips proposals, SPI, TV and TLV attributes', () => {
    const p = roundTrip(PayloadType.SA, bytes, 'sa');
    expect(p.critical).toBe(false);
    expect(p.proposals).toHaveLength(1);
    const prop = p.proposals[0]!;
    expect(prop).toMatchObject({ num: 1, protocol: 3 });
    expect([...prop.spi]).toEqual([0xc1, 0xc2, 0xc3, 0xc4]);
    expect(prop.transforms.map((t) => [t.type, t.id])).toEqual([
      [1, 12],
      [3, 2],
      [5, 0],
    ]);
    expect(prop.transforms[0]!.attributes).toEqual([
      { type: 14, value: 256 },
      { type: 17, value: Uint8Array.of(0xab, 0xcd) },
    ]);
    expect(prop.transforms[1]!.attributes).toEqual([]);
  });

  it('rejects a "more proposals" flag with nothing after it', () => {
    const bad = bytes.slice();
    bad[4] = 2; // proposal last-substruc says another proposal follows
    expect(decodeFails(PayloadType.SA, bad).message).toMatch(/proposal last substruc|needs/);
  });

  it('rejects substructure flags other than 0/2 and 0/3', () => {
    const bad = bytes.slice();
    bad[4] = 3; // 3 is the transform flag, not valid for a proposal
    expect(decodeFails(PayloadType.SA, bad).message).toMatch(/is not 0 or 2/);
    const bad2 = bytes.slice();
    bad2[16] = 2; // first transform flag
    expect(decodeFails(PayloadType.SA, bad2).message).toMatch(/is not 0 or 3/);
  });

  it('rejects a transform count that disagrees with the chain', () => {
    const bad = bytes.slice();
    bad[11] = 4; // announces 4 transforms, 3 present
    expect(decodeFails(PayloadType.SA, bad).message).toMatch(/announces 4 transforms but carries 3/);
  });

  it('rejects SPI sizes other than 0, 4 and 8', () => {
    const bad = bytes.slice();
    bad[10] = 3;
    expect(decodeFails(PayloadType.SA, bad).message).toMatch(/SPI size 3/);
  });

  it('rejects a transform length below its header and a TLV attribute overrunning it', () => {
    const short = bytes.slice();
    short[19] = 0x04; // first transform length 4
    decodeFails(PayloadType.SA, short);
    const overrun = bytes.slice();
    overrun[31] = 0x09; // TLV attribute claims 9 bytes
    expect(decodeFails(PayloadType.SA, overrun).message).toMatch(/attribute value needs 9 bytes/);
  });

  it('keeps a proposal with no transforms when the count says zero', () => {
    const empty = hex`
      00 00 000c        # SA: length 12
        00 00 0008      # proposal: last, length 8
        02 01 00 00     #   proposal 2, IKE, SPI size 0, 0 transforms
    `;
    const p = roundTrip(PayloadType.SA, empty, 'sa');
    expect(p.proposals).toEqual([{ num: 2, protocol: 1, spi: new Uint8Array(0), transforms: [] }]);
  });
});

describe('KE payload (§3.4)', () => {
  it('round-trips group and data', () => {
    const bytes = hex`
      00 00 0010        # KE: length 16
        0013 0000       #   DH group 19 (ECP_256), RESERVED
        0102030405060708  # key exchange data (truncated ECP point, syntax only)
    `;
    const p = roundTrip(PayloadType.KE, bytes, 'ke');
    expect(p.group).toBe(19);
    expect([...p.data]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });

  it('fails when the payload is too short for group + reserved', () => {
    decodeFails(PayloadType.KE, hex`00 00 0006  0013`);
  });
});

describe('ID payloads (§3.5)', () => {
  it('round-trips IDi ID_IPV4_ADDR (what Windows sends with EAP)', () => {
    const bytes = hex`
      00 00 000c        # IDi: length 12
        01 000000       #   ID_IPV4_ADDR, RESERVED
        c0a8010d        #   192.168.1.13
    `;
    const p = roundTrip(PayloadType.IDi, bytes, 'idi');
    expect(p.idType).toBe(1);
    expect([...p.data]).toEqual([192, 168, 1, 13]);
  });

  it('round-trips IDr ID_FQDN', () => {
    const fqdn = Buffer.from('vpn.example.com');
    const bytes = cat(hex`00 00 0017  02 000000  # IDr: length 23, ID_FQDN`, fqdn);
    const p = roundTrip(PayloadType.IDr, bytes, 'idr');
    expect(p.idType).toBe(2);
    expect(Buffer.from(p.data).toString()).toBe('vpn.example.com');
  });
});

describe('CERT and CERTREQ payloads (§3.6, §3.7)', () => {
  it('round-trips CERT', () => {
    const bytes = hex`
      00 00 000a        # CERT: length 10
        04              #   X.509 Certificate - Signature
        3003020100      #   (stand-in DER)
    `;
    const p = roundTrip(PayloadType.CERT, bytes, 'cert');
    expect(p.encoding).toBe(4);
    expect(p.data).toHaveLength(5);
  });

  it('round-trips CERTREQ with two CA key hashes', () => {
    const bytes = cat(hex`00 00 002d  04  # CERTREQ: length 45, X.509`, pattern(20, 1), pattern(20, 2));
    const p = roundTrip(PayloadType.CERTREQ, bytes, 'certreq');
    expect(p.encoding).toBe(4);
    expect(p.data).toHaveLength(40);
  });
});

describe('AUTH payload (§3.8)', () => {
  it('round-trips method and data', () => {
    const bytes = cat(hex`00 00 001c  02 000000  # AUTH: length 28, Shared Key MIC, RESERVED`, pattern(20, 7));
    const p = roundTrip(PayloadType.AUTH, bytes, 'auth');
    expect(p.method).toBe(2);
    expect(p.data).toEqual(pattern(20, 7));
  });
});

describe('Nonce payload (§3.9)', () => {
  it('round-trips 16 bytes of nonce', () => {
    const bytes = hex`
      00 00 0014                        # Nonce: length 20
        000102030405060708090a0b0c0d0e0f  # nonce data
    `;
    const p = roundTrip(PayloadType.NONCE, bytes, 'nonce');
    expect(p.nonce).toHaveLength(16);
    expect(p.nonce[15]).toBe(0x0f);
  });
});

describe('Notify payload (§3.10)', () => {
  it('round-trips REKEY_SA with an ESP SPI', () => {
    const bytes = hex`
      00 00 000c        # N: length 12
        03 04 4009      #   protocol ESP, SPI size 4, REKEY_SA (16393)
        11223344        #   SPI
    `;
    const p = roundTrip(PayloadType.NOTIFY, bytes, 'notify');
    expect(p).toMatchObject({ protocol: 3, notify: 16393 });
    expect([...p.spi]).toEqual([0x11, 0x22, 0x33, 0x44]);
    expect(p.data).toHaveLength(0);
  });

  it('round-trips INVALID_KE_PAYLOAD with its group', () => {
    const bytes = hex`00 00 000a  00 00 0011  000e  # N: length 10, INVALID_KE_PAYLOAD, group 14`;
    const p = roundTrip(PayloadType.NOTIFY, bytes, 'notify');
    expect(p.notify).toBe(17);
    expect([...p.data]).toEqual([0, 14]);
  });

  it('rejects an SPI size running past the payload', () => {
    expect(decodeFails(PayloadType.NOTIFY, hex`00 00 000a  03 08 4009  1122`).message).toMatch(/SPI needs 8 bytes/);
  });
});

describe('Delete payload (§3.11)', () => {
  it('round-trips two ESP SPIs', () => {
    const bytes = hex`
      00 00 0010        # D: length 16
        03 04 0002      #   protocol ESP, SPI size 4, 2 SPIs
        aabbccdd        #   SPI 1
        01020304        #   SPI 2
    `;
    const p = roundTrip(PayloadType.DELETE, bytes, 'delete');
    expect(p).toMatchObject({ protocol: 3, spiSize: 4 });
    expect(p.spis.map((s) => Buffer.from(s).toString('hex'))).toEqual(['aabbccdd', '01020304']);
  });

  it('round-trips the IKE SA delete (no SPIs)', () => {
    const p = roundTrip(PayloadType.DELETE, hex`00 00 0008  01 00 0000  # D: IKE, size 0, count 0`, 'delete');
    expect(p).toMatchObject({ protocol: 1, spiSize: 0, spis: [] });
  });

  it('rejects a count that does not match the bytes', () => {
    expect(decodeFails(PayloadType.DELETE, hex`00 00 000c  03 04 0002  aabbccdd`).message).toMatch(/2 SPIs of 4 bytes/);
    // A huge count of zero-size SPIs is refused instead of producing 65535 empty SPIs.
    expect(decodeFails(PayloadType.DELETE, hex`00 00 0008  03 00 ffff`).message).toMatch(/SPI size 0/);
  });
});

describe('Vendor ID payload (§3.12)', () => {
  it('round-trips the data', () => {
    const bytes = hex`00 00 0014  fb1de3cdf341b7ea16b7e5be0855f120  # V: MS-Negotiation Discovery Capable`;
    const p = roundTrip(PayloadType.VENDOR, bytes, 'vendor');
    expect(Buffer.from(p.data).toString('hex')).toBe('fb1de3cdf341b7ea16b7e5be0855f120');
  });
});

describe('Traffic selector payloads (§3.13)', () => {
  // Windows' TSi: 0.0.0.0/0 and ::/0, all protocols, all ports.
  const bytes = hex`
    00 00 0040          # TSi: length 64
      02 000000         #   2 selectors, RESERVED
      07 00 0010        #   TS_IPV4_ADDR_RANGE, any protocol, length 16
      0000 ffff         #   ports 0..65535
      00000000 ffffffff #   0.0.0.0 .. 255.255.255.255
      08 00 0028        #   TS_IPV6_ADDR_RANGE, any protocol, length 40
      0000 ffff         #   ports 0..65535
      00000000000000000000000000000000  # ::
      ffffffffffffffffffffffffffffffff  # ffff:...:ffff
  `;

  it('round-trips IPv4 and IPv6 ranges', () => {
    const p = roundTrip(PayloadType.TSi, bytes, 'tsi');
    expect(p.selectors).toHaveLength(2);
    expect(p.selectors[0]).toMatchObject({ tsType: 7, ipProtocol: 0, startPort: 0, endPort: 65535 });
    expect([...p.selectors[0]!.endAddr]).toEqual([255, 255, 255, 255]);
    expect(p.selectors[1]!.startAddr).toHaveLength(16);
  });

  it('decodes type 45 as TSr', () => {
    const p = decodePayloads(PayloadType.TSr, new Reader(bytes))[0]!;
    expect(p.kind).toBe('tsr');
  });

  it('rejects unknown TS types', () => {
    const bad = bytes.slice();
    bad[8] = 9; // TS type 9
    expect(decodeFails(PayloadType.TSi, bad).message).toMatch(/unknown TS type 9/);
  });

  it('rejects a selector length that does not fit its type', () => {
    const bad = bytes.slice();
    bad[11] = 0x14; // IPv4 selector claiming 20 bytes
    expect(decodeFails(PayloadType.TSi, bad).message).toMatch(/length 20 for TS type 7/);
  });

  it('rejects a selector count larger than what is present', () => {
    const bad = bytes.slice();
    bad[4] = 3;
    decodeFails(PayloadType.TSi, bad);
  });
});

describe('Configuration payload (§3.15)', () => {
  it('round-trips a Windows-style CFG_REQUEST with empty values and MS attributes', () => {
    const bytes = hex`
      00 00 0020        # CP: length 32
        01 000000       #   CFG_REQUEST, RESERVED
        0001 0000       #   INTERNAL_IP4_ADDRESS, empty
        0003 0000       #   INTERNAL_IP4_DNS, empty
        0004 0000       #   INTERNAL_IP4_NBNS, empty
        5ba0 0000       #   23456 (MS INTERNAL_IP4_SERVER), empty
        0008 0000       #   INTERNAL_IP6_ADDRESS, empty
        000a 0000       #   INTERNAL_IP6_DNS, empty
    `;
    const p = roundTrip(PayloadType.CP, bytes, 'cp');
    expect(p.cfgType).toBe(1);
    expect(p.attributes.map((a) => a.type)).toEqual([1, 3, 4, 23456, 8, 10]);
    expect(p.attributes.every((a) => a.value.length === 0)).toBe(true);
  });

  it('round-trips a CFG_REPLY with values', () => {
    const bytes = hex`
      00 00 0018        # CP: length 24
        02 000000       #   CFG_REPLY
        0001 0004 0a000002  # INTERNAL_IP4_ADDRESS 10.0.0.2
        0003 0004 01010101  # INTERNAL_IP4_DNS 1.1.1.1
    `;
    const p = roundTrip(PayloadType.CP, bytes, 'cp');
    expect(p.attributes).toEqual([
      { type: 1, value: Uint8Array.of(10, 0, 0, 2) },
      { type: 3, value: Uint8Array.of(1, 1, 1, 1) },
    ]);
  });

  it('ignores the reserved bit of the attribute type on receipt', () => {
    const bytes = hex`00 00 000c  01 000000  8001 0000  # R bit set on INTERNAL_IP4_ADDRESS`;
    const p = decodePayloads(PayloadType.CP, new Reader(bytes))[0] as PayloadOf<'cp'>;
    expect(p.attributes[0]!.type).toBe(1);
  });

  it('rejects an attribute value running past the payload', () => {
    decodeFails(PayloadType.CP, hex`00 00 000e  01 000000  0001 0004 0a00`);
  });
});

describe('EAP payload (§3.16)', () => {
  it('carries the whole EAP packet', () => {
    const bytes = hex`
      00 00 0009        # EAP: length 9
        01 01 0005 01   #   EAP Request, identifier 1, length 5, type Identity
    `;
    const p = roundTrip(PayloadType.EAP, bytes, 'eap');
    expect([...p.data]).toEqual([1, 1, 0, 5, 1]);
  });
});

describe('Encrypted payloads (§3.14, RFC 7383 §2.5)', () => {
  it('keeps SK opaque and records the first inner payload type', () => {
    const body = pattern(44, 3); // IV || ciphertext || ICV
    const bytes = cat(hex`23 00 0030  # SK: next IDi (35), length 48`, body);
    const p = roundTrip(PayloadType.SK, bytes, 'sk');
    expect(p.firstInner).toBe(PayloadType.IDi);
    expect(p.body).toEqual(body);
  });

  it('round-trips SKF fragment numbers', () => {
    const first = cat(hex`23 00 0010  0001 000c  # SKF: next IDi, length 16, fragment 1 of 12`, pattern(8));
    const p1 = roundTrip(PayloadType.SKF, first, 'skf');
    expect(p1).toMatchObject({ firstInner: 35, fragmentNumber: 1, totalFragments: 12 });
    const later = cat(hex`00 00 0010  0007 000c  # SKF: next 0 (not the first fragment), 7 of 12`, pattern(8));
    const p7 = roundTrip(PayloadType.SKF, later, 'skf');
    expect(p7).toMatchObject({ firstInner: 0, fragmentNumber: 7, totalFragments: 12 });
  });

  it('ends the chain: nothing may follow SK', () => {
    const bytes = cat(hex`23 00 0008  00000000  # SK with a 4-byte body`, hex`00 00 0004  # stray payload`);
    expect(decodeFails(PayloadType.SK, bytes).message).toMatch(/4 trailing bytes/);
  });
});

describe('unknown payloads (§2.5, §3.2)', () => {
  it('keeps type, critical bit and body', () => {
    const bytes = hex`00 80 0008  deadbeef  # type 200, C=1, length 8`;
    const p = roundTrip(200, bytes, 'unknown');
    expect(p).toMatchObject({ type: 200, critical: true });
    expect([...p.body]).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });

  it('reads the critical bit of known payloads and ignores the 7 reserved bits', () => {
    const bytes = hex`00 ff 0008  00000000  # Vendor ID with C=1 and all reserved bits set`;
    const p = decodePayloads(PayloadType.VENDOR, new Reader(bytes))[0]!;
    expect(p.critical).toBe(true);
    // Re-encoding writes the reserved bits as zero.
    expect(encodePayloads([p]).bytes[1]).toBe(0x80);
  });
});

describe('generic payload header (§3.2)', () => {
  it('rejects a payload length below 4', () => {
    expect(decodeFails(PayloadType.NONCE, hex`00 00 0003 00`).message).toMatch(/payload length 3 below 4/);
  });

  it('rejects a payload length beyond the data (overlong)', () => {
    expect(decodeFails(PayloadType.NONCE, hex`00 00 0020 0102`).message).toMatch(/NONCE payload needs 28 bytes/);
  });

  it('rejects a truncated generic header', () => {
    expect(decodeFails(PayloadType.NONCE, hex`00 00`).message).toMatch(/header needs 4 bytes/);
  });

  it('rejects a chain whose Next Payload points past the data', () => {
    expect(decodeFails(PayloadType.NONCE, hex`28 00 0004  # next says another Nonce follows`).message).toMatch(
      /header needs 4 bytes, 0 left/,
    );
  });

  it('reports the offset of the bad field', () => {
    const e = decodeFails(PayloadType.VENDOR, hex`2b 00 0005 aa   00 00 0002`);
    // The second Vendor ID starts at 5; the error is raised just past its length field.
    expect(e.offset).toBe(9);
    expect(e.message).toMatch(/VENDOR payload length 2 below 4/);
  });

  it('computes Next Payload and lengths when encoding a chain', () => {
    const chain: Payload[] = [
      { kind: 'nonce', critical: false, nonce: pattern(16) },
      { kind: 'vendor', critical: false, data: Uint8Array.of(1, 2) },
      { kind: 'sk', critical: false, firstInner: PayloadType.AUTH, body: Uint8Array.of(9) },
    ];
    const { first, bytes } = encodePayloads(chain);
    expect(first).toBe(PayloadType.NONCE);
    expect([...bytes.subarray(0, 4)]).toEqual([PayloadType.VENDOR, 0, 0, 20]);
    expect([...bytes.subarray(20, 24)]).toEqual([PayloadType.SK, 0, 0, 6]);
    expect([...bytes.subarray(26, 30)]).toEqual([PayloadType.AUTH, 0, 0, 5]); // SK: next = firstInner
    expect(decodePayloads(first, new Reader(bytes))).toEqual(chain);
  });

  it('refuses to encode SK anywhere but last', () => {
    const sk: Payload = { kind: 'sk', critical: false, firstInner: 0, body: new Uint8Array(0) };
    const v: Payload = { kind: 'vendor', critical: false, data: new Uint8Array(1) };
    expect(() => encodePayloads([sk, v])).toThrow(RangeError);
  });
});
