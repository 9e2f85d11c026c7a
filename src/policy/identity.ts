// IKE identities (RFC 7296 §3.5) from and to strongSwan's string forms: FQDN, RFC822, IP
// literals, Distinguished Names (DER RDNSequence, RFC 5280 §4.1.2.4), key ids, `%any`; plus
// strongSwan-style wildcard matching (`*@example.com`, `*.example.com`, `CN=*`).
import * as asn1js from 'asn1js';
import type { IdentityPattern, IkeIdentity } from './policy.js';
import { IdType } from '../ike/constants.js';
import { bytesEqual, fromHex, toHex } from '../crypto/bytes.js';
import { formatIp, parseIp } from '../net/address.js';
import { parseName } from '../credentials/names.js';

/** strongSwan's ID_ANY: not an IANA value, it only ever appears in configuration. */
export const ID_ANY = 0;

const enc = new TextEncoder();
const dec = new TextDecoder('utf-8', { fatal: false });

// ---- Distinguished Names ------------------------------------------------------------------

type StringKind = 'printable' | 'utf8' | 'ia5';
interface DnAttr {
  oid: string;
  names: string[]; // first is the display name
  kind: StringKind;
}

const DN_ATTRS: DnAttr[] = [
  { oid: '2.5.4.6', names: ['C'], kind: 'printable' },
  { oid: '2.5.4.8', names: ['ST', 'S'], kind: 'utf8' },
  { oid: '2.5.4.7', names: ['L'], kind: 'utf8' },
  { oid: '2.5.4.10', names: ['O'], kind: 'utf8' },
  { oid: '2.5.4.11', names: ['OU'], kind: 'utf8' },
  { oid: '2.5.4.3', names: ['CN'], kind: 'utf8' },
  { oid: '2.5.4.4', names: ['SN'], kind: 'utf8' },
  { oid: '2.5.4.5', names: ['serialNumber'], kind: 'printable' },
  { oid: '2.5.4.9', names: ['street'], kind: 'utf8' },
  { oid: '2.5.4.12', names: ['T', 'title'], kind: 'utf8' },
  { oid: '2.5.4.17', names: ['postalCode'], kind: 'utf8' },
  { oid: '2.5.4.41', names: ['N', 'name'], kind: 'utf8' },
  { oid: '2.5.4.42', names: ['G', 'GN', 'givenName'], kind: 'utf8' },
  { oid: '2.5.4.43', names: ['I', 'initials'], kind: 'utf8' },
  { oid: '2.5.4.46', names: ['dnQualifier'], kind: 'printable' },
  { oid: '2.5.4.65', names: ['pseudonym'], kind: 'utf8' },
  { oid: '1.2.840.113549.1.9.1', names: ['E', 'emailAddress', 'Email'], kind: 'ia5' },
  { oid: '0.9.2342.19200300.100.1.25', names: ['DC'], kind: 'ia5' },
  { oid: '0.9.2342.19200300.100.1.1', names: ['UID'], kind: 'utf8' },
];
const BY_NAME = new Map(DN_ATTRS.flatMap((a) => a.names.map((n) => [n.toLowerCase(), a] as const)));
const BY_OID = new Map(DN_ATTRS.map((a) => [a.oid, a]));

/** One AttributeTypeAndValue; RDNs with several (multi-valued, `+`) are flattened in order. */
export interface Rdn {
  oid: string;
  value: string;
  /** Set on the second and later members of a multi-valued RDN. */
  plus?: boolean;
}

const MAX_RDNS = 64;
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** Splits "C=CH, O=Acme, CN=x" (also "/C=CH/O=Acme" and `+` multi-valued RDNs) into RDNs. */
export function parseDnString(text: string): Rdn[] {
  let s = text.trim();
  let seps = ',;';
  if (s.startsWith('/')) {
    // OpenSSL one-line form.
    s = s.slice(1);
    seps = '/';
  }
  const out: Rdn[] = [];
  let i = 0;
  let plus = false;
  while (i < s.length) {
    while (s[i] === ' ') i++;
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`invalid DN '${text}': expected '=' after '${s.slice(i)}'`);
    const name = s.slice(i, eq).trim();
    i = eq + 1;
    while (s[i] === ' ') i++;
    let value = '';
    if (s[i] === '"') {
      i++;
      while (i < s.length && s[i] !== '"') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i++];
      }
      if (s[i] !== '"') throw new Error(`invalid DN '${text}': unterminated quote`);
      i++;
      while (s[i] === ' ') i++;
    } else {
      while (i < s.length && !seps.includes(s[i] as string) && s[i] !== '+') {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i++];
      }
      value = value.trim();
    }
    const oid = /^\d+(\.\d+)+$/.test(name) ? name : BY_NAME.get(name.toLowerCase())?.oid;
    if (!oid) throw new Error(`invalid DN '${text}': unknown attribute type '${name}'`);
    out.push(plus ? { oid, value, plus: true } : { oid, value });
    if (out.length > MAX_RDNS) throw new Error('DN has too many RDNs');
    plus = s[i] === '+';
    if (i < s.length) i++; // separator
  }
  if (out.length === 0) throw new Error(`invalid DN '${text}'`);
  return out;
}

function stringValue(kind: StringKind, value: string): asn1js.BaseBlock {
  if (kind === 'ia5' && /^[\x00-\x7f]*$/.test(value)) return new asn1js.IA5String({ value });
  if (kind === 'printable' && PRINTABLE.test(value)) return new asn1js.PrintableString({ value });
  // Like strongSwan, prefer PrintableString where the text allows it, else UTF8String.
  if (kind === 'utf8' && PRINTABLE.test(value)) return new asn1js.PrintableString({ value });
  return new asn1js.Utf8String({ value });
}

/** DER of an RDNSequence (RFC 5280 §4.1.2.4). */
export function rdnsToDer(rdns: Rdn[]): Uint8Array {
  const sets: asn1js.Set[] = [];
  for (const r of rdns) {
    const atv = new asn1js.Sequence({
      value: [new asn1js.ObjectIdentifier({ value: r.oid }), stringValue(BY_OID.get(r.oid)?.kind ?? 'utf8', r.value)],
    });
    const last = sets[sets.length - 1];
    if (r.plus && last) last.valueBlock.value.push(atv);
    else sets.push(new asn1js.Set({ value: [atv] }));
  }
  return new Uint8Array(new asn1js.Sequence({ value: sets }).toBER(false));
}

export function dnToDer(text: string): Uint8Array {
  return rdnsToDer(parseDnString(text));
}

/**
 * Decodes a DER RDNSequence, e.g. from an attacker-supplied ID_DER_ASN1_DN. Throws Error with a
 * clear message on anything malformed; the DER reader is bounded and the structure fixed-depth,
 * so it cannot loop.
 */
export function dnFromDer(der: Uint8Array): Rdn[] {
  try {
    return decodeDn(der);
  } catch (e) {
    // One error type out, whatever the reader threw on hostile input.
    const msg = (e as Error).message ?? String(e);
    throw new Error(msg.startsWith('invalid DN') ? msg : `invalid DN: ${msg}`);
  }
}

function decodeDn(der: Uint8Array): Rdn[] {
  if (der.length === 0 || der.length > 65535) throw new Error('invalid DN: bad length');
  // The certificate code's DER Name reader (one parser for hostile Names); flattened here, with
  // multi-valued RDN members marked `plus`.
  const out: Rdn[] = [];
  for (const set of parseName(der)) {
    if (set.length === 0) throw new Error('invalid DN: RDN is not a non-empty SET');
    set.forEach((atv, k) => out.push(k > 0 ? { oid: atv.oid, value: atv.value, plus: true } : { oid: atv.oid, value: atv.value }));
    if (out.length > MAX_RDNS) throw new Error('invalid DN: too many RDNs');
  }
  return out;
}

function escapeDnValue(v: string): string {
  // Control characters from a peer's ID_DER_ASN1_DN must not reach a log line verbatim.
  const safe = v.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return /[,+;"\\]/.test(safe) || safe.startsWith(' ') || safe.endsWith(' ') ? `"${safe.replace(/["\\]/g, '\\$&')}"` : safe;
}

/** "C=CH, O=strongSwan Project, CN=moon.strongswan.org" */
export function rdnsToString(rdns: Rdn[]): string {
  let s = '';
  rdns.forEach((r, i) => {
    if (i > 0) s += r.plus ? ' + ' : ', ';
    s += `${BY_OID.get(r.oid)?.names[0] ?? r.oid}=${escapeDnValue(r.value)}`;
  });
  return s;
}

// ---- identities -----------------------------------------------------------------------------

const TYPE_PREFIXES: Record<string, number> = {
  ipv4: IdType.ID_IPV4_ADDR,
  ipv6: IdType.ID_IPV6_ADDR,
  rfc822: IdType.ID_RFC822_ADDR,
  email: IdType.ID_RFC822_ADDR,
  userfqdn: IdType.ID_RFC822_ADDR,
  fqdn: IdType.ID_FQDN,
  dns: IdType.ID_FQDN,
  asn1dn: IdType.ID_DER_ASN1_DN,
  asn1gn: IdType.ID_DER_ASN1_GN,
  keyid: IdType.ID_KEY_ID,
};

/**
 * strongSwan's identification_create_from_string rules: `%any`; `type:value` / `type:#hex` /
 * `{n}:value` prefixes; `@#hex` key id; `@fqdn` and `@@user@domain` without conversion; IP
 * literals; anything containing `=` as a DN; `user@domain` as RFC822; else FQDN.
 */
export function parseIdentity(text: string): IkeIdentity {
  const t = text.trim();
  if (t === '' || t === '%any' || t === '%any6' || t === '*') return { type: ID_ANY, data: new Uint8Array(0) };
  const pm = /^([a-z0-9]+|\{\d+\}):(.*)$/i.exec(t);
  if (pm) {
    const p = (pm[1] as string).toLowerCase();
    const type = p.startsWith('{') ? Number(p.slice(1, -1)) : TYPE_PREFIXES[p];
    if (type !== undefined && type <= 255) {
      const rest = pm[2] as string;
      if (rest.startsWith('#')) return { type, data: fromHex(rest.slice(1)) };
      if (type === IdType.ID_DER_ASN1_DN) return { type, data: dnToDer(rest) };
      return { type, data: enc.encode(rest) };
    }
  }
  if (t.startsWith('@#')) return { type: IdType.ID_KEY_ID, data: fromHex(t.slice(2)) };
  if (t.startsWith('@@')) return { type: IdType.ID_RFC822_ADDR, data: enc.encode(t.slice(2)) };
  if (t.startsWith('@')) return { type: IdType.ID_FQDN, data: enc.encode(t.slice(1)) };
  const ip = parseIp(t);
  if (ip) return { type: ip.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, data: ip };
  if (t.includes('=')) return { type: IdType.ID_DER_ASN1_DN, data: dnToDer(t) };
  if (t.includes('@')) return { type: IdType.ID_RFC822_ADDR, data: enc.encode(t) };
  return { type: IdType.ID_FQDN, data: enc.encode(t) };
}

export function parseIdentityPattern(text: string): IdentityPattern {
  const t = text.trim();
  const id = parseIdentity(t);
  if (id.type === ID_ANY) return { any: true, text: '%any' };
  return { any: false, text: t, id };
}

/** Readable form for logs and the CLI; never throws (bad DNs print as hex). */
export function formatIdentity(id: IkeIdentity): string {
  switch (id.type) {
    case ID_ANY:
      return '%any';
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      return id.data.length === 4 || id.data.length === 16 ? formatIp(id.data) : `#${toHex(id.data)}`;
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR:
      return printable(id.data);
    case IdType.ID_DER_ASN1_DN:
      try {
        return rdnsToString(dnFromDer(id.data));
      } catch {
        return `#${toHex(id.data)}`;
      }
    case IdType.ID_KEY_ID:
      return `@#${toHex(id.data)}`;
    default:
      return `{${id.type}}:#${toHex(id.data)}`;
  }
}

/** Identity text from the wire may contain anything: keep logs on one line and readable. */
function printable(data: Uint8Array): string {
  const s = dec.decode(data);
  return /^[\x20-\x7e\u00a0-\uffff]*$/.test(s) && !s.includes('\ufffd') ? s : `#${toHex(data)}`;
}

function rdnsEqual(a: Rdn[], b: Rdn[], wildcards: boolean): boolean {
  if (a.length !== b.length) return false;
  return a.every((ra, i) => {
    const rb = b[i] as Rdn;
    if (ra.oid !== rb.oid) return false;
    if (wildcards && ra.value === '*') return true;
    return ra.value.toLowerCase() === rb.value.toLowerCase();
  });
}

function tryDn(data: Uint8Array): Rdn[] | undefined {
  try {
    return dnFromDer(data);
  } catch {
    return undefined;
  }
}

/** Same identity: DNs compare by attribute and value (case-insensitive), names case-insensitively. */
export function identityEquals(a: IkeIdentity, b: IkeIdentity): boolean {
  if (a.type !== b.type) return false;
  switch (a.type) {
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR:
      return dec.decode(a.data).toLowerCase() === dec.decode(b.data).toLowerCase();
    case IdType.ID_DER_ASN1_DN: {
      if (bytesEqual(a.data, b.data)) return true;
      const ra = tryDn(a.data);
      const rb = tryDn(b.data);
      return !!ra && !!rb && rdnsEqual(ra, rb, false);
    }
    default:
      return bytesEqual(a.data, b.data);
  }
}

/** strongSwan matching: `%any`, exact, `*` prefix for FQDN/RFC822, `*` RDN values in DNs. */
export function matchIdentity(pattern: IdentityPattern, id: IkeIdentity): boolean {
  return matchRank(pattern, id) > 0;
}

/** 0 = no match, 1 = %any, 2 = wildcard, 3 = exact; used to prefer the most specific config. */
export function matchRank(pattern: IdentityPattern, id: IkeIdentity): 0 | 1 | 2 | 3 {
  if (pattern.any) return 1;
  const p = pattern.id;
  if (identityEquals(p, id)) return 3;
  if (p.type !== id.type) return 0;
  if (p.type === IdType.ID_FQDN || p.type === IdType.ID_RFC822_ADDR) {
    const ps = dec.decode(p.data).toLowerCase();
    if (!ps.startsWith('*')) return 0;
    return dec.decode(id.data).toLowerCase().endsWith(ps.slice(1)) ? 2 : 0;
  }
  if (p.type === IdType.ID_DER_ASN1_DN) {
    const rp = tryDn(p.data);
    const ri = tryDn(id.data);
    return rp && ri && rp.some((r) => r.value === '*') && rdnsEqual(rp, ri, true) ? 2 : 0;
  }
  return 0;
}

/** A stable map key for an identity (pool leases, uniqueness checks). */
export function identityKey(id: IkeIdentity): string {
  if (id.type === IdType.ID_FQDN || id.type === IdType.ID_RFC822_ADDR) return `${id.type}:${dec.decode(id.data).toLowerCase()}`;
  if (id.type === IdType.ID_DER_ASN1_DN) {
    const r = tryDn(id.data);
    if (r) return `${id.type}:${rdnsToString(r.map((x) => ({ ...x, value: x.value.toLowerCase() })))}`;
  }
  return `${id.type}:${toHex(id.data)}`;
}
