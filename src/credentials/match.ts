// Does a certificate vouch for an IKE identity (RFC 7296 §3.5, RFC 4945 §3.1)? The IDi/IDr
// payload must match the end-entity certificate: the subject DN for ID_DER_ASN1_DN, a
// subjectAltName of the corresponding type for FQDN/RFC822/IP identities. Also lists the
// identities a certificate can stand for, subject first (strongSwan's default local ID).
import { formatIp, parseIp } from '../net/address.js';
import { IdType } from '../ike/constants.js';
import type { IkeIdentity } from '../policy/policy.js';
import { bytesEqual } from '../crypto/bytes.js';
import { OID_EMAIL_ADDRESS, formatName, namesEqual, parseName } from './names.js';
import type { Certificate } from './x509.js';

const latin = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** Case-insensitive DNS name equality; a trailing root dot is not significant. */
function dnsEqual(a: string, b: string): boolean {
  return a.replace(/\.$/, '').toLowerCase() === b.replace(/\.$/, '').toLowerCase();
}

/**
 * SAN dNSName `pattern` covers `name`: exact, or a "*." wildcard standing for exactly one
 * leftmost label (RFC 6125 §6.4.3; we do not allow partial-label wildcards like "v*.x").
 */
function dnsCovers(pattern: string, name: string): boolean {
  if (dnsEqual(pattern, name)) return true;
  if (!pattern.startsWith('*.')) return false;
  const n = name.replace(/\.$/, '').toLowerCase();
  const dot = n.indexOf('.');
  return dot > 0 && dnsEqual(pattern.slice(2), n.slice(dot + 1));
}


/** Email addresses in the subject DN (PKCS#9 emailAddress, legacy but still issued). */
function dnEmails(cert: Certificate): string[] {
  try {
    return parseName(cert.subjectDer)
      .flat()
      .filter((a) => a.oid === OID_EMAIL_ADDRESS)
      .map((a) => a.value);
  } catch {
    return [];
  }
}

export function certificateMatchesIdentity(cert: Certificate, id: IkeIdentity): boolean {
  switch (id.type) {
    case IdType.ID_DER_ASN1_DN:
      return id.data.length > 0 && namesEqual(id.data, cert.subjectDer);
    case IdType.ID_FQDN: {
      const name = latin(id.data);
      return name.length > 0 && cert.sans.dns.some((d) => dnsCovers(d, name));
    }
    case IdType.ID_RFC822_ADDR: {
      const addr = latin(id.data).toLowerCase();
      return addr.length > 0 && [...cert.sans.email, ...dnEmails(cert)].some((e) => e.toLowerCase() === addr);
    }
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR: {
      const want = id.type === IdType.ID_IPV4_ADDR ? 4 : 16;
      if (id.data.length !== want) return false;
      if (cert.sans.ip.some((ip) => bytesEqual(ip, id.data))) return true;
      // Windows wants the server IP as dNSName (field-facts §2.1.5); accept that form too.
      return cert.sans.dns.some((d) => {
        const b = parseIp(d);
        return b !== undefined && bytesEqual(b, id.data);
      });
    }
    case IdType.ID_KEY_ID:
      // strongSwan accepts both SHA-1 flavours here (KEYID_PUBKEY_INFO_SHA1, KEYID_PUBKEY_SHA1).
      return bytesEqual(id.data, cert.keyId) || bytesEqual(id.data, cert.publicKeySha1);
    default:
      return false;
  }
}

/** Identities this certificate can prove: subject DN (if not empty), then each SAN. */
export function identitiesOf(cert: Certificate): IkeIdentity[] {
  const out: IkeIdentity[] = [];
  // An empty Name is the 2-byte SEQUENCE 30 00; it identifies nobody.
  if (cert.subjectDer.length > 2) out.push({ type: IdType.ID_DER_ASN1_DN, data: cert.subjectDer });
  const enc = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'utf8'));
  for (const d of cert.sans.dns) out.push({ type: IdType.ID_FQDN, data: enc(d) });
  for (const e of cert.sans.email) out.push({ type: IdType.ID_RFC822_ADDR, data: enc(e) });
  for (const ip of cert.sans.ip) out.push({ type: ip.length === 4 ? IdType.ID_IPV4_ADDR : IdType.ID_IPV6_ADDR, data: ip });
  return out;
}

/** Short text of an identity for reasons and logs (does not depend on the policy module). */
export function identityText(id: IkeIdentity): string {
  switch (id.type) {
    case IdType.ID_IPV4_ADDR:
    case IdType.ID_IPV6_ADDR:
      return id.data.length === 4 || id.data.length === 16 ? formatIp(id.data) : `#${Buffer.from(id.data).toString('hex')}`;
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR:
      return latin(id.data);
    case IdType.ID_DER_ASN1_DN:
      return formatName(id.data);
    default:
      return `#${Buffer.from(id.data).toString('hex')}`;
  }
}
