// MOBIKE as responder (RFC 4555) and NAT mapping changes (RFC 7296 §2.23): an IKE_SA and all its
// CHILD_SAs move to new outer addresses with the same SPIs and keys.
//
//   IKE_AUTH   HDR, SK { …, N(MOBIKE_SUPPORTED) }  -->  <--  HDR, SK { …, N(MOBIKE_SUPPORTED) }   (§3.2)
//   HDR, SK { N(UPDATE_SA_ADDRESSES), N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP),
//             [N(NO_NATS_ALLOWED)], [N(COOKIE2)] }  -->
//                       <--  HDR, SK { N(NAT_DETECTION_SOURCE_IP), N(NAT_DETECTION_DESTINATION_IP), [N(COOKIE2)] }   (§3.5, §3.6)
//   HDR, SK { N(ADDITIONAL_IP4/6_ADDRESS)+ | N(NO_ADDITIONAL_ADDRESSES), [N(COOKIE2)] }  -->  <--  HDR, SK { [N(COOKIE2)] }   (§3.6)
//
// The new addresses are those of the request's IP header (§3.5), never the content of a notify;
// only authenticated messages get here (the engine verified the ICV). Without MOBIKE, a peer
// behind NAT is followed implicitly to the address of its last authenticated message (§2.23);
// with MOBIKE, address changes are explicit only (as strongSwan does): a stray or replayed
// datagram from elsewhere must not redirect the SA.
import { formatIp } from '../../net/address.js';
import { endpoint, formatEndpoint, type Endpoint, sameEndpoint } from '../../net/endpoint.js';
import type { Connection } from '../../policy/policy.js';
import type { PolicySpec, SaSpec } from '../../xfrm/dataplane.js';
import type { Payload } from '../codec/payload.js';
import { NotifyType } from '../constants.js';
import { notify } from '../codec/payloads/notify.js';
import type { Datagram } from '../ports.js';
import type { ChildSa, IkeSa } from '../sa/ike-sa.js';
import { allOf, findNotify, type EngineContext, type Inbound } from './context.js';
import { scheduleKeepalive } from './keepalive.js';
import { detectNat, natHash } from './steps/nat-detection.js';
import { removeChild } from './steps/teardown.js';
import { spiHex } from '../sa/spi.js';

/** The notifies that make an INFORMATIONAL request a MOBIKE one (RFC 4555 §4.2). */
const MOBIKE_NOTIFIES: ReadonlySet<number> = new Set([
  NotifyType.UPDATE_SA_ADDRESSES,
  NotifyType.ADDITIONAL_IP4_ADDRESS,
  NotifyType.ADDITIONAL_IP6_ADDRESS,
  NotifyType.NO_ADDITIONAL_ADDRESSES,
  NotifyType.COOKIE2,
  NotifyType.NO_NATS_ALLOWED,
  NotifyType.NAT_DETECTION_SOURCE_IP,
  NotifyType.NAT_DETECTION_DESTINATION_IP,
]);

/**
 * RFC 4555 §3.2: MOBIKE is used when the peer sent N(MOBIKE_SUPPORTED) in IKE_AUTH and the
 * connection allows it (`mobike = yes`, the default). Returns our notify for the final response.
 */
export function negotiateMobike(sa: IkeSa, conn: Connection, firstInner: Payload[]): Payload[] {
  if (!findNotify(firstInner, NotifyType.MOBIKE_SUPPORTED)) return [];
  if (!conn.mobike) {
    sa.log.info('peer supports MOBIKE, but mobike = no for this connection');
    return [];
  }
  sa.mobike = true;
  return [notify(NotifyType.MOBIKE_SUPPORTED)];
}

/** An INFORMATIONAL request carrying MOBIKE notifies (including a MOBIKE-style liveness check with NAT-D). */
export function isMobikeInformational(inner: Payload[]): boolean {
  return allOf(inner, 'notify').some((n) => MOBIKE_NOTIFIES.has(n.notify)) && !inner.some((p) => p.kind === 'delete');
}

/** Forced UDP encapsulation fakes a NAT in front of the peer, as at IKE_SA_INIT (strongSwan `encap = yes`). */
function forcedEncap(ctx: EngineContext, sa: IkeSa): boolean {
  return sa.conn?.encap === true || ctx.ports.dataplane.requiresUdpEncapsulation === true;
}

/** Handles an authenticated MOBIKE INFORMATIONAL request and sends the response. */
export async function handleMobikeInformational(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  const d = m.datagram;
  const response: Payload[] = [];
  const update = findNotify(m.inner, NotifyType.UPDATE_SA_ADDRESSES);
  const cookie2 = findNotify(m.inner, NotifyType.COOKIE2);
  const finish = () => {
    // §3.6: COOKIE2 is copied into the response unchanged, so the initiator can tell this
    // response from a replayed one to an earlier address update.
    if (cookie2) response.push(notify(NotifyType.COOKIE2, cookie2.data));
    ctx.engine.respond(sa, d, m.header, response, m.digest);
  };
  if (!sa.mobike) {
    // Unknown status notifies are ignored (RFC 7296 §3.10.1); without MOBIKE nothing moves.
    if (update) sa.log.warn(`peer sent UPDATE_SA_ADDRESSES from ${formatEndpoint(d.remote)} but MOBIKE was not negotiated: ignored`);
    return finish();
  }
  recordPeerAddresses(sa, m.inner);

  const sources = allOf(m.inner, 'notify').filter((n) => n.notify === NotifyType.NAT_DETECTION_SOURCE_IP).map((n) => n.data);
  const destination = findNotify(m.inner, NotifyType.NAT_DETECTION_DESTINATION_IP)?.data;
  const nat = detectNat(sa.ispi, sa.rspi, sources, destination, d.remote, d.local);
  const noNats = findNotify(m.inner, NotifyType.NO_NATS_ALLOWED);
  if (noNats && (!noNatsMatches(noNats.data, d) || nat.natLocal || nat.natRemote)) {
    // §3.9: the peer forbids NATs on this path and one rewrote the packet: refuse to move.
    sa.log.warn(`UPDATE from ${formatEndpoint(d.remote)} with NO_NATS_ALLOWED crossed a NAT: answering UNEXPECTED_NAT_DETECTED, addresses unchanged`);
    response.push(notify(NotifyType.UNEXPECTED_NAT_DETECTED));
    return finish();
  }
  if (nat.supported) {
    // Our view of this message's addresses (§3.5), so the peer learns whether a NAT is (still) there.
    const src = forcedEncap(ctx, sa) ? ctx.ports.rng.bytes(20) : natHash(sa.ispi, sa.rspi, d.local);
    response.push(notify(NotifyType.NAT_DETECTION_SOURCE_IP, src), notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(sa.ispi, sa.rspi, d.remote)));
  }
  if (update) {
    const natState = nat.supported || noNats ? { natLocal: nat.natLocal, natRemote: nat.natRemote || forcedEncap(ctx, sa) } : { natLocal: sa.natLocal, natRemote: sa.natRemote };
    await moveIkeSa(ctx, sa, d.local, d.remote, natState, 'MOBIKE UPDATE_SA_ADDRESSES');
  }
  finish();
}

/** §3.6: the ADDITIONAL_*_ADDRESS list replaces the previous one; NO_ADDITIONAL_ADDRESSES empties it. */
function recordPeerAddresses(sa: IkeSa, inner: Payload[]): void {
  const listed = allOf(inner, 'notify').filter(
    (n) => (n.notify === NotifyType.ADDITIONAL_IP4_ADDRESS && n.data.length === 4) || (n.notify === NotifyType.ADDITIONAL_IP6_ADDRESS && n.data.length === 16),
  );
  if (listed.length > 0) {
    sa.peerAddresses = listed.map((n) => formatIp(n.data));
    sa.log.info(`peer announced additional addresses ${sa.peerAddresses.join(', ')}`);
  } else if (findNotify(inner, NotifyType.NO_ADDITIONAL_ADDRESSES)) {
    sa.peerAddresses = [];
    sa.log.info('peer has no additional addresses');
  }
}

/**
 * §4.2.7: NO_NATS_ALLOWED carries the addresses and ports the peer sent from and to
 * (src addr | dst addr | src port | dst port); they must equal the IP header as received.
 */
function noNatsMatches(data: Uint8Array, d: Datagram): boolean {
  const len = data.length === 12 ? 4 : data.length === 36 ? 16 : 0;
  if (len === 0) return false;
  try {
    const src = endpoint(formatIp(data.subarray(0, len)), (data[2 * len]! << 8) | data[2 * len + 1]!);
    const dst = endpoint(formatIp(data.subarray(len, 2 * len)), (data[2 * len + 2]! << 8) | data[2 * len + 3]!);
    return src.address === d.remote.address && src.port === d.remote.port && dst.address === d.local.address && dst.port === d.local.port;
  } catch {
    return false;
  }
}

/**
 * RFC 7296 §2.23 implicit update, for every authenticated request and response: before the SA
 * is established it simply follows the peer (the float from 500 to 4500); afterwards only a
 * peer behind NAT is followed, and only without MOBIKE (which makes updates explicit).
 */
export async function followPeer(ctx: EngineContext, sa: IkeSa, d: Datagram): Promise<void> {
  if (sameEndpoint(sa.remote, d.remote) && sameEndpoint(sa.local, d.local)) return;
  if (sa.phase !== 'established') {
    sa.remote = d.remote;
    sa.local = d.local;
    return;
  }
  // openiked-portable#147: updating a non-NATed peer's address from any authenticated packet lets
  // a replayed or path-altered datagram hijack the SA; RFC 7296 §2.23 allows it only behind NAT.
  if (!sa.natRemote || sa.mobike) return;
  await moveIkeSa(ctx, sa, d.local, d.remote, { natLocal: sa.natLocal, natRemote: sa.natRemote }, 'NAT mapping changed');
}

/** Moves the IKE_SA to new end points, then each CHILD_SA (same SPIs, same keys). */
export async function moveIkeSa(ctx: EngineContext, sa: IkeSa, local: Endpoint, remote: Endpoint, nat: { natLocal: boolean; natRemote: boolean }, why: string): Promise<void> {
  const from = { local: sa.local, remote: sa.remote };
  const moved = !sameEndpoint(from.local, local) || !sameEndpoint(from.remote, remote);
  const natChanged = nat.natLocal !== sa.natLocal || nat.natRemote !== sa.natRemote;
  if (!moved && !natChanged) return;
  sa.local = local;
  sa.remote = remote;
  sa.natLocal = nat.natLocal;
  sa.natRemote = nat.natRemote;
  sa.log.info(
    { from: { local: formatEndpoint(from.local), remote: formatEndpoint(from.remote) }, to: { local: formatEndpoint(local), remote: formatEndpoint(remote) }, natLocal: nat.natLocal, natRemote: nat.natRemote },
    `${why}: IKE_SA ${sa.label} ${formatEndpoint(from.local)}...${formatEndpoint(from.remote)} -> ${formatEndpoint(local)}...${formatEndpoint(remote)}${nat.natRemote ? ' (remote behind NAT)' : ''}${nat.natLocal ? ' (local behind NAT)' : ''}`,
  );
  for (const child of [...sa.children]) await moveChild(ctx, sa, child);
  // Keepalives depend on NAT, which may just have appeared (§3.5: NAT detection is redone).
  scheduleKeepalive(ctx, sa);
}

/** The SA and policy specs of a CHILD_SA at the IKE_SA's current end points. */
function relocated(sa: IkeSa, child: ChildSa, encap: boolean): { sas: SaSpec[]; policies: PolicySpec[] } {
  const { local, remote } = sa;
  const installed = (s: SaSpec) => child.installedSas.some((id) => id.spi === s.id.spi && id.dst === s.id.dst);
  const sas = (child.saSpecs ?? []).filter(installed).map((s): SaSpec => {
    const inbound = s.direction === 'in';
    const { encap: _old, ...rest } = s;
    return {
      ...rest,
      id: { ...s.id, src: inbound ? remote.address : local.address, dst: inbound ? local.address : remote.address },
      ...(encap ? { encap: inbound ? { sport: remote.port, dport: local.port } : { sport: local.port, dport: remote.port } } : {}),
    };
  });
  const policies = child.installedPolicies.map(
    (p): PolicySpec => ({ ...p, tunnel: p.direction === 'out' ? { src: local.address, dst: remote.address } : { src: remote.address, dst: local.address } }),
  );
  return { sas, policies };
}

/**
 * Moves one CHILD_SA to the IKE_SA's end points: in place with the dataplane's migrate() when
 * only addresses change, else by deleting and re-installing SAs and policies with the same SPIs
 * and keys (migrate() cannot change UDP encapsulation ports). A CHILD_SA that cannot be moved
 * would only black-hole traffic, so it is removed.
 */
async function moveChild(ctx: EngineContext, sa: IkeSa, child: ChildSa): Promise<void> {
  const dp = ctx.ports.dataplane;
  const encap = sa.natLocal || sa.natRemote;
  const { sas, policies } = relocated(sa, child, encap);
  const oldOut = child.installedSas.find((id) => id.spi === child.spiOut);
  const oldIn = child.installedSas.find((id) => id.spi === child.spiIn);
  const fromLocal = oldOut?.src ?? oldIn?.dst;
  const fromRemote = oldOut?.dst ?? oldIn?.src;
  if (fromLocal === undefined || fromRemote === undefined) return; // nothing installed (yet)
  const addressesMoved = fromLocal !== sa.local.address || fromRemote !== sa.remote.address;
  const oldOutEncap = child.saSpecs?.find((s) => s.id.spi === child.spiOut)?.encap;
  const encapSame = child.encap === encap && (!encap || sameEncap(oldOutEncap, { sport: sa.local.port, dport: sa.remote.port }));
  if (!addressesMoved && encapSame) return;
  // The ids of the installed SAs at the new end points (what migrate() leaves in the dataplane).
  const movedIds = child.installedSas.map((id) => (id.spi === child.spiIn ? { ...id, src: sa.remote.address, dst: sa.local.address } : { ...id, src: sa.local.address, dst: sa.remote.address }));
  const label = `CHILD_SA ${child.name}{${child.reqid}} ${spiHex(child.spiIn)}_i ${spiHex(child.spiOut)}_o`;
  try {
    if (dp.migrate && encapSame) {
      await dp.migrate({ reqid: child.reqid, from: { local: fromLocal, remote: fromRemote }, to: { local: sa.local.address, remote: sa.remote.address } });
      sa.log.info(`${label} migrated to ${sa.local.address} === ${sa.remote.address}`);
    } else {
      if (sas.length !== child.installedSas.length) throw new Error('its SA parameters were not kept, so it cannot be re-installed');
      // Delete first: the new inbound SA has the same (SPI, destination) as the old one when our address stays.
      for (const p of child.installedPolicies) await dp.deletePolicy(p).catch((err: unknown) => sa.log.warn({ err }, `${label}: removing old policy failed`));
      for (const id of child.installedSas) await dp.deleteSa(id).catch((err: unknown) => sa.log.warn({ err }, `${label}: removing old SA failed`));
      child.installedSas = [];
      child.installedPolicies = [];
      // Inbound first, as at creation, so the peer's packets to the new address are accepted at once.
      for (const s of [...sas.filter((x) => x.direction === 'in'), ...sas.filter((x) => x.direction !== 'in')]) {
        await dp.installSa(s);
        child.installedSas.push(s.id);
      }
      for (const p of policies) {
        await dp.installPolicy(p);
        child.installedPolicies.push(p);
      }
      sa.log.info(`${label} re-installed for ${formatEndpoint(sa.local)} === ${formatEndpoint(sa.remote)}${encap ? ' (UDP-encapsulated)' : ''}`);
    }
  } catch (err) {
    sa.log.error({ err: err instanceof Error ? err.message : String(err) }, `${label}: moving to the new addresses failed, removing it`);
    await removeChild(ctx, sa, child, 'address update failed');
    return;
  }
  child.installedSas = movedIds;
  child.installedPolicies = policies;
  child.saSpecs = child.saSpecs?.map((old) => sas.find((s) => s.id.spi === old.id.spi && s.direction === old.direction) ?? old);
  child.encap = encap;
}

function sameEncap(a: { sport: number; dport: number } | undefined, b: { sport: number; dport: number } | undefined): boolean {
  return a?.sport === b?.sport && a?.dport === b?.dport;
}
