// IKE_SA rekeying (RFC 7296 §1.3.2, §2.8, §2.18):
//   HDR, SK { SA, Ni, KEi }  -->  <--  HDR, SK { SA, Nr, KEr }
// The SA proposal's SPI is the sender's SPI of the new IKE_SA, whose initiator is the initiator
// of this exchange. SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr) with the old SA's PRF, then
// the SK_* keys by prf+ of the new PRF over Ni | Nr | SPIi | SPIr (§2.14). The new IKE_SA
// inherits identities, virtual IPs, leases and every CHILD_SA (the dataplane is not touched), and
// its message IDs start at 0. The old one becomes 'rekeyed' and only waits for its Delete,
// which then removes nothing but the old SA itself.
// Collisions (§2.8.2): while our own rekey is in flight the peer's is answered, but its new SA
// stays passive until our response tells which of the two replacements survives.
import { keGroupFor, prfFor, skProtectorFor } from '../../../crypto/catalogue.js';
import { toHex } from '../../../crypto/bytes.js';
import type { KeyExchange } from '../../../crypto/suite.js';
import type { ProposalSpec } from '../../../policy/policy.js';
import { ExchangeType, NotifyType, ProtocolId, isErrorNotify } from '../../constants.js';
import type { Payload, PayloadOf, Proposal } from '../../codec/payload.js';
import type { RequestResult } from '../../engine.js';
import { IkeError } from '../../errors.js';
import { deriveIkeKeys, rekeySkeyseed } from '../../sa/keymat.js';
import { transition, type IkeSa } from '../../sa/ike-sa.js';
import { firstOf, type EngineContext, type Inbound } from '../context.js';
import { scheduleLiveness } from '../liveness.js';
import { describeProposal, findKeGroupForInvalidKe, proposalOf, selectProposal, type NegotiatedSuite } from '../steps/proposals.js';
import { teardownIkeSa } from '../steps/teardown.js';
import { childWorkInFlight, weLoseCollision } from './collisions.js';
import { startIkeDelete } from './initiator-rekey.js';
import { armChildTimers, cancelChildTimers, scheduleIkeLifetimes } from './lifetimes.js';
import { keGroupData } from '../../codec/payloads/notify.js';

/** How long a rekeyed IKE_SA waits for the peer's Delete before we delete it ourselves. */
const REKEYED_LINGER_MS = 30_000;
/** Retry delay range after TEMPORARY_FAILURE (RFC 7296 §2.25: retry "later"). */
const RETRY_MIN_MS = 5_000;
const RETRY_SPREAD_MS = 10_000;

/** Our own IKE_SA rekey in flight. */
export interface OwnIkeRekey {
  ni: Uint8Array;
  /** Our SPI of the new IKE_SA (we would be its initiator). */
  spi: Uint8Array;
  kex: KeyExchange;
  group: number;
  /** INVALID_KE_PAYLOAD retries so far. */
  tries: number;
  /** The peer rekeyed too: its (passive) new IKE_SA and that exchange's nonces. */
  collision?: { newSa: IkeSa; ni: Uint8Array; nr: Uint8Array };
}

function negotiatedOf(chosen: Proposal, s: NegotiatedSuite): IkeSa['negotiated'] {
  return { encr: s.encr, prf: s.prf!, ...(s.integ !== undefined ? { integ: s.integ } : {}), ke: s.ke!, text: describeProposal(chosen) };
}

/** Builds the new IKE_SA of a rekey from the old one and the exchange's nonces and g^ir. */
function deriveNewIkeSa(
  ctx: EngineContext,
  old: IkeSa,
  x: { chosen: Proposal; suite: NegotiatedSuite; ni: Uint8Array; nr: Uint8Array; gir: Uint8Array; spiI: Uint8Array; spiR: Uint8Array; weInitiated: boolean },
): IkeSa {
  const negotiated = negotiatedOf(x.chosen, x.suite);
  const prf = prfFor(negotiated.prf);
  const protector = skProtectorFor(negotiated.encr, negotiated.integ);
  const seed = rekeySkeyseed(old.prf, old.keys.skD, x.gir, x.ni, x.nr);
  const keys = deriveIkeKeys(prf, seed, x.ni, x.nr, x.spiI, x.spiR, { integKeyLength: protector.integKeyLength, encKeyLength: protector.encKeyLength });
  seed.fill(0);
  const serial = ctx.engine.nextSerial();
  const label = `${old.conn?.name ?? 'ike'}[${serial}]`;
  const now = ctx.ports.clock.now();
  const sa: IkeSa = {
    id: toHex(x.weInitiated ? x.spiI : x.spiR),
    label,
    serial,
    ispi: x.spiI.slice(),
    rspi: x.spiR.slice(),
    phase: 'established',
    local: old.local,
    remote: old.remote,
    natLocal: old.natLocal,
    natRemote: old.natRemote,
    candidates: old.candidates,
    ...(old.conn ? { conn: old.conn } : {}),
    negotiated,
    prf,
    protector,
    keys,
    // No IKE_SA_INIT for this SA: the record only keeps the nonces (AUTH is not recomputed).
    init: { request: new Uint8Array(0), response: new Uint8Array(0), ni: x.ni.slice(), nr: x.nr.slice() },
    peerSupportsFragmentation: old.peerSupportsFragmentation,
    ...(old.peerHashAlgorithms ? { peerHashAlgorithms: old.peerHashAlgorithms } : {}),
    peerVendorIds: old.peerVendorIds,
    expectedRequestId: 0,
    nextOwnRequestId: 0,
    outbox: [],
    lastInboundAt: now,
    ...(old.localId ? { localId: old.localId } : {}),
    ...(old.remoteId ? { remoteId: old.remoteId } : {}),
    ...(old.remoteAuth ? { remoteAuth: old.remoteAuth } : {}),
    ...(old.eapIdentity ? { eapIdentity: old.eapIdentity } : {}),
    ...(old.eapMethod ? { eapMethod: old.eapMethod } : {}),
    vips: [],
    leases: [],
    children: [],
    createdAt: now,
    establishedAt: now,
    log: ctx.ports.log.child({ ike: label, ispi: toHex(x.spiI), rspi: toHex(x.spiR) }),
    timers: new Map(),
    ivCounter: 0n,
    queue: Promise.resolve(),
    ...(x.weInitiated ? { weInitiated: true } : {}),
  };
  ctx.engine.sas.set(sa.id, sa);
  return sa;
}

/** Moves everything of `old` to its replacement; `old` becomes 'rekeyed' and waits for its Delete. */
function adopt(ctx: EngineContext, old: IkeSa, next: IkeSa, why: string): void {
  next.children = old.children;
  next.leases = old.leases;
  next.vips = old.vips;
  old.children = [];
  old.leases = [];
  old.vips = [];
  for (const child of next.children) {
    cancelChildTimers(old, child);
    armChildTimers(ctx, next, child);
  }
  for (const key of ['dpd', 'ike-rekey', 'ike-reauth']) {
    old.timers.get(key)?.();
    old.timers.delete(key);
  }
  old.rekeyedTo = next;
  transition(old, 'rekeyed', `${why}: replaced by ${next.label}`);
  next.log.info(
    { replaces: old.label, proposal: next.negotiated.text, children: next.children.length },
    `IKE_SA ${next.label} established by rekeying ${old.label} (${next.negotiated.text}), ${next.children.length} CHILD_SA(s) moved`,
  );
  scheduleLiveness(ctx, next);
  scheduleIkeLifetimes(ctx, next);
  ctx.ports.events?.ikeUp?.({ id: next.id, remoteId: next.eapIdentity ?? old.label, vips: next.vips });
  // Normally the rekey initiator deletes the old SA; a peer that never does must not keep it forever.
  old.timers.set(
    'rekeyed-linger',
    ctx.ports.clock.setTimer(REKEYED_LINGER_MS, () => void ctx.engine.onSa(old, () => (old.phase === 'rekeyed' ? startIkeDelete(ctx, old, 'rekeyed IKE_SA not deleted by the peer') : undefined))),
  );
}

/** The peer's CREATE_CHILD_SA { SA(IKE), Ni, KEi } on `sa`. */
export async function respondIkeRekey(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  if (sa.phase !== 'established') throw new IkeError(NotifyType.TEMPORARY_FAILURE, `IKE_SA rekey while ${sa.phase}`);
  // §2.25.2: while we rekey or close a CHILD_SA of this IKE_SA, or rekey it twice over.
  if (childWorkInFlight(sa)) throw new IkeError(NotifyType.TEMPORARY_FAILURE, 'IKE_SA rekey while a CHILD_SA of it is being rekeyed or deleted');
  if (sa.ikeRekey?.collision) throw new IkeError(NotifyType.TEMPORARY_FAILURE, 'a second IKE_SA rekey during a collision');
  const conn = sa.conn!;
  const saPayload = firstOf(m.inner, 'sa')!;
  const ni = firstOf(m.inner, 'nonce')!.nonce;
  const ke = firstOf(m.inner, 'ke');
  if (!ke) throw new IkeError(NotifyType.INVALID_SYNTAX, 'IKE_SA rekey without KE payload');
  const opts = { protocol: 'ike' as const, preferServerOrder: conn.preferServerOrder };
  const sel = selectProposal(saPayload.proposals, conn.ikeProposals, { ...opts, requiredKe: ke.group });
  if (!sel.ok) {
    const g = findKeGroupForInvalidKe(saPayload.proposals, conn.ikeProposals, ke.group, opts);
    if (g !== undefined) throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `IKE_SA rekey with KE group ${ke.group}, requesting ${g}`, keGroupData(g));
    throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, `IKE_SA rekey: ${sel.reason}`);
  }
  const offered = saPayload.proposals.find((p) => p.num === sel.chosen.num && p.protocol === ProtocolId.IKE);
  if (!offered || offered.spi.length !== 8) throw new IkeError(NotifyType.INVALID_SYNTAX, 'IKE_SA rekey proposal without an 8-byte SPI');
  const kex = keGroupFor(ke.group).create();
  let gir: Uint8Array;
  try {
    gir = kex.deriveShared(ke.data);
  } finally {
    kex.wipe();
  }
  const nr = ctx.ports.rng.bytes(32);
  const spiR = ctx.ports.rng.bytes(8);
  const next = deriveNewIkeSa(ctx, sa, { chosen: sel.chosen, suite: sel.suite, ni, nr, gir, spiI: offered.spi, spiR, weInitiated: false });
  gir.fill(0);
  ctx.engine.respond(
    sa,
    m.datagram,
    m.header,
    [
      { kind: 'sa', critical: false, proposals: [{ ...sel.chosen, spi: spiR }] },
      { kind: 'nonce', critical: false, nonce: nr },
      { kind: 'ke', critical: false, group: ke.group, data: kex.publicValue },
    ],
    m.digest,
  );
  if (sa.ikeRekey) {
    sa.ikeRekey.collision = { newSa: next, ni, nr };
    sa.log.info(`IKE_SA rekey collision: the peer rekeyed ${sa.label} as ${next.label} while our rekey is in flight`);
    return;
  }
  adopt(ctx, sa, next, 'rekeyed by the peer');
}

/** Our proposals with the current IKE_SA's group first (Windows needs its own group first, field facts §2.1.7). */
function ikeProposalsFirstGroup(specs: readonly ProposalSpec[], group: number, spi: Uint8Array): Proposal[] {
  const ike = specs.filter((s) => s.protocol === 'ike');
  const ordered = [...ike.filter((s) => s.ke.includes(group)), ...ike.filter((s) => !s.ke.includes(group))];
  return ordered.map((s, i) => proposalOf(s.ke.includes(group) ? { ...s, ke: [group, ...s.ke.filter((g) => g !== group)] } : s, i + 1, spi));
}

/** Starts our own IKE_SA rekey (rekey_time), keeping the current KE group unless told otherwise. */
export async function startIkeRekey(ctx: EngineContext, sa: IkeSa, why: string, group = sa.negotiated.ke, tries = 0): Promise<void> {
  if (sa.phase !== 'established' || sa.ikeRekey || !sa.conn) return;
  if (childWorkInFlight(sa) || sa.pendingRequest) {
    // One exchange at a time of ours; try again shortly.
    retryLater(ctx, sa, () => startIkeRekey(ctx, sa, why));
    return;
  }
  const own: OwnIkeRekey = { ni: ctx.ports.rng.bytes(32), spi: ctx.ports.rng.bytes(8), kex: keGroupFor(group).create(), group, tries };
  sa.ikeRekey = own;
  sa.log.info(`rekeying IKE_SA ${sa.label}: ${why}`);
  const inner: Payload[] = [
    { kind: 'sa', critical: false, proposals: ikeProposalsFirstGroup(sa.conn.ikeProposals, group, own.spi) },
    { kind: 'nonce', critical: false, nonce: own.ni },
    { kind: 'ke', critical: false, group, data: own.kex.publicValue },
  ];
  ctx.engine.startRequest(sa, ExchangeType.CREATE_CHILD_SA, inner, (r) => onIkeRekeyResponse(ctx, sa, own, why, r));
}

function retryLater(ctx: EngineContext, sa: IkeSa, fn: () => Promise<void>): void {
  const r = ctx.ports.rng.bytes(2);
  const wait = RETRY_MIN_MS + (((r[0]! << 8) | r[1]!) / 0xffff) * RETRY_SPREAD_MS;
  sa.timers.get('ike-rekey')?.();
  sa.timers.set('ike-rekey', ctx.ports.clock.setTimer(wait, () => void ctx.engine.onSa(sa, fn)));
}

async function onIkeRekeyResponse(ctx: EngineContext, sa: IkeSa, own: OwnIkeRekey, why: string, r: RequestResult): Promise<void> {
  delete sa.ikeRekey;
  try {
    if (r.kind === 'timeout') {
      await teardownIkeSa(ctx, sa, 'no answer to our IKE_SA rekey');
      return;
    }
    const inner = r.kind === 'response' ? r.inner : [];
    const error = inner.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && isErrorNotify(p.notify));
    if (r.kind === 'failed' || error) {
      const passive = own.collision?.newSa;
      if (passive && passive.phase === 'established') {
        // Ours failed but the peer's went through: its IKE_SA is the replacement.
        adopt(ctx, sa, passive, 'rekeyed by the peer (our rekey failed)');
        return;
      }
      if (error?.notify === NotifyType.INVALID_KE_PAYLOAD && own.tries < 2) {
        const g = ((error.data[0] ?? 0) << 8) | (error.data[1] ?? 0);
        if (sa.conn?.ikeProposals.some((s) => s.ke.includes(g))) return startIkeRekey(ctx, sa, why, g, own.tries + 1);
      }
      if (error?.notify === NotifyType.TEMPORARY_FAILURE) {
        sa.log.info(`IKE_SA rekey refused with TEMPORARY_FAILURE: retrying later`);
        retryLater(ctx, sa, () => startIkeRekey(ctx, sa, why));
        return;
      }
      sa.log.warn(`IKE_SA rekey failed: ${r.kind === 'failed' ? r.reason : `notify ${error!.notify}`}`);
      return;
    }
    const saPayload = firstOf(inner, 'sa');
    const nonce = firstOf(inner, 'nonce');
    const ke = firstOf(inner, 'ke');
    const chosen = saPayload?.proposals[0];
    if (!saPayload || !nonce || !ke || !chosen || saPayload.proposals.length !== 1 || chosen.spi.length !== 8 || ke.group !== own.group) {
      sa.log.warn('IKE_SA rekey response lacks SA (one IKE proposal with an 8-byte SPI), Nr or a KE of our group');
      return;
    }
    const sel = selectProposal([chosen], sa.conn!.ikeProposals, { protocol: 'ike', preferServerOrder: false, requiredKe: own.group });
    if (!sel.ok) {
      sa.log.warn(`IKE_SA rekey response chose a proposal we did not offer: ${sel.reason}`);
      return;
    }
    const gir = own.kex.deriveShared(ke.data);
    const next = deriveNewIkeSa(ctx, sa, { chosen: sel.chosen, suite: sel.suite, ni: own.ni, nr: nonce.nonce, gir, spiI: own.spi, spiR: chosen.spi, weInitiated: true });
    gir.fill(0);
    const passive = own.collision;
    if (passive && passive.newSa.phase === 'established' && weLoseCollision({ ni: own.ni, nr: nonce.nonce }, passive)) {
      // §2.8.2: ours holds the lowest nonce, so it is redundant and we delete it; the peer's
      // replacement survives and the peer deletes the old IKE_SA.
      sa.log.info(`IKE_SA rekey collision lost: keeping ${passive.newSa.label}, deleting our redundant ${next.label}`);
      adopt(ctx, sa, passive.newSa, 'rekey collision');
      await ctx.engine.onSa(next, () => startIkeDelete(ctx, next, 'redundant IKE_SA after a rekey collision'));
      return;
    }
    if (passive) sa.log.info(`IKE_SA rekey collision won: keeping ${next.label}; the peer deletes its redundant ${passive.newSa.label}`);
    adopt(ctx, sa, next, why);
    await startIkeDelete(ctx, sa, `rekeyed to ${next.label}`);
  } finally {
    own.kex.wipe();
  }
}
