// X.501 Names as they appear in certificates (RFC 5280 §4.1.2.4): parsing into RDNs,
// strongSwan-style text ("C=CH, O=Org, CN=name") for logs and operator messages, and the
// comparison rule of RFC 5280 §7.1 in simplified form (case-insensitive, whitespace folded)
// used when a peer's ID_DER_ASN1_DN is not byte-identical to the certificate subject.
import { Asn1Error, Tag, children, decodeOid, decodeString, expectTag, readOne } from './der.js';

export interface NameAttribute {
  oid: string;
  value: string;
}
/** One RDN (a SET, usually with one attribute). */
export type Rdn = NameAttribute[];

/** Short names for attribute types (RFC 4514 §3 plus the ones strongSwan prints). */
const SHORT_NAMES: Record<string, string> = {
  '2.5.4.3': 'CN',
  '2.5.4.4': 'SN',
  '2.5.4.5': 'serialNumber',
  '2.5.4.6': 'C',
  '2.5.4.7': 'L',
  '2.5.4.8': 'ST',
  '2.5.4.9': 'street',
  '2.5.4.10': 'O',
  '2.5.4.11': 'OU',
  '2.5.4.12': 'title',
  '2.5.4.42': 'GN',
  '2.5.4.43': 'initials',
  '2.5.4.46': 'dnQualifier',
  '2.5.4.65': 'pseudonym',
  '0.9.2342.19200300.100.1.1': 'UID',
  '0.9.2342.19200300.100.1.25': 'DC',
  '1.2.840.113549.1.9.1': 'E',
};
export const OID_EMAIL_ADDRESS = '1.2.840.113549.1.9.1';

/** Parses the DER of a Name (SEQUENCE OF SET OF AttributeTypeAndValue). Throws Asn1Error. */
export function parseName(der: Uint8Array): Rdn[] {
  const name = expectTag(readOne(der, 'Name'), Tag.SEQUENCE, 'Name');
  return children(name).map((set) => {
    expectTag(set, Tag.SET, 'RelativeDistinguishedName');
    return children(set).map((atv) => {
      const [type, value] = children(expectTag(atv, Tag.SEQUENCE, 'AttributeTypeAndValue'));
      return { oid: decodeOid(expectTag(type, Tag.OID, 'attribute type').value), value: decodeString(value ?? missing()) };
    });
  });
}

function missing(): never {
  throw new Asn1Error('attribute value missing');
}

export function attributeName(oidText: string): string {
  return SHORT_NAMES[oidText] ?? oidText;
}

/** "C=CH, O=Org, CN=name" in certificate order (as strongSwan prints it). */
export function formatRdns(rdns: Rdn[]): string {
  return rdns.map((rdn) => rdn.map((a) => `${attributeName(a.oid)}=${escapeValue(a.value)}`).join(' + ')).join(', ');
}

function escapeValue(v: string): string {
  // Control characters from a hostile certificate must not reach a log line verbatim.
  return v.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** Text of a Name's DER; never throws (unparsable names are shown as hex). */
export function formatName(der: Uint8Array): string {
  try {
    return formatRdns(parseName(der));
  } catch {
    return '#' + Buffer.from(der).toString('hex');
  }
}

/** RFC 5280 §7.1 (simplified RFC 4518): case-fold and collapse runs of white space. */
function normaliseValue(v: string): string {
  return v.normalize('NFKC').trim().replace(/\s+/g, ' ').toLowerCase();
}

/** Two Names are equal: byte-identical DER, or same RDNs in the same order after normalisation. */
export function namesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length === b.length && Buffer.compare(a, b) === 0) return true;
  let ra: Rdn[];
  let rb: Rdn[];
  try {
    ra = parseName(a);
    rb = parseName(b);
  } catch {
    return false;
  }
  return rdnsEqual(ra, rb);
}

export function rdnsEqual(ra: Rdn[], rb: Rdn[]): boolean {
  if (ra.length !== rb.length) return false;
  for (let i = 0; i < ra.length; i++) {
    const x = ra[i]!;
    const y = rb[i]!;
    if (x.length !== y.length) return false;
    // Attributes inside one RDN form a SET: order does not matter.
    const ys = y.map((at) => `${at.oid}=${normaliseValue(at.value)}`).sort();
    const xs = x.map((at) => `${at.oid}=${normaliseValue(at.value)}`).sort();
    for (let j = 0; j < xs.length; j++) if (xs[j] !== ys[j]) return false;
  }
  return true;
}
