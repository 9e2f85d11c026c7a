// IKE_SA uniqueness (swanctl `unique`, after strongSwan's ike_sa_manager check_uniqueness) and
// INITIAL_CONTACT (RFC 7296 §2.4, §3.10.1; Windows: the Vid-Initial-Contact vendor ID). Runs once
// the peer is authenticated, before virtual IPs are assigned, so a returning client gets its
// address back and the old CHILD_SAs' policies are gone before the new ones are installed.
//
// Duplicates are established IKE_SAs with the same local identity, the same remote identity
// (with EAP: the same EAP identity) and the same address family, as in strongSwan:
//   never    several SAs per identity; even INITIAL_CONTACT deletes nothing
//   no       the same as never here (legacy uniqueids=no setups want parallel SAs; strongSwan's
//            `no` would still delete them on INITIAL_CONTACT)
//   replace  (default) duplicates on the same connection are deleted (an INFORMATIONAL Delete is sent)
//   keep     a new SA is refused with AUTHENTICATION_FAILED while a duplicate on the same
//            connection exists
// With INITIAL_CONTACT (replace and keep) the duplicates of every connection go at once
// and silently: the peer says it has no state for them, so a Delete could not be answered.
import { ExchangeType, NotifyType, ProtocolId } from '../../constants.js';
import { IkeError } from '../../errors.js';
import { transition, type IkeSa } from '../../sa/ike-sa.js';
import type { EngineContext } from '../context.js';
import { formatIdentity, identityEquals, identityKey } from '../../../policy/identity.js';
import { removeChild, teardownIkeSa } from './teardown.js';

/**
 * The identity uniqueness is about: after EAP the peer's authenticated identity is its EAP
 * identity, whatever its IDi (a roaming Windows client's IDi is its current address), as
 * strongSwan's get_other_eap_id().
 */
const peerKeys = new WeakMap<IkeSa, string>();

function peerKey(sa: IkeSa): string | undefined {
  // Fixed once the SA is established; cached because every new SA compares against all others.
  const cached = peerKeys.get(sa);
  if (cached !== undefined) return cached;
  // identityKey: case-insensitive names and DNs compared by value, not by their DER encoding.
  const key = sa.eapIdentity !== undefined ? `eap:${sa.eapIdentity.toLowerCase()}` : sa.remoteId ? `id:${identityKey(sa.remoteId)}` : undefined;
  if (key !== undefined && sa.phase === 'established') peerKeys.set(sa, key);
  return key;
}

function duplicatesOf(ctx: EngineContext, sa: IkeSa): IkeSa[] {
  const key = peerKey(sa);
  return [...ctx.engine.sas.values()].filter(
    (other) =>
      other !== sa &&
      other.phase === 'established' &&
      other.localId !== undefined &&
      sa.localId !== undefined &&
      identityEquals(other.localId, sa.localId) &&
      peerKey(other) === key &&
      other.remote.family === sa.remote.family,
  );
}

/**
 * Applies the connection's uniqueness policy to a freshly authenticated IKE_SA. Throws
 * AUTHENTICATION_FAILED when `unique = keep` refuses it.
 */
export async function enforceUniqueness(ctx: EngineContext, sa: IkeSa, initialContact: boolean): Promise<void> {
  const policy = sa.conn?.unique ?? 'replace';
  // The loader maps `no` to never (several SAs per identity, INITIAL_CONTACT included).
  if (policy === 'never' || policy === 'no') return;
  const who = sa.eapIdentity ?? (sa.remoteId ? formatIdentity(sa.remoteId) : 'peer');
  const duplicates = duplicatesOf(ctx, sa);
  if (initialContact) {
    for (const other of duplicates) {
      sa.log.info(`INITIAL_CONTACT: deleting duplicate IKE_SA ${other.label} of '${who}'`);
      // Through the other SA's own queue, so nothing of it runs concurrently with its deletion;
      // awaited, so its dataplane state is gone before ours is installed.
      await ctx.engine.onSa(other, () => teardownIkeSa(ctx, other, `replaced by ${sa.label} (INITIAL_CONTACT)`));
    }
    return;
  }
  const sameConnection = duplicates.filter((other) => other.conn !== undefined && other.conn.name === sa.conn?.name);
  if (sameConnection.length === 0) return;
  if (policy === 'keep') {
    throw new IkeError(NotifyType.AUTHENTICATION_FAILED, `uniqueness policy keep: '${who}' already has IKE_SA ${sameConnection.map((o) => o.label).join(', ')}`);
  }
  for (const other of sameConnection) {
    sa.log.info(`uniqueness policy replace: deleting duplicate IKE_SA ${other.label} of '${who}'`);
    await ctx.engine.onSa(other, () => deleteReplaced(ctx, other, `replaced by ${sa.label} (unique = replace)`));
  }
}

/**
 * Deletes a replaced IKE_SA the polite way (RFC 7296 §1.4.1): its CHILD_SAs and leases go now,
 * so the new SA can take over the virtual IP and the same traffic selectors; the old peer is
 * sent an INFORMATIONAL Delete, and the SA itself is retired when that is answered or timed out.
 */
async function deleteReplaced(ctx: EngineContext, sa: IkeSa, reason: string): Promise<void> {
  if (sa.phase !== 'established') return;
  transition(sa, 'deleting', reason);
  for (const timer of ['dpd', 'keepalive']) {
    sa.timers.get(timer)?.();
    sa.timers.delete(timer);
  }
  for (const child of [...sa.children]) await removeChild(ctx, sa, child, reason);
  for (const lease of sa.leases) ctx.pools.release(lease.pool, lease.key, lease.address);
  sa.leases = [];
  // HDR, SK { D(IKE) }  -->
  ctx.engine.startRequest(sa, ExchangeType.INFORMATIONAL, [{ kind: 'delete', critical: false, protocol: ProtocolId.IKE, spiSize: 0, spis: [] }], async (r) => {
    sa.log.info(`old peer ${r.kind === 'response' ? 'acknowledged' : 'did not answer'} the Delete of IKE_SA ${sa.label}`);
    await teardownIkeSa(ctx, sa, reason);
  });
}
