// Creating a CHILD_SA as responder (RFC 7296 §1.3, §2.9, §2.17): pick the child config whose
// traffic selectors fit, select an ESP proposal, allocate our inbound SPI, derive KEYMAT and
// hand both SAs and the policies to the dataplane. Failures here are CHILD_SA-level errors
// (NO_PROPOSAL_CHOSEN, TS_UNACCEPTABLE): they are notified, and the IKE_SA survives (§1.2).
import { espTransformSet } from '../../../crypto/catalogue.js';
import { formatEndpoint } from '../../../net/endpoint.js';
import { parseIp } from '../../../net/address.js';
import type { ChildConfig, Connection } from '../../../policy/policy.js';
import { narrowTrafficSelectors, tsFamily, tsToString } from '../../../policy/traffic-selectors.js';
import type { PolicySpec, SaSpec } from '../../../xfrm/dataplane.js';
import { NotifyType } from '../../constants.js';
import type { Payload, Proposal, TrafficSelector } from '../../codec/payload.js';
import { IkeError } from '../../errors.js';
import { childKeymat } from '../../sa/keymat.js';
import type { ChildSa, IkeSa } from '../../sa/ike-sa.js';
import type { EngineContext } from '../context.js';
import { describeProposal, selectProposal } from './proposals.js';
import { hex8 } from './teardown.js';
import { emitChildEvent } from './child-events.js';

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
}

export interface ChildResult {
  child: ChildSa;
  /** SA, TSi, TSr payloads for the response. */
  payloads: Payload[];
}

let nextReqid = 1;

function spiNumber(spi: Uint8Array): number {
  if (spi.length !== 4) throw new IkeError(NotifyType.INVALID_SYNTAX, `ESP SPI of ${spi.length} bytes`);
  return ((spi[0]! << 24) | (spi[1]! << 16) | (spi[2]! << 8) | spi[3]!) >>> 0;
}

function spiBytes(spi: number): Uint8Array {
  return new Uint8Array([spi >>> 24, (spi >>> 16) & 0xff, (spi >>> 8) & 0xff, spi & 0xff]);
}

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
  const { config, tsi, tsr } = matchChild(conn, sa, req);
  const selected = selectProposal(req.sa.proposals, config.espProposals, {
    protocol: 'esp',
    preferServerOrder: conn.preferServerOrder,
    ignoreKe: req.ignoreKe,
  });
  if (!selected.ok) throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, `CHILD_SA ${config.name}: ${selected.reason}`);
  const { chosen, suite } = selected;
  // selectProposal() answers with an empty SPI: the peer's SPI (our outbound) is in the offered proposal.
  const offered = req.sa.proposals.find((p) => p.num === chosen.num && p.protocol === chosen.protocol);
  const spiOut = spiNumber(offered?.spi ?? chosen.spi);
  const set = espTransformSet(suite.encr, suite.integ, suite.esn ?? false);
  const keymat = childKeymat(sa.prf, sa.keys.skD, req.ni, req.nr, req.gir, {
    encKeyLength: set.encr.keyLength,
    integKeyLength: set.integ?.keyLength ?? 0,
  });
  const dp = ctx.ports.dataplane;
  const spiIn = await dp.allocateSpi(sa.local.address);
  const reqid = nextReqid++;
  const encap = sa.natLocal || sa.natRemote;
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
    ...split(keymat.initiatorToResponder),
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
    ...split(keymat.responderToInitiator),
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
    routes: [],
    createdAt: ctx.ports.clock.now(),
  };
  // Inbound first, so the peer's first packets after our response are already accepted.
  try {
    await dp.installSa(inbound);
    child.installedSas.push(inbound.id);
    await dp.installSa(outbound);
    child.installedSas.push(outbound.id);
    for (const local of tsr) {
      for (const remote of tsi) {
        if (tsFamily(local) !== tsFamily(remote)) continue;
        const selector = { local: tsToString(local), remote: tsToString(remote), protocol: Math.max(local.ipProtocol, remote.ipProtocol) };
        for (const direction of ['out', 'in', 'fwd'] as const) {
          const tunnel = direction === 'out' ? { src: sa.local.address, dst: sa.remote.address } : { src: sa.remote.address, dst: sa.local.address };
          const p: PolicySpec = { selector, direction, reqid, mode: config.mode, tunnel, priority: 0 };
          await dp.installPolicy(p);
          child.installedPolicies.push(p);
        }
      }
    }
  } catch (err) {
    // A dataplane refusal must not leave half a CHILD_SA in the kernel: undo what was installed
    // and report the CHILD_SA as failed, as strongSwan does (NO_PROPOSAL_CHOSEN); the IKE_SA stays.
    for (const p of child.installedPolicies) await dp.deletePolicy(p).catch(() => undefined);
    for (const id of child.installedSas) await dp.deleteSa(id).catch(() => undefined);
    const reason = err instanceof Error ? err.message : String(err);
    sa.log.error({ err, child: config.name }, `installing CHILD_SA ${config.name}{${reqid}} failed: ${reason}`);
    throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, `CHILD_SA ${config.name}: dataplane refused it: ${reason}`);
  }
  sa.children.push(child);
  emitChildEvent(ctx, sa, child, 'up');
  sa.log.info(
    { child: config.name, reqid, spiIn: hex8(spiIn), spiOut: hex8(spiOut), proposal: child.proposal, localTs: child.localTs, remoteTs: child.remoteTs, encap },
    `CHILD_SA ${config.name}{${reqid}} established with SPIs ${hex8(spiIn)}_i ${hex8(spiOut)}_o and TS ${child.localTs.join(' ')} === ${child.remoteTs.join(' ')}${encap ? ` (UDP-encapsulated to ${formatEndpoint(sa.remote)})` : ''}`,
  );
  const answer: Proposal = { ...chosen, spi: spiBytes(spiIn) };
  return {
    child,
    payloads: [
      { kind: 'sa', critical: false, proposals: [answer] },
      { kind: 'tsi', critical: false, selectors: tsi },
      { kind: 'tsr', critical: false, selectors: tsr },
    ],
  };
}

