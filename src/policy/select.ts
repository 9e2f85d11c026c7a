// Connection selection for a responder, in two steps like strongSwan's backend lookup:
// at IKE_SA_INIT by addresses (local_addrs/remote_addrs), at IKE_AUTH by identities and the
// authentication method the initiator used (RFC 7296 §2.15, §2.16). Pure functions.
import type { AuthClass, Connection, IkeIdentity } from './policy.js';
import { parseAddrRange, parseIp, rangeContains } from '../net/address.js';
import { formatIdentity, matchRank } from './identity.js';

/** How well one address matches one entry: 0 none, 1 %any, 2 range, 3+prefix CIDR, 200 exact. */
function addrScore(entries: readonly string[], addr: Uint8Array): number {
  let best = 0;
  for (const e of entries) {
    const t = e.trim();
    if (t === '%any') best = Math.max(best, 1);
    else if (t === '%any4') best = Math.max(best, addr.length === 4 ? 1 : 0);
    else if (t === '%any6') best = Math.max(best, addr.length === 16 ? 1 : 0);
    else {
      const r = parseAddrRange(t);
      if (!r || !rangeContains(r, addr)) continue; // DNS names are not resolved here
      const isHost = r.start === r.end;
      best = Math.max(best, isHost ? 200 : r.prefix !== undefined ? 3 + r.prefix : 2);
    }
  }
  return best;
}

/**
 * Connections whose local_addrs contain the address the IKE_SA_INIT arrived on and whose
 * remote_addrs contain the sender, most specific first (stable for equal scores).
 */
export function candidatesForInit(connections: readonly Connection[], localAddr: string | Uint8Array, remoteAddr: string | Uint8Array): Connection[] {
  const local = typeof localAddr === 'string' ? parseIp(localAddr) : localAddr;
  const remote = typeof remoteAddr === 'string' ? parseIp(remoteAddr) : remoteAddr;
  if (!local || !remote) return [];
  const scored: { c: Connection; score: number; i: number }[] = [];
  connections.forEach((c, i) => {
    const l = addrScore(c.localAddrs.length ? c.localAddrs : ['%any'], local);
    const r = addrScore(c.remoteAddrs.length ? c.remoteAddrs : ['%any'], remote);
    if (l > 0 && r > 0) scored.push({ c, score: l + r, i });
  });
  scored.sort((a, b) => b.score - a.score || a.i - b.i);
  return scored.map((s) => s.c);
}

/** What the initiator did in its first IKE_AUTH: AUTH with a PSK, a signature, or none (EAP). */
export type InitiatorAuth = 'psk' | 'signature' | 'none';

export interface AuthQuery {
  idi: IkeIdentity;
  /** Absent is normal: Windows sends no IDr. */
  idr?: IkeIdentity;
  authMethod: InitiatorAuth;
}

export type AuthSelection = { ok: true; connection: Connection; score: number } | { ok: false; reason: string };

function authFits(auth: AuthClass, m: InitiatorAuth): boolean {
  if (m === 'psk') return auth === 'psk';
  if (m === 'signature') return auth === 'pubkey';
  return auth.startsWith('eap');
}

/**
 * The best candidate for the initiator's identities and auth method. Ranking: the remote id
 * (exact > wildcard > %any) counts most, then a matching IDr, then the address order from
 * candidatesForInit. An IDr that names none of our identities does not exclude a connection
 * (clients send our IP address or the name they were configured with): it only ranks lower.
 */
export function selectForAuth(candidates: readonly Connection[], q: AuthQuery): AuthSelection {
  let best: { c: Connection; score: number } | undefined;
  const rejected: string[] = [];
  candidates.forEach((c, i) => {
    const remote = c.remote[0];
    const local = c.local[0];
    if (!remote || !local) {
      rejected.push(`${c.name}: no authentication rounds`);
      return;
    }
    if (!authFits(remote.auth, q.authMethod)) {
      rejected.push(`${c.name}: expects ${remote.auth}, peer used ${q.authMethod === 'none' ? 'EAP (no AUTH)' : q.authMethod}`);
      return;
    }
    const idRank = matchRank(remote.id, q.idi);
    if (idRank === 0) {
      rejected.push(`${c.name}: remote id ${remote.id.text} does not match ${formatIdentity(q.idi)}`);
      return;
    }
    let idrRank = 1;
    if (q.idr) idrRank = local.id.any ? 1 : matchRank(local.id, q.idr) > 0 ? 2 : 0;
    const score = idRank * 1000 + idrRank * 100 - Math.min(i, 99);
    if (!best || score > best.score) best = { c, score };
  });
  if (best) return { ok: true, connection: best.c, score: best.score };
  if (candidates.length === 0) return { ok: false, reason: 'no connection matches the IKE addresses' };
  return { ok: false, reason: `no matching connection for ${formatIdentity(q.idi)}: ${rejected.join('; ')}` };
}
