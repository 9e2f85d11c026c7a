// Creating a CHILD_SA as responder (RFC 7296 §1.3, §2.9, §2.17): pick the child config whose
// traffic selectors fit, select an ESP proposal, allocate our inbound SPI, derive KEYMAT and
// hand both SAs and the policies to the dataplane. Failures here are CHILD_SA-level errors
// (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE): they are notified, and the IKE_SA survives (§1.2).
// CREATE_CHILD_SA (§1.3) adds PFS key exchange and rekeying (§2.8): same reqid, re-narrowed
// selectors, policies taken over from the replaced CHILD_SA.
import { espTransformSet } from '../../../crypto/catalogue.js';
import { formatEndpoint } from '../../../net/endpoint.js';
import { parseIp } from '../../../net/address.js';
import type { ChildConfig, Connection } from '../../../policy/policy.js';
import { narrowTrafficSelectors, tsFamily, tsToString } from '../../../policy/traffic-selectors.js';
import type { PolicySpec, SaSpec } from '../../../xfrm/dataplane.js';
import { KeId, NotifyType, TransformType } from '../../constants.js';
import type { Payload, Proposal, TrafficSelector } from '../../codec/payload.js';
import { IkeError } from '../../errors.js';
import { childKeymat } from '../../sa/keymat.js';
import type { ChildSa, IkeSa } from '../../sa/ike-sa.js';
import type { EngineContext } from '../context.js';
import { describeProposal, selectProposal, type NegotiatedSuite, type SelectResult } from './proposals.js';
import { scheduleChildLifetimes } from '../rekey/lifetimes.js';

import { emitChildEvent } from './child-events.js';
import { installVipRoutes } from './vip-routes.js';
import { spiFromBytes, spiToBytes, spiHex } from '../../sa/spi.js';

export interface ChildRequest {
  sa: Extract<Payload, { kind: 'sa' }>;
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  /** KE material for PFS (CREATE_CHILD_SA); absent in IKE_AUTH. */
  gir?: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
  /** Whether KE transforms are to be ignored (IKE_AUTH: RFC 7296 §1.2, no KE payload there). */
  ignoreKe: boolean;
  /** CREATE_CHILD_SA: the group of the KE payload sent along (only proposals with it qualify). */
  requiredKe?: number;
  /** Rekeying (RFC 7296 §2.8): the CHILD_SA being replaced. */
  rekey?: RekeyOf;
  /**
   * Called with the selected proposal's KE method before anything is installed; returns g^ir
   * (PFS, RFC 7296 §2.17) or throws (e.g. INVALID_KE_PAYLOAD when the KE payload is missing).
   */
  keyExchange?: (keGroup: number | undefined) => Uint8Array | undefined;
}

/** What a rekey inherits from the CHILD_SA it replaces. */
export interface RekeyOf {
  old: ChildSa;
  /** The CHILD_SA currently holding the policies and routes of this reqid (usually `old`). */
  policyHolder: ChildSa;
}

/** Everything needed to install one CHILD_SA pair, as either side of the exchange that made it. */
export interface ChildInstall {
  config: ChildConfig;
  reqid: number;
  spiIn: number;
  spiOut: number;
  /** The chosen proposal (SPI irrelevant) and its suite. */
  chosen: Proposal;
  suite: NegotiatedSuite;
  /** Nonces and g^ir of the exchange, and whether we were its initiator (KEYMAT direction, §2.17). */
  ni: Uint8Array;
  nr: Uint8Array;
  gir?: Uint8Array;
  weInitiated: boolean;
  /** Our side's and the peer's selectors. */
  local: TrafficSelector[];
  remote: TrafficSelector[];
  rekey?: RekeyOf;
  /** Keep our new outbound SA back until the peer switched (responder of a rekey). */
  deferOutbound?: boolean;
}

export interface ChildResult {
  child: ChildSa;
  /** SA, TSi, TSr payloads for the response. */
  payloads: Payload[];
}

let nextReqid = 1;

/** Finds the first child config whose selectors accept the request, narrowed to the peer's virtual IPs. */
function matchChild(conn: Connection, sa: IkeSa, req: ChildRequest): { config: ChildConfig; tsi: TrafficSelector[]; tsr: TrafficSelector[] } {
  const reasons: string[] = [];
  const remoteDynamic = sa.vips.length > 0 ? sa.vips.map((v) => parseIp(v)!) : [parseIp(sa.remote.address)!];
  const localDynamic = [parseIp(sa.local.address)!];
  for (const config of conn.children) {
    const r = narrowTrafficSelectors({ tsi: req.tsi, tsr: req.tsr, localTs: config.localTs, remoteTs: config.remoteTs, localDynamic, remoteDynamic });
    if (r.ok) return { config, tsi: r.tsi, tsr: r.tsr };
    reasons.push(`${config.name}: ${r.reason}`);
  }
  throw new IkeError(NotifyType.TS_UNACCEPTABLE, `traffic selectors ${req.tsi.map(tsToString).join(',')} === ${req.tsr.map(tsToString).join(',')} unacceptable (${reasons.join('; ') || 'no children configured'})`);
}

export async function createChild(ctx: EngineContext, sa: IkeSa, conn: Connection, req: ChildRequest): Promise<ChildResult> {
  // A rekey keeps the replaced CHILD_SA's config, and its selectors are narrowed again: Windows 10
  // proposes the original 0.0.0.0/0 supernet on rekey (field facts §2.1.7).
  const { config, tsi, tsr } = matchChild(req.rekey ? { ...conn, children: [req.rekey.old.config] } : conn, sa, req);
  const selected = selectChildProposal(req, config, conn.preferServerOrder);
  if (!selected.ok) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, `CHILD_SA ${config.name}: ${selected.reason}`);
  const { chosen, suite } = selected;
  const gir = req.keyExchange ? req.keyExchange(suite.ke) : req.gir;
  // selectProposal() answers with an empty SPI: the peer's SPI (our outbound) is in the offered proposal.
  const offered = req.sa.proposals.find((p) => p.num === chosen.num && p.protocol === chosen.protocol);
  const spiOut = spiFromBytes(offered?.spi ?? chosen.spi);
  const spiIn = await ctx.ports.dataplane.allocateSpi(sa.local.address);
  const child = await installChild(ctx, sa, {
    config,
    reqid: req.rekey?.old.reqid ?? nextReqid++,
    spiIn,
    spiOut,
    chosen,
    suite,
    ni: req.ni,
    nr: req.nr,
    ...(gir ? { gir } : {}),
    weInitiated: false,
    local: tsr,
    remote: tsi,
    ...(req.rekey ? { rekey: req.rekey, deferOutbound: true } : {}),
  });
  const answer: Proposal = { ...chosen, spi: spiToBytes(spiIn) };
  return {
    child,
    payloads: [
      { kind: 'sa', critical: false, proposals: [answer] },
      { kind: 'tsi', critical: false, selectors: tsi },
      { kind: 'tsr', critical: false, selectors: tsr },
    ],
  };
}

/**
 * ESP proposal selection for IKE_AUTH (KE ignored) and CREATE_CHILD_SA (RFC 7296 §1.3): with a KE
 * payload, a proposal with its group (PFS) is preferred; otherwise one without key exchange.
 */
function selectChildProposal(req: ChildRequest, config: ChildConfig, preferServerOrder: boolean): SelectResult {
  const base = { protocol: 'esp' as const, preferServerOrder };
  if (req.ignoreKe) return selectProposal(req.sa.proposals, config.espProposals, { ...base, ignoreKe: true });
  if (req.requiredKe !== undefined) {
    const pfs = selectProposal(req.sa.proposals, config.espProposals, { ...base, requiredKe: req.requiredKe });
    if (pfs.ok) return pfs;
  }
  // Without PFS: only proposals that allow no key exchange (no KE transform, or KE NONE).
  const noKe = req.sa.proposals.flatMap((p) => {
    const kes = p.transforms.filter((t) => t.type === TransformType.KE);
    if (kes.length === 0) return [p];
    if (!kes.some((t) => t.id === KeId.NONE)) return [];
    return [{ ...p, transforms: p.transforms.filter((t) => t.type !== TransformType.KE || t.id === KeId.NONE) }];
  });
  const plain = selectProposal(noKe, config.espProposals, base);
  if (plain.ok && plain.suite.ke === undefined) return plain;
  // Only proposals with a key exchange remain: the caller's keyExchange() turns a missing or
  // mismatching KE payload into INVALID_KE_PAYLOAD with the group selected here.
  return selectProposal(req.sa.proposals, config.espProposals, base);
}

/**
 * Derives KEYMAT and installs a CHILD_SA pair with its policies (RFC 7296 §2.17). A rekey reuses
 * the replaced SA's reqid and takes over its policies and routes where the selectors match, so
 * traffic never meets a gap; its up event is not emitted (nothing changed for updown scripts).
 */
export async function installChild(ctx: EngineContext, sa: IkeSa, p: ChildInstall): Promise<ChildSa> {
  const { config, reqid, spiIn, spiOut, chosen, suite } = p;
  const set = espTransformSet(suite.encr, suite.integ, suite.esn ?? false);
  const keymat = childKeymat(sa.prf, sa.keys.skD, p.ni, p.nr, p.gir, {
    encKeyLength: set.encr.keyLength,
    integKeyLength: set.integ?.keyLength ?? 0,
  });
  const dp = ctx.ports.dataplane;
  const tsr = p.local;
  const tsi = p.remote;
  const encap = sa.natLocal || sa.natRemote;
  // KEYMAT's first half protects initiator-to-responder traffic of the exchange that made the SA.
  const inKeys = p.weInitiated ? keymat.responderToInitiator : keymat.initiatorToResponder;
  const outKeys = p.weInitiated ? keymat.initiatorToResponder : keymat.responderToInitiator;
  const lifetime = {
    ...(config.rekeyTime > 0 ? { softSeconds: config.rekeyTime } : {}),
    ...(config.lifeTime > 0 ? { hardSeconds: config.lifeTime } : {}),
    ...(config.rekeyBytes > 0 ? { softBytes: config.rekeyBytes } : {}),
    ...(config.lifeBytes > 0 ? { hardBytes: config.lifeBytes } : {}),
  };
  const split = (k: { enc: Uint8Array; integ: Uint8Array }) => ({
    enc: { alg: set.encr.kernel, key: k.enc },
    ...(set.integ ? { integ: { alg: set.integ.kernel, key: k.integ } } : {}),
  });
  const inbound: SaSpec = {
    id: { src: sa.remote.address, dst: sa.local.address, spi: spiIn, proto: 'esp' },
    reqid,
    mode: config.mode,
    direction: 'in',
    ...split(inKeys),
    ...(encap ? { encap: { sport: sa.remote.port, dport: sa.local.port } } : {}),
    replayWindow: config.replayWindow,
    esn: set.esn,
    lifetime,
  };
  const outbound: SaSpec = {
    id: { src: sa.local.address, dst: sa.remote.address, spi: spiOut, proto: 'esp' },
    reqid,
    mode: config.mode,
    direction: 'out',
    ...split(outKeys),
    ...(encap ? { encap: { sport: sa.local.port, dport: sa.remote.port } } : {}),
    replayWindow: config.replayWindow,
    esn: set.esn,
    lifetime,
  };
  const child: ChildSa = {
    name: config.name,
    config,
    reqid,
    spiIn,
    spiOut,
    proposal: describeProposal(chosen),
    localTs: tsr.map(tsToString),
    remoteTs: tsi.map(tsToString),
    encap,
    installedSas: [],
    installedPolicies: [],
    // Kept for address changes on dataplanes without migrate() (MOBIKE, NAT mapping changes).
    saSpecs: [inbound, outbound],
    routes: [],
    createdAt: ctx.ports.clock.now(),
    state: 'installed',
    ...(suite.ke !== undefined ? { keGroup: suite.ke } : {}),
    selectors: { local: tsr, remote: tsi },
  };
  const holder = p.rekey?.policyHolder;
  const inherited: PolicySpec[] = [];
  // Inbound first, so the peer's first packets after our response are already accepted.
  try {
    await dp.installSa(inbound);
    child.installedSas.push(inbound.id);
    if (p.deferOutbound) {
      child.deferredOutbound = outbound;
    } else {
      await dp.installSa(outbound);
      child.installedSas.push(outbound.id);
    }
    for (const local of tsr) {
      for (const remote of tsi) {
        if (tsFamily(local) !== tsFamily(remote)) continue;
        const selector = { local: tsToString(local), remote: tsToString(remote), protocol: Math.max(local.ipProtocol, remote.ipProtocol) };
        for (const direction of ['out', 'in', 'fwd'] as const) {
          const tunnel = direction === 'out' ? { src: sa.local.address, dst: sa.remote.address } : { src: sa.remote.address, dst: sa.local.address };
          const policy: PolicySpec = { selector, direction, reqid, mode: config.mode, tunnel, priority: 0 };
          const same = holder?.installedPolicies.find((q) => samePolicy(q, policy));
          if (same && holder) {
            holder.installedPolicies = holder.installedPolicies.filter((q) => q !== same);
            child.installedPolicies.push(same);
            inherited.push(same);
            continue;
          }
          await dp.installPolicy(policy);
          child.installedPolicies.push(policy);
        }
      }
    }
    if (holder) {
      child.routes = holder.routes;
      holder.routes = [];
    }
  } catch (err) {
    // A dataplane refusal must not leave half a CHILD_SA in the kernel: undo what was installed
    // and report the CHILD_SA as failed, as strongSwan does (NO_PROPOSAL_CHOSEN); the IKE_SA stays.
    // Policies taken over from the replaced SA go back to it.
    for (const q of child.installedPolicies) {
      if (inherited.includes(q)) holder?.installedPolicies.push(q);
      else await dp.deletePolicy(q).catch(() => undefined);
    }
    for (const id of child.installedSas) await dp.deleteSa(id).catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    sa.log.error({ err, child: config.name }, `installing CHILD_SA ${config.name}{${reqid}} failed: ${reason}`);
    throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, `CHILD_SA ${config.name}: dataplane refused it: ${reason}`);
  }
  // After the policies, so a routed virtual IP is never without its out policy.
  await installVipRoutes(ctx, sa, child);
  sa.children.push(child);
  if (!p.rekey) emitChildEvent(ctx, sa, child, 'up');
  scheduleChildLifetimes(ctx, sa, child);
  const verb = p.rekey ? `rekeyed (replacing SPIs ${spiHex(p.rekey.old.spiIn)}_i ${spiHex(p.rekey.old.spiOut)}_o)` : 'established';
  sa.log.info(
    { child: config.name, reqid, spiIn: spiHex(spiIn), spiOut: spiHex(spiOut), proposal: child.proposal, localTs: child.localTs, remoteTs: child.remoteTs, encap, ...(p.rekey ? { replaces: spiHex(p.rekey.old.spiIn) } : {}) },
    `CHILD_SA ${config.name}{${reqid}} ${verb} with SPIs ${spiHex(spiIn)}_i ${spiHex(spiOut)}_o and TS ${child.localTs.join(' ')} === ${child.remoteTs.join(' ')}${encap ? ` (UDP-encapsulated to ${formatEndpoint(sa.remote)})` : ''}`,
  );
  return child;
}

function samePolicy(a: PolicySpec, b: PolicySpec): boolean {
  return (
    a.direction === b.direction &&
    a.selector.local === b.selector.local &&
    a.selector.remote === b.selector.remote &&
    a.selector.protocol === b.selector.protocol &&
    a.tunnel.src === b.tunnel.src &&
    a.tunnel.dst === b.tunnel.dst &&
    a.mode === b.mode
  );
}

