// Pre-shared key lookup for AUTH method 2 (RFC 7296 §2.15) following strongSwan's rule for
// `secrets { ike-x { id-a = …, id-b = …, secret = … } }`: every secret is scored by how well
// its ids match our identity ("me") and the peer's ("other"); the secret with the best
// `other` score wins, ties broken by the `me` score (credential_manager.c get_shared, the
// mem_cred.c shared filter). A secret without ids matches anyone with the lowest score.
import { matchRank } from '../policy/identity.js';
import type { IdentityPattern, IkeIdentity, SecretConfig } from '../policy/policy.js';

/** strongSwan's id_match_t values (identification.h). */
export const IdMatch = { NONE: 0, ANY: 1, MAX_WILDCARDS: 2, ONE_WILDCARD: 19, PERFECT: 20 } as const;

const RANK_SCORE = [IdMatch.NONE, IdMatch.ANY, IdMatch.ONE_WILDCARD, IdMatch.PERFECT] as const;

/** How well `pattern` (a configured id) matches the concrete identity `id`, on strongSwan's scale. */
export function identityMatchQuality(pattern: IdentityPattern, id: IkeIdentity): number {
  return RANK_SCORE[matchRank(pattern, id)];
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
