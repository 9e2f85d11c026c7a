// Pre-shared key lookup for AUTH method 2 (RFC 7296 §2.15) following strongSwan's rule for
// `secrets { ike-x { id-a = …, id-b = …, secret = … } }`: every secret is scored by how well
// its ids match our identity ("me") and the peer's ("other"); the secret with the best
// `other` score wins, ties broken by the `me` score (credential_manager.c get_shared, the
// mem_cred.c shared filter). A secret without ids matches anyone with the lowest score.
import { IdType } from '../ike/constants.js';
import type { IdentityPattern, IkeIdentity, SecretConfig } from '../policy/policy.js';
import { bytesEqual } from '../crypto/bytes.js';
import { namesEqual, parseName } from './names.js';

/** strongSwan's id_match_t values (identification.h). */
export const IdMatch = { NONE: 0, ANY: 1, MAX_WILDCARDS: 2, ONE_WILDCARD: 19, PERFECT: 20 } as const;

const text = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

/** How well `pattern` (a configured id) matches the concrete identity `id`. */
export function identityMatchQuality(pattern: IdentityPattern, id: IkeIdentity): number {
  if (pattern.any) return IdMatch.ANY;
  const p = pattern.id;
  if (p.type !== id.type) return IdMatch.NONE;
  switch (p.type) {
    case IdType.ID_FQDN:
    case IdType.ID_RFC822_ADDR: {
      const pt = text(p.data).toLowerCase();
      const it = text(id.data).toLowerCase();
      if (pt === it) return IdMatch.PERFECT;
      // strongSwan: a leading '*' matches any prefix ("*@example.com", "*.example.com").
      if (pt.startsWith('*') && it.endsWith(pt.slice(1))) return IdMatch.ONE_WILDCARD;
      return IdMatch.NONE;
    }
    case IdType.ID_DER_ASN1_DN:
      return dnMatchQuality(p.data, id.data);
    default:
      return bytesEqual(p.data, id.data) ? IdMatch.PERFECT : IdMatch.NONE;
  }
}

/** DN patterns may use '*' as an RDN value; each wildcard lowers the score by one. */
function dnMatchQuality(pattern: Uint8Array, id: Uint8Array): number {
  if (namesEqual(pattern, id)) return IdMatch.PERFECT;
  let pr;
  let ir;
  try {
    pr = parseName(pattern);
    ir = parseName(id);
  } catch {
    return IdMatch.NONE;
  }
  if (pr.length !== ir.length) return IdMatch.NONE;
  let wildcards = 0;
  for (let i = 0; i < pr.length; i++) {
    const a = pr[i]!;
    const b = ir[i]!;
    if (a.length !== b.length) return IdMatch.NONE;
    for (let j = 0; j < a.length; j++) {
      if (a[j]!.oid !== b[j]!.oid) return IdMatch.NONE;
      if (a[j]!.value === '*') wildcards++;
      else if (a[j]!.value.trim().toLowerCase() !== b[j]!.value.trim().toLowerCase()) return IdMatch.NONE;
    }
  }
  if (wildcards === 0) return IdMatch.PERFECT;
  return Math.max(IdMatch.MAX_WILDCARDS, IdMatch.PERFECT - wildcards);
}

function bestOwnerMatch(ids: IdentityPattern[], id: IkeIdentity): number {
  if (ids.length === 0) return IdMatch.ANY;
  let best: number = IdMatch.NONE;
  for (const p of ids) best = Math.max(best, identityMatchQuality(p, id));
  return best;
}

/** The `ike` secret for this pair of identities, or undefined. */
export function findSharedKey(local: IkeIdentity | undefined, remote: IkeIdentity, secrets: readonly SecretConfig[]): SecretConfig | undefined {
  let found: SecretConfig | undefined;
  let bestMe: number = IdMatch.NONE;
  let bestOther: number = IdMatch.NONE;
  for (const s of secrets) {
    if (s.kind !== 'ike' || !s.secret) continue;
    const me = local ? bestOwnerMatch(s.ids, local) : IdMatch.NONE;
    const other = bestOwnerMatch(s.ids, remote);
    if (me === IdMatch.NONE && other === IdMatch.NONE) continue;
    if (other > bestOther || (other === bestOther && me > bestMe)) {
      found = s;
      bestMe = me;
      bestOther = other;
    }
    if (bestMe === IdMatch.PERFECT && bestOther === IdMatch.PERFECT) break;
  }
  return found;
}
