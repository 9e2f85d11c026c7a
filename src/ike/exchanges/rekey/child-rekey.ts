// CHILD_SAs over CREATE_CHILD_SA as responder (RFC 7296 §1.3.1 new, §1.3.3 rekey, §2.8, §2.17):
//   HDR, SK { SA, Ni, [KEi], TSi, TSr }                 -->  <--  HDR, SK { SA, Nr, [KEr], TSi, TSr }
//   HDR, SK { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }    -->  <--  HDR, SK { SA, Nr, [KEr], TSi, TSr }
// A rekey keeps the replaced SA's config and reqid, narrows the selectors again and installs the
// new inbound SA at once, the new outbound only when the peer deletes the old pair (it cannot
// decrypt with the new SA before it has our response). The old inbound SA keeps accepting
// traffic until then. KEr is sent only when the selected proposal has a key exchange (PFS):
// Windows 11 fails on a KE payload without negotiated PFS (field facts §2.1.7).
import { keGroupFor } from '../../../crypto/catalogue.js';
import { NotifyType, ProtocolId } from '../../constants.js';
import type { Payload, PayloadOf } from '../../codec/payload.js';
import { IkeError } from '../../errors.js';
import type { ChildSa, IkeSa } from '../../sa/ike-sa.js';
import { firstOf, type EngineContext, type Inbound } from '../context.js';
import { createChild, type ChildRequest } from '../steps/child-sa.js';
import { removeChild } from '../steps/teardown.js';
import { ownChildRekey } from './collisions.js';
import { cancelChildTimers } from './lifetimes.js';
import { spiFromBytes, spiHex } from '../../sa/spi.js';
import { keGroupData } from '../../codec/payloads/notify.js';

/** The CHILD_SA of `reqid` that currently owns the policies (the newest replacement that took them). */
export function policyHolder(sa: IkeSa, old: ChildSa): ChildSa {
  return sa.children.find((c) => c.reqid === old.reqid && c.installedPolicies.length > 0) ?? old;
}

/**
 * Answers a CREATE_CHILD_SA request for a new or rekeyed CHILD_SA. Throws IkeError for the
 * CHILD_SA-level errors (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE, INVALID_KE_PAYLOAD …), which the
 * engine notifies while keeping the IKE_SA (§1.3).
 */
export async function respondChild(ctx: EngineContext, sa: IkeSa, m: Inbound, rekeyNotify: PayloadOf<'notify'> | undefined): Promise<void> {
  const conn = sa.conn!;
  const saPayload = firstOf(m.inner, 'sa')!;
  const ni = firstOf(m.inner, 'nonce')!.nonce;
  const tsi = firstOf(m.inner, 'tsi');
  const tsr = firstOf(m.inner, 'tsr');
  if (!tsi || !tsr) throw new IkeError(NotifyType.INVALID_SYNTAX, 'CREATE_CHILD_SA request for a CHILD_SA without TSi/TSr');
  const ke = firstOf(m.inner, 'ke');

  let old: ChildSa | undefined;
  if (rekeyNotify) {
    const spi = rekeyNotify.protocol === ProtocolId.ESP && rekeyNotify.spi.length === 4 ? spiFromBytes(rekeyNotify.spi) : undefined;
    // REKEY_SA names the peer's inbound SPI, which is our outbound one (§1.3.3).
    old = spi === undefined ? undefined : sa.children.find((c) => c.spiOut === spi);
    if (!old) {
      // §2.25.1: rekeying a CHILD_SA that does not exist (any more) is answered with
      // CHILD_SA_NOT_FOUND, carrying the protocol and SPI of the REKEY_SA notify.
      sa.log.info(`peer rekeys unknown CHILD_SA with SPI ${spi === undefined ? '?' : spiHex(spi)}: CHILD_SA_NOT_FOUND`);
      ctx.engine.respond(sa, m.datagram, m.header, [{ kind: 'notify', critical: false, protocol: rekeyNotify.protocol, spi: rekeyNotify.spi, notify: NotifyType.CHILD_SA_NOT_FOUND, data: new Uint8Array(0) }], m.digest);
      return;
    }
    if (old.state === 'deleting' || old.state === 'rekeyed') {
      // §2.25.1: we are closing it (our Delete, or it was replaced and waits for its Delete).
      throw new IkeError(NotifyType.TEMPORARY_FAILURE, `CHILD_SA ${old.name}{${old.reqid}} with SPI ${spiHex(old.spiIn)}_i is ${old.state === 'deleting' ? 'being deleted' : 'already rekeyed'}`);
    }
  }

  const nr = ctx.ports.rng.bytes(32);
  let kePayload: Payload | undefined;
  const keyExchange: ChildRequest['keyExchange'] = (group) => {
    // No key exchange in the selected proposal: no KEr, and a KEi sent along is not used.
    if (group === undefined) return undefined;
    if (!ke || ke.group !== group) {
      throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `${ke ? `KE payload group ${ke.group}` : 'no KE payload'} for a proposal with KE method ${group}`, keGroupData(group));
    }
    const kex = keGroupFor(group).create();
    try {
      const gir = kex.deriveShared(ke.data);
      kePayload = { kind: 'ke', critical: false, group, data: kex.publicValue };
      return gir;
    } finally {
      kex.wipe();
    }
  };
  const { child, payloads } = await createChild(ctx, sa, conn, {
    sa: saPayload,
    tsi: tsi.selectors,
    tsr: tsr.selectors,
    ni,
    nr,
    ignoreKe: false,
    ...(ke ? { requiredKe: ke.group } : {}),
    ...(old ? { rekey: { old, policyHolder: policyHolder(sa, old) } } : {}),
    keyExchange,
  });
  if (old) {
    const own = ownChildRekey(old);
    if (own) {
      // §2.8.1: we are rekeying the same CHILD_SA; our response decides which replacement stays.
      own.collision = { child, ni, nr };
      sa.log.info(`CHILD_SA ${old.name}{${old.reqid}} rekey collision: the peer rekeyed it while our rekey is in flight`);
    }
    old.state = 'rekeyed';
    old.replacedBy = child;
  }
  // SA, Nr, [KEr], TSi, TSr (§1.3).
  const [sar, ...ts] = payloads;
  ctx.engine.respond(sa, m.datagram, m.header, [sar!, { kind: 'nonce', critical: false, nonce: nr }, ...(kePayload ? [kePayload] : []), ...ts], m.digest);
}

/**
 * Removes a CHILD_SA that was replaced by a rekey (RFC 7296 §2.8): its SAs go, its policies and
 * routes pass to the surviving replacement, whose held-back outbound SA is installed now. No down
 * event: for updown scripts the tunnel never went away.
 */
export async function retireChild(ctx: EngineContext, sa: IkeSa, child: ChildSa, reason: string): Promise<void> {
  if (!sa.children.includes(child)) return;
  let heir = child.replacedBy;
  while (heir && !sa.children.includes(heir)) heir = heir.replacedBy;
  // A replacement deleted before it took over (the loser of a rekey collision, §2.8.1) gives
  // the policies back to the CHILD_SA of the same reqid that is still there.
  heir ??= sa.children.find((c) => c !== child && c.reqid === child.reqid);
  if (!heir) {
    await removeChild(ctx, sa, child, reason);
    cancelChildTimers(sa, child);
    return;
  }
  const dp = ctx.ports.dataplane;
  heir.installedPolicies.push(...child.installedPolicies);
  heir.routes.push(...child.routes);
  child.installedPolicies = [];
  child.routes = [];
  await installDeferredOutbound(ctx, sa, heir);
  for (const id of child.installedSas) {
    await dp.deleteSa(id).catch((err: unknown) => sa.log.warn({ err }, `removing SA ${spiHex(id.spi)} failed`));
  }
  child.installedSas = [];
  sa.children = sa.children.filter((c) => c !== child);
  cancelChildTimers(sa, child);
  sa.log.info(
    { child: child.name, reqid: child.reqid, spiIn: spiHex(child.spiIn), spiOut: spiHex(child.spiOut), successor: spiHex(heir.spiIn), reason },
    `CHILD_SA ${child.name}{${child.reqid}} with SPIs ${spiHex(child.spiIn)}_i ${spiHex(child.spiOut)}_o removed after rekeying (successor ${spiHex(heir.spiIn)}_i): ${reason}`,
  );
}

/** Installs an outbound SA that was held back while the peer switched to the new CHILD_SA. */
export async function installDeferredOutbound(ctx: EngineContext, sa: IkeSa, child: ChildSa): Promise<void> {
  const out = child.deferredOutbound;
  if (!out) return;
  delete child.deferredOutbound;
  await ctx.ports.dataplane.installSa(out);
  child.installedSas.push(out.id);
  sa.log.debug(`CHILD_SA ${child.name}{${child.reqid}}: outbound SA ${spiHex(out.id.spi)} installed`);
}
