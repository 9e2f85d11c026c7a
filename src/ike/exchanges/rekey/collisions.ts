// Rekey collisions (RFC 7296 §2.8.1 CHILD_SA, §2.8.2 IKE_SA): when both peers rekey the same SA
// at once, two replacements exist with four nonces between them. The replacement whose exchange
// holds the lowest of the four nonces is redundant and is deleted by the peer that initiated
// that exchange; the replaced SA is deleted by the peer that initiated the surviving one.
// What we remember about our own rekeys in flight lives here, so the responder paths can see it.
import type { ChildSa, IkeSa } from '../../sa/ike-sa.js';

/** Lexicographic order of two nonces, shorter first on a common prefix (strongSwan's chunk_compare). */
export function compareNonces(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

function lowest(a: Uint8Array, b: Uint8Array): Uint8Array {
  return compareNonces(a, b) <= 0 ? a : b;
}

/**
 * True when the SA made by our own exchange (our Ni, the peer's Nr) holds the lowest of the four
 * nonces, i.e. it is the redundant one and we, its initiator, must delete it (§2.8.1, §2.8.2).
 */
export function weLoseCollision(own: { ni: Uint8Array; nr: Uint8Array }, theirs: { ni: Uint8Array; nr: Uint8Array }): boolean {
  return compareNonces(lowest(own.ni, own.nr), lowest(theirs.ni, theirs.nr)) < 0;
}

/** Our CREATE_CHILD_SA rekey of `old` while its response is outstanding. */
export interface OwnChildRekey {
  old: ChildSa;
  ni: Uint8Array;
  /** The peer rekeyed the same CHILD_SA meanwhile: its replacement and that exchange's nonces. */
  collision?: { child: ChildSa; ni: Uint8Array; nr: Uint8Array };
}

const ownChildRekeys = new WeakMap<ChildSa, OwnChildRekey>();

export function ownChildRekey(child: ChildSa): OwnChildRekey | undefined {
  return ownChildRekeys.get(child);
}

export function beginOwnChildRekey(r: OwnChildRekey): void {
  ownChildRekeys.set(r.old, r);
}

export function endOwnChildRekey(child: ChildSa): void {
  ownChildRekeys.delete(child);
}

/**
 * RFC 7296 §2.25: whether a CHILD_SA of this IKE_SA is being rekeyed or closed by us, which makes
 * a concurrent IKE_SA rekey from the peer a TEMPORARY_FAILURE (§2.25.2).
 */
export function childWorkInFlight(sa: IkeSa): boolean {
  return sa.children.some((c) => c.state === 'rekeying' || c.state === 'deleting');
}
