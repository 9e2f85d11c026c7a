// IKE identities (RFC 7296 §3.5) in strongSwan's string forms, DN DER round trips, matching.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { IdType } from '../../../src/ike/constants.js';
import {
  ID_ANY,
  dnFromDer,
  dnToDer,
  formatIdentity,
  identityEquals,
  identityKey,
  matchIdentity,
  parseIdentity,
  parseIdentityPattern,
  rdnsToDer,
  rdnsToString,
} from '../../../src/policy/identity.js';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

describe('parseIdentity', () => {
  it.each([
    ['vpn.example.org', IdType.ID_FQDN, '76706e2e6578616d706c652e6f7267'],
    ['@vpn.example.org', IdType.ID_FQDN, '76706e2e6578616d706c652e6f7267'],
    ['carol@example.org', IdType.ID_RFC822_ADDR, Buffer.from('carol@example.org').toString('hex')],
    ['@@carol', IdType.ID_RFC822_ADDR, Buffer.from('carol').toString('hex')],
    ['192.0.2.1', IdType.ID_IPV4_ADDR, 'c0000201'],
    ['2001:db8::1', IdType.ID_IPV6_ADDR, '20010db8000000000000000000000001'],
    ['@#0a0B', IdType.ID_KEY_ID, '0a0b'],
    ['keyid:#cafe', IdType.ID_KEY_ID, 'cafe'],
    ['ipv4:#0a000001', IdType.ID_IPV4_ADDR, '0a000001'],
    ['fqdn:x.y', IdType.ID_FQDN, Buffer.from('x.y').toString('hex')],
    ['{11}:#01', 11, '01'],
    ['%any', ID_ANY, ''],
  ])('%s', (text, type, data) => {
    const id = parseIdentity(text);
    expect(id.type).toBe(type);
    expect(hex(id.data)).toBe(data);
  });

  it('builds DER for a DN (known encoding)', () => {
    const id = parseIdentity('C=CH, CN=moon');
    expect(id.type).toBe(IdType.ID_DER_ASN1_DN);
    // SEQUENCE { SET { SEQ { OID 2.5.4.6, PrintableString "CH" } } SET { SEQ { OID 2.5.4.3, PrintableString "moon" } } }
    expect(hex(id.data)).toBe('301c310b3009060355040613024348310d300b060355040313046d6f6f6e');
  });

  it('uses IA5String for E and DC, UTF8String for non-printable text', () => {
    const rdns = dnFromDer(dnToDer('DC=org, E=a@b.c, CN=Zürich'));
    expect(rdns.map((r) => r.value)).toEqual(['org', 'a@b.c', 'Zürich']);
    // IA5String (tag 0x16) "a@b.c" right after the emailAddress OID.
    expect(hex(dnToDer('E=a@b.c')).endsWith('06092a864886f70d0109011605614062' + '2e63')).toBe(true);
    // "Zürich" is not PrintableString: UTF8String (0x0c).
    expect(hex(dnToDer('CN=Zürich'))).toContain('0c075ac3bc72696368');
  });

  it('rejects unknown DN attribute names', () => {
    expect(() => parseIdentity('XX=1, CN=a')).toThrow(/unknown attribute type 'XX'/);
  });
});

describe('formatIdentity', () => {
  it.each([
    'C=CH, O=strongSwan Project, OU=Research, CN=carol@strongswan.org',
    'DC=org, DC=example, UID=jdoe, CN=John Doe',
    'C=DE, ST=Berlin, L=Berlin, O=Example, serialNumber=1234, E=x@example.org, CN=vpn',
    'O="Acme, Inc.", CN=a + UID=b',
  ])('DN round trip: %s', (dn) => {
    expect(formatIdentity(parseIdentity(dn))).toBe(dn);
  });

  it('accepts the OpenSSL /-form and formats it canonically', () => {
    expect(formatIdentity(parseIdentity('/C=CH/O=x/CN=y'))).toBe('C=CH, O=x, CN=y');
  });

  it('formats other types', () => {
    expect(formatIdentity(parseIdentity('2001:db8:0:0:0:0:0:1'))).toBe('2001:db8::1');
    expect(formatIdentity(parseIdentity('@#00ff'))).toBe('@#00ff');
    expect(formatIdentity({ type: IdType.ID_FQDN, data: new Uint8Array([0x61, 0x0a, 0x62]) })).toBe('#610a62');
    expect(formatIdentity({ type: IdType.ID_DER_ASN1_DN, data: new Uint8Array([0x30, 0x05, 0x01]) })).toBe('#300501');
  });
});

describe('decoding untrusted DNs', () => {
  it.each([
    ['empty', ''],
    ['truncated', '301d310b'],
    ['not a sequence', '0400'],
    ['trailing data', '30003000'],
    ['SET of OID', '3005310306012a'],
    ['huge length', '308fffffffffffffffff'],
  ])('%s → clear Error', (_n, h) => {
    expect(() => dnFromDer(Buffer.from(h, 'hex'))).toThrow(/invalid DN/);
  });

  it('random bytes never throw anything but Error and always terminate', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        try {
          const r = dnFromDer(bytes);
          expect(typeof rdnsToString(r)).toBe('string');
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/DN/);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('mutated valid DNs are handled', () => {
    const base = dnToDer('C=CH, O=Example, CN=vpn.example.org');
    fc.assert(
      fc.property(fc.nat(base.length - 1), fc.integer({ min: 0, max: 255 }), (i, b) => {
        const m = base.slice();
        m[i] = b;
        try {
          dnFromDer(m);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
        }
      }),
    );
  });
});

describe('matching', () => {
  const m = (pattern: string, id: string): boolean => matchIdentity(parseIdentityPattern(pattern), parseIdentity(id));
  it.each([
    ['%any', 'anything.example', true],
    ['%any', 'C=CH, CN=x', true],
    ['*@example.com', 'alice@example.com', true],
    ['*@example.com', 'alice@EXAMPLE.com', true],
    ['*@example.com', 'alice@example.org', false],
    ['*.example.com', 'host.example.com', true],
    ['*.example.com', 'example.com', false],
    ['*.example.com', 'alice@host.example.com', false], // type differs
    ['vpn.example.com', 'VPN.Example.com', true],
    ['C=CH, O=Example, CN=*', 'C=CH, O=Example, CN=carol', true],
    ['C=CH, O=Example, CN=*', 'C=CH, O=Other, CN=carol', false],
    ['C=CH, O=Example, CN=*', 'C=CH, O=Example, OU=x, CN=carol', false],
    ['C=CH, O=Example, CN=carol', 'C=CH, O=example, CN=Carol', true],
    ['192.0.2.1', '192.0.2.1', true],
    ['192.0.2.1', '192.0.2.2', false],
    ['@#0102', '@#0102', true],
  ])('%s ~ %s → %s', (p, id, want) => expect(m(p, id)).toBe(want));

  it('DN equality ignores the string type of values', () => {
    const printable = parseIdentity('C=CH, CN=moon');
    // Same DN with UTF8String (0x0c) values instead of PrintableString (0x13).
    const utf8 = { type: IdType.ID_DER_ASN1_DN, data: Buffer.from('301c310b300906035504060c024348310d300b06035504030c046d6f6f6e', 'hex') };
    expect(identityEquals(printable, utf8)).toBe(true);
    expect(identityKey(printable)).toBe(identityKey(utf8));
  });

  it('identityKey is stable and case-insensitive for names', () => {
    expect(identityKey(parseIdentity('Carol@Example.org'))).toBe(identityKey(parseIdentity('carol@example.org')));
    expect(identityKey(parseIdentity('carol@example.org'))).not.toBe(identityKey(parseIdentity('carol.example.org')));
  });
});

describe('formatting hostile DNs', () => {
  it('escapes control characters from a peer DN so they cannot forge log lines', () => {
    const der = rdnsToDer([{ oid: '2.5.4.3', value: 'evil\n{"level":"info"}' }]);
    const text = formatIdentity({ type: IdType.ID_DER_ASN1_DN, data: der });
    expect(text).not.toContain('\n');
    expect(text).toMatch(/evil\\+0a/);
  });
});
