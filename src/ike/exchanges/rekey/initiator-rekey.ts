// Exchanges the gateway starts itself (RFC 7296 §1.3.3, §1.4.1, §2.8), through the engine's
// startRequest() with its retransmissions:
//   CHILD_SA rekey  HDR, SK { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }  -->  <--  HDR, SK { SA, Nr, [KEr], TSi, TSr }
//                   then  HDR, SK { D(ESP, old SPI) }  -->  <--  HDR, SK { D(ESP, peer's old SPI) }
//   CHILD_SA delete HDR, SK { D(ESP, SPI) }  -->  <--  HDR, SK { D }
//   IKE_SA delete   HDR, SK { D(IKE) }  -->  <--  HDR, SK { }
// A CHILD_SA rekey carries a KE payload only with PFS: when the CHILD_SA was negotiated with a
// group, or the configuration insists on one. Windows 11 breaks on a KE it did not expect
// (field facts §2.1.7, strongswan#2831). A collision with the peer's rekey of the same CHILD_SA
// is settled by the nonces (§2.8.1, collisions.ts).
import { keGroupFor } from '../../../crypto/catalogue.js';
import type { KeyExchange } from '../../../crypto/suite.js';
import type { ProposalSpec } from '../../../policy/policy.js';
import { ExchangeType, KeId, NotifyType, ProtocolId, isErrorNotify } from '../../constants.js';
import type { Payload, PayloadOf } from '../../codec/payload.js';
import type { RequestResult } from '../../engine.js';
import { transition, type ChildSa, type IkeSa } from '../../sa/ike-sa.js';
import { firstOf, type EngineContext } from '../context.js';
import { installChild } from '../steps/child-sa.js';
import { proposalOf, selectProposal } from '../steps/proposals.js';
import { teardownIkeSa } from '../steps/teardown.js';
import { beginOwnChildRekey, endOwnChildRekey, ownChildRekey, weLoseCollision } from './collisions.js';
import { policyHolder, retireChild } from './child-rekey.js';
import { cancelChildTimers } from './lifetimes.js';
import { spiFromBytes, spiToBytes, spiHex } from '../../sa/spi.js';

const RETRY_MIN_MS = 2_000;
const RETRY_SPREAD_MS = 8_000;

/** The PFS group of a rekey: the one negotiated before, else the configuration's if it requires PFS. */
export function pfsGroupFor(child: ChildSa): number | undefined {
  if (child.keGroup !== undefined) return child.keGroup;
  for (const spec of child.config.espProposals) {
    if (spec.protocol !== 'esp') continue;
    const real = spec.ke.filter((g) => g !== KeId.NONE);
    if (real.length > 0 && !spec.ke.includes(KeId.NONE)) return real[0];
  }
  return undefined;
}

/** Our ESP proposals for a rekey: without KE transforms when no KE payload is sent, else `group` first. */
function espProposalsFor(specs: readonly ProposalSpec[], group: number | undefined): ProposalSpec[] {
  return specs
    .filter((s) => s.protocol === 'esp')
    .flatMap((s) => {
      if (group === undefined) {
        // No KE payload: only proposals that can do without a key exchange, KE transforms dropped.
        const real = s.ke.filter((g) => g !== KeId.NONE);
        return real.length > 0 && !s.ke.includes(KeId.NONE) ? [] : [{ ...s, ke: [] }];
      }
      return s.ke.includes(group) ? [{ ...s, ke: [group, ...s.ke.filter((g) => g !== group)] }] : [];
    });
}

function retryLater(ctx: EngineContext, sa: IkeSa, child: ChildSa, why: string): void {
  const r = ctx.ports.rng.bytes(2);
  const wait = RETRY_MIN_MS + (((r[0]! << 8) | r[1]!) / 0xffff) * RETRY_SPREAD_MS;
  const key = `child-rekey:${spiHex(child.spiIn)}`;
  sa.timers.get(key)?.();
  sa.timers.set(key, ctx.ports.clock.setTimer(wait, () => void ctx.engine.onSa(sa, () => startChildRekey(ctx, sa, child, why))));
}

/** Starts our rekey of `child` (soft lifetime). No-op unless the CHILD_SA is installed and idle. */
export async function startChildRekey(ctx: EngineContext, sa: IkeSa, child: ChildSa, why: string, group = pfsGroupFor(child), tries = 0): Promise<void> {
  if (sa.phase !== 'established' || !sa.children.includes(child) || (child.state ?? 'installed') !== 'installed') return;
  if (sa.ikeRekey) return retryLater(ctx, sa, child, why); // §2.25.2: not while our IKE_SA rekey runs
  const specs = espProposalsFor(child.config.espProposals, group);
  if (specs.length === 0) {
    sa.log.warn(`CHILD_SA ${child.name}{${child.reqid}}: no ESP proposal fits a rekey${group === undefined ? ' without PFS' : ` with group ${group}`}`);
    return;
  }
  const spiIn = await ctx.ports.dataplane.allocateSpi(sa.local.address);
  const ni = ctx.ports.rng.bytes(32);
  const kex = group !== undefined ? keGroupFor(group).create() : undefined;
  child.state = 'rekeying';
  beginOwnChildRekey({ old: child, ni });
  const sel = child.selectors!;
  const inner: Payload[] = [
    // REKEY_SA names our inbound SPI of the SA being replaced (§1.3.3).
    { kind: 'notify', critical: false, protocol: ProtocolId.ESP, spi: spiToBytes(child.spiIn), notify: NotifyType.REKEY_SA, data: new Uint8Array(0) },
    ...(child.config.mode === 'transport' ? [{ kind: 'notify', critical: false, protocol: 0, spi: new Uint8Array(0), notify: NotifyType.USE_TRANSPORT_MODE, data: new Uint8Array(0) } as const] : []),
    { kind: 'sa', critical: false, proposals: specs.map((s, i) => proposalOf(s, i + 1, spiToBytes(spiIn))) },
    { kind: 'nonce', critical: false, nonce: ni },
    ...(kex ? [{ kind: 'ke', critical: false, group: kex.group, data: kex.publicValue } as const] : []),
    { kind: 'tsi', critical: false, selectors: sel.local },
    { kind: 'tsr', critical: false, selectors: sel.remote },
  ];
  sa.log.info(`rekeying CHILD_SA ${child.name}{${child.reqid}} with SPIs ${spiHex(child.spiIn)}_i ${spiHex(child.spiOut)}_o: ${why}${kex ? ` (PFS group ${kex.group})` : ''}`);
  ctx.engine.startRequest(sa, ExchangeType.CREATE_CHILD_SA, inner, (r) => onChildRekeyResponse(ctx, sa, child, { spiIn, ni, kex, specs, why, tries }, r));
}

interface Attempt {
  spiIn: number;
  ni: Uint8Array;
  kex: KeyExchange | undefined;
  specs: ProposalSpec[];
  why: string;
  tries: number;
}

async function onChildRekeyResponse(ctx: EngineContext, sa: IkeSa, old: ChildSa, a: Attempt, r: RequestResult): Promise<void> {
  const own = ownChildRekey(old);
  endOwnChildRekey(old);
  const unused = { src: sa.remote.address, dst: sa.local.address, spi: a.spiIn, proto: 'esp' as const };
  const revert = async () => {
    if (old.state === 'rekeying') old.state = 'installed';
    await ctx.ports.dataplane.deleteSa(unused).catch(() => undefined);
  };
  try {
    if (r.kind === 'timeout') {
      await teardownIkeSa(ctx, sa, 'no answer to our CHILD_SA rekey');
      return;
    }
    if (r.kind === 'failed') {
      sa.log.warn(`CHILD_SA rekey response unusable: ${r.reason}`);
      return revert();
    }
    const error = r.inner.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && isErrorNotify(p.notify));
    if (error) {
      await revert();
      switch (error.notify) {
        case NotifyType.INVALID_KE_PAYLOAD: {
          const g = ((error.data[0] ?? 0) << 8) | (error.data[1] ?? 0);
          if (a.tries < 2 && old.config.espProposals.some((s) => s.ke.includes(g))) return startChildRekey(ctx, sa, old, a.why, g, a.tries + 1);
          break;
        }
        case NotifyType.TEMPORARY_FAILURE:
          // §2.25: the peer is busy with this SA (its own rekey or delete); its action may make ours moot.
          sa.log.info(`CHILD_SA ${old.name}{${old.reqid}} rekey refused with TEMPORARY_FAILURE`);
          return retryLater(ctx, sa, old, a.why);
        case NotifyType.CHILD_SA_NOT_FOUND:
          // §2.25.1: the peer has no such CHILD_SA any more (it deleted it meanwhile).
          sa.log.info(`peer does not know CHILD_SA ${old.name}{${old.reqid}} any more`);
          if (sa.children.includes(old) && old.state === 'installed') await retireChild(ctx, sa, old, 'unknown to the peer');
          return;
      }
      sa.log.warn(`CHILD_SA ${old.name}{${old.reqid}} rekey failed with notify ${error.notify}; it is deleted at its hard lifetime`);
      return;
    }
    const saPayload = firstOf(r.inner, 'sa');
    const nonce = firstOf(r.inner, 'nonce');
    const ke = firstOf(r.inner, 'ke');
    const tsi = firstOf(r.inner, 'tsi');
    const tsr = firstOf(r.inner, 'tsr');
    const chosen = saPayload?.proposals[0];
    const sel = chosen ? selectProposal([chosen], a.specs, { protocol: 'esp', preferServerOrder: false, ...(a.kex ? { requiredKe: a.kex.group } : {}) }) : undefined;
    if (!saPayload || saPayload.proposals.length !== 1 || !chosen || chosen.spi.length !== 4 || !nonce || !tsi || !tsr || !sel?.ok || (a.kex && ke?.group !== a.kex.group)) {
      sa.log.warn(`CHILD_SA ${old.name}{${old.reqid}} rekey response unusable (SA, Nr, KE or TS missing or not what we offered)`);
      return revert();
    }
    const gir = a.kex && ke ? a.kex.deriveShared(ke.data) : undefined;
    const nr = nonce.nonce;
    const collision = own?.collision;
    if (collision && weLoseCollision({ ni: a.ni, nr }, collision)) {
      // §2.8.1: our replacement holds the lowest nonce: redundant, deleted by us (its initiator);
      // the peer's replacement stays and the peer deletes the old SA. Ours is never installed.
      sa.log.info(`CHILD_SA ${old.name}{${old.reqid}} rekey collision lost: deleting our redundant SPI ${spiHex(a.spiIn)}_i`);
      await ctx.ports.dataplane.deleteSa(unused).catch(() => undefined);
      ctx.engine.startRequest(sa, ExchangeType.INFORMATIONAL, [deleteEsp(a.spiIn)], (d) => (d.kind === 'timeout' ? teardownIkeSa(ctx, sa, 'no answer to our Delete') : undefined));
      return;
    }
    const child = await installChild(ctx, sa, {
      config: old.config,
      reqid: old.reqid,
      spiIn: a.spiIn,
      spiOut: spiFromBytes(chosen.spi),
      chosen: sel.chosen,
      suite: sel.suite,
      ni: a.ni,
      nr,
      ...(gir ? { gir } : {}),
      weInitiated: true,
      local: tsi.selectors,
      remote: tsr.selectors,
      rekey: { old, policyHolder: policyHolder(sa, old) },
    });
    gir?.fill(0);
    if (collision && sa.children.includes(collision.child)) {
      // We won: the peer deletes its redundant replacement; ours takes over when it goes.
      sa.log.info(`CHILD_SA ${old.name}{${old.reqid}} rekey collision won: the peer deletes its redundant SPI ${spiHex(collision.child.spiIn)}_i`);
      collision.child.state = 'rekeyed';
      collision.child.replacedBy = child;
    }
    old.replacedBy = child;
    if (!sa.children.includes(old)) return;
    await deleteOld(ctx, sa, old, 'rekeyed');
  } finally {
    a.kex?.wipe();
  }
}

function deleteEsp(spi: number): PayloadOf<'delete'> {
  return { kind: 'delete', critical: false, protocol: ProtocolId.ESP, spiSize: 4, spis: [spiToBytes(spi)] };
}

async function deleteOld(ctx: EngineContext, sa: IkeSa, child: ChildSa, reason: string): Promise<void> {
  child.state = 'deleting';
  cancelChildTimers(sa, child);
  ctx.engine.startRequest(sa, ExchangeType.INFORMATIONAL, [deleteEsp(child.spiIn)], async (r) => {
    if (r.kind === 'timeout') return teardownIkeSa(ctx, sa, 'no answer to our Delete');
    await retireChild(ctx, sa, child, reason);
  });
}

/** Deletes a CHILD_SA (hard lifetime): INFORMATIONAL Delete, removed when the peer answers. */
export async function startChildDelete(ctx: EngineContext, sa: IkeSa, child: ChildSa, reason: string): Promise<void> {
  if (!sa.children.includes(child) || child.state === 'deleting') return;
  sa.log.info(`deleting CHILD_SA ${child.name}{${child.reqid}} with SPIs ${spiHex(child.spiIn)}_i ${spiHex(child.spiOut)}_o: ${reason}`);
  await deleteOld(ctx, sa, child, reason);
}

/** Deletes the IKE_SA with everything on it (reauth_time, a rekeyed or redundant IKE_SA). */
export async function startIkeDelete(ctx: EngineContext, sa: IkeSa, reason: string): Promise<void> {
  if (sa.phase !== 'established' && sa.phase !== 'rekeyed') return;
  transition(sa, 'deleting', reason);
  ctx.engine.startRequest(sa, ExchangeType.INFORMATIONAL, [{ kind: 'delete', critical: false, protocol: ProtocolId.IKE, spiSize: 0, spis: [] }], () => teardownIkeSa(ctx, sa, reason));
}
