// Proposal selection for SA payloads (RFC 7296 §2.7, §3.3): pick one offered proposal that a
// configured ProposalSpec accepts and answer with exactly one transform of each type. Pure
// functions; the exchange code decides between NO_PROPOSAL_CHOSEN and INVALID_KE_PAYLOAD
// (RFC 7296 §1.2: select with the KE payload's group required, else findKeGroupForInvalidKe).
import type { Proposal, Transform } from '../../codec/payload.js';
import type { ProposalSpec } from '../../../policy/policy.js';
import { EsnId, IntegId, KeId, ProtocolId, TransformAttr, TransformType, protocolName } from '../../constants.js';
import { encrEntry, findEntry, transformName } from '../../../crypto/catalogue.js';

export interface SelectOptions {
  protocol: 'ike' | 'esp';
  /** Walk our configured proposals (and their transform order) first instead of the client's. */
  preferServerOrder: boolean;
  /** false: refuse transforms the catalogue marks legacy even when configured. Default true. */
  allowLegacy?: boolean;
  /** The group of the KE payload sent along: only proposals with this KE method are accepted. */
  requiredKe?: number;
  /** ESP in IKE_AUTH: there is no KE payload, KE transforms are ignored and not echoed. */
  ignoreKe?: boolean;
}

export interface NegotiatedSuite {
  encr: { id: number; keyBits: number };
  prf?: number;
  /** Undefined for AEAD ciphers. */
  integ?: number;
  /** Undefined when no key exchange was negotiated (ESP without PFS). */
  ke?: number;
  /** ESP only: whether extended sequence numbers were chosen. */
  esn?: boolean;
}

export type SelectResult = { ok: true; chosen: Proposal; suite: NegotiatedSuite } | { ok: false; reason: string };

const PROTOCOL_ID = { ike: ProtocolId.IKE, esp: ProtocolId.ESP } as const;
const KNOWN_TYPES = new Set<number>(Object.values(TransformType));

function keyLengthOf(t: Transform): { bits: number | undefined; ok: boolean } {
  let bits: number | undefined;
  for (const a of t.attributes) {
    if (a.type === TransformAttr.KEY_LENGTH && typeof a.value === 'number') bits = a.value;
    else return { bits: undefined, ok: false }; // an attribute we do not understand: unusable transform
  }
  return { bits, ok: true };
}

interface EncrOffer {
  t: Transform;
  id: number;
  keyBits: number;
  aead: boolean;
}

interface ParsedOffer {
  encr: EncrOffer[];
  prf: Transform[];
  integ: Transform[];
  ke: Transform[];
  esn: Transform[];
}

/** Whether a non-ENCR transform is implemented (INTEG NONE and KE NONE are always understood). */
function usable(t: Transform, allowLegacy: boolean): boolean {
  if ((t.type === TransformType.INTEG && t.id === IntegId.NONE) || (t.type === TransformType.KE && t.id === KeId.NONE)) return true;
  const e = findEntry(t.type as TransformType, t.id);
  return e !== undefined && (allowLegacy || !e.legacy);
}

/** Usable transforms of an offered proposal, in the client's order; undefined if it has an unknown type. */
function parseOffer(p: Proposal, allowLegacy: boolean): ParsedOffer | undefined {
  const out: ParsedOffer = { encr: [], prf: [], integ: [], ke: [], esn: [] };
  for (const t of p.transforms) {
    if (!KNOWN_TYPES.has(t.type)) return undefined; // RFC 7296 §3.3.6: cannot accept what we do not understand
    if (t.type === TransformType.ENCR) {
      const e = encrEntry(t.id);
      const kl = keyLengthOf(t);
      if (!e || !kl.ok || (e.legacy && !allowLegacy)) continue;
      // AES needs the Key Length attribute (RFC 7296 §3.3.5); fixed-size ciphers must not need it.
      const bits = kl.bits ?? (e.keyLengthAttribute ? undefined : e.keyBits[0]);
      if (bits === undefined || !e.keyBits.includes(bits)) continue;
      out.encr.push({ t, id: t.id, keyBits: bits, aead: e.aead });
      continue;
    }
    if (t.attributes.length > 0) continue; // no other type defines attributes
    if (!usable(t, allowLegacy)) continue;
    if (t.type === TransformType.PRF) out.prf.push(t);
    else if (t.type === TransformType.INTEG) out.integ.push(t);
    else if (t.type === TransformType.KE) out.ke.push(t);
    else out.esn.push(t);
  }
  return out;
}

/** Preference-ordered pick from `offered` of an id that `allowed` contains. */
function pick(offered: Transform[], allowed: readonly number[], serverOrder: boolean): Transform | undefined {
  if (serverOrder) {
    for (const id of allowed) {
      const t = offered.find((x) => x.id === id);
      if (t) return t;
    }
    return undefined;
  }
  return offered.find((t) => allowed.includes(t.id));
}

function copyTransform(t: Transform): Transform {
  return { type: t.type, id: t.id, attributes: t.attributes.map((a) => ({ ...a })) };
}

function matchOne(p: Proposal, offer: ParsedOffer, spec: ProposalSpec, opts: SelectOptions): SelectResult | undefined {
  const serverOrder = opts.preferServerOrder;
  const isIke = opts.protocol === 'ike';

  // ENCR candidates in preference order, each paired with the spec entry it satisfies.
  const specHas = (o: EncrOffer): boolean => spec.encr.some((s) => s.id === o.id && (s.keyBits ?? encrEntry(s.id)?.keyBits[0]) === o.keyBits);
  let encrCandidates: EncrOffer[];
  if (serverOrder) {
    encrCandidates = [];
    for (const s of spec.encr) {
      const bits = s.keyBits ?? encrEntry(s.id)?.keyBits[0];
      for (const o of offer.encr) if (o.id === s.id && o.keyBits === bits) encrCandidates.push(o);
    }
  } else {
    encrCandidates = offer.encr.filter(specHas);
  }

  for (const encr of encrCandidates) {
    const chosen: Transform[] = [copyTransform(encr.t)];
    const suite: NegotiatedSuite = { encr: { id: encr.id, keyBits: encr.keyBits } };

    // INTEG: AEAD ciphers take none (or echo INTEG NONE); classic ciphers need a configured one.
    if (encr.aead) {
      if (offer.integ.length > 0) {
        const none = offer.integ.find((t) => t.id === IntegId.NONE);
        if (!none) continue; // an AEAD cipher offered only together with real MACs
        chosen.push(copyTransform(none));
      }
    } else {
      const realMacs = offer.integ.filter((t) => t.id !== IntegId.NONE);
      const integ = pick(realMacs, spec.integ, serverOrder);
      if (!integ) continue;
      chosen.push(copyTransform(integ));
      suite.integ = integ.id;
    }

    // PRF: IKE only (ESP proposals have none; stray ones are ignored).
    if (isIke) {
      const prf = pick(offer.prf, spec.prf, serverOrder);
      if (!prf) return undefined;
      chosen.push(copyTransform(prf));
      suite.prf = prf.id;
    }

    // KE.
    if (!(opts.protocol === 'esp' && opts.ignoreKe)) {
      const realGroups = spec.ke.filter((g) => g !== KeId.NONE);
      const offeredReal = offer.ke.filter((t) => t.id !== KeId.NONE);
      let ke: Transform | undefined;
      if (opts.requiredKe !== undefined) {
        ke = realGroups.includes(opts.requiredKe) ? offeredReal.find((t) => t.id === opts.requiredKe) : undefined;
      } else {
        ke = pick(offeredReal, realGroups, serverOrder);
      }
      if (ke) {
        chosen.push(copyTransform(ke));
        suite.ke = ke.id;
      } else if (isIke) {
        return undefined; // IKE_SA always needs a key exchange
      } else {
        // ESP: without a match, "no PFS" is acceptable only if we do not insist on PFS.
        const pfsRequired = realGroups.length > 0 && !spec.ke.includes(KeId.NONE);
        if (pfsRequired || opts.requiredKe !== undefined) return undefined;
        if (offer.ke.length > 0) {
          const none = offer.ke.find((t) => t.id === KeId.NONE);
          if (!none) return undefined; // the client insists on PFS with groups we do not allow
          chosen.push(copyTransform(none));
        }
      }
    }

    // ESN: ESP only.
    if (!isIke && offer.esn.length > 0) {
      const allowed = spec.esn.length > 0 ? spec.esn : [EsnId.NO_ESN];
      const esn = pick(offer.esn, allowed, serverOrder);
      if (!esn) return undefined;
      chosen.push(copyTransform(esn));
      suite.esn = esn.id === EsnId.ESN;
    } else if (!isIke) {
      suite.esn = false;
    }

    return { ok: true, chosen: { num: p.num, protocol: p.protocol, spi: new Uint8Array(0), transforms: chosen }, suite };
  }
  return undefined;
}

/**
 * Chooses one offered proposal. Client order by default: the first offered proposal that any
 * configured spec accepts wins; with preferServerOrder the first configured spec that accepts any
 * offered proposal wins. The chosen proposal echoes the proposal number and carries exactly one
 * transform per negotiated type; its SPI is empty — the caller fills in its own.
 */
export function selectProposal(offered: readonly Proposal[], configured: readonly ProposalSpec[], opts: SelectOptions): SelectResult {
  const allowLegacy = opts.allowLegacy ?? true;
  const protocolId = PROTOCOL_ID[opts.protocol];
  const specs = configured.filter((s) => s.protocol === opts.protocol);
  const parsed: { p: Proposal; offer: ParsedOffer }[] = [];
  for (const p of offered) {
    if (p.protocol !== protocolId) continue;
    const offer = parseOffer(p, allowLegacy);
    if (offer) parsed.push({ p, offer });
  }
  if (opts.preferServerOrder) {
    for (const spec of specs) {
      for (const { p, offer } of parsed) {
        const r = matchOne(p, offer, spec, opts);
        if (r) return r;
      }
    }
  } else {
    for (const { p, offer } of parsed) {
      for (const spec of specs) {
        const r = matchOne(p, offer, spec, opts);
        if (r) return r;
      }
    }
  }
  return { ok: false, reason: noMatchReason(offered, specs, opts) };
}

function noMatchReason(offered: readonly Proposal[], specs: readonly ProposalSpec[], opts: SelectOptions): string {
  const mine = offered.filter((p) => p.protocol === PROTOCOL_ID[opts.protocol]);
  const offeredText = mine.length > 0 ? mine.map(describeProposal).join(', ') : `no ${opts.protocol.toUpperCase()} proposal`;
  const configuredText = specs.length > 0 ? specs.map(describeSpec).join(', ') : 'none';
  const ke = opts.requiredKe !== undefined ? ` with KE payload group ${transformName(TransformType.KE, opts.requiredKe)}` : '';
  const legacy = opts.allowLegacy === false ? ' (legacy algorithms disabled)' : '';
  return `no proposal matched${ke}${legacy}: offered ${offeredText}, configured ${configuredText}`;
}

/**
 * When no proposal matches with the KE payload's group but one would with another group, the
 * group to put into INVALID_KE_PAYLOAD (RFC 7296 §1.2, §2.7); undefined if there is none (then
 * NO_PROPOSAL_CHOSEN).
 */
export function findKeGroupForInvalidKe(
  offered: readonly Proposal[],
  configured: readonly ProposalSpec[],
  kePayloadGroup: number,
  opts: Omit<SelectOptions, 'requiredKe' | 'ignoreKe'>,
): number | undefined {
  const r = selectProposal(offered, configured, { ...opts });
  if (!r.ok || r.suite.ke === undefined || r.suite.ke === kePayloadGroup) return undefined;
  return r.suite.ke;
}

const TYPE_ORDER: readonly number[] = [TransformType.ENCR, TransformType.INTEG, TransformType.PRF, TransformType.KE, TransformType.ESN];
const typeRank = (t: number): number => {
  const i = TYPE_ORDER.indexOf(t);
  return i < 0 ? TYPE_ORDER.length : i;
};

function transformLabel(t: Transform): string {
  if (!KNOWN_TYPES.has(t.type)) return `TRANSFORM_TYPE_${t.type}(${t.id})`;
  const kl = t.type === TransformType.ENCR ? keyLengthOf(t).bits : undefined;
  return transformName(t.type, t.id, kl);
}

/** strongSwan log style: "IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024". */
export function describeProposal(p: Proposal): string {
  const ts = [...p.transforms].sort((a, b) => typeRank(a.type) - typeRank(b.type));
  return `${protocolName(p.protocol)}:${ts.map(transformLabel).join('/')}`;
}

/** The same style for a configured spec (every alternative listed). */
export function describeSpec(spec: ProposalSpec): string {
  const parts: string[] = [];
  for (const e of spec.encr) parts.push(transformName(TransformType.ENCR, e.id, e.keyBits));
  for (const i of spec.integ) parts.push(transformName(TransformType.INTEG, i));
  for (const f of spec.prf) parts.push(transformName(TransformType.PRF, f));
  for (const g of spec.ke) parts.push(transformName(TransformType.KE, g));
  if (spec.protocol === 'esp') for (const n of spec.esn) parts.push(transformName(TransformType.ESN, n));
  return `${spec.protocol.toUpperCase()}:${parts.join('/')}`;
}

/** All transforms of a spec, for building an SA payload (e.g. a test initiator's SAi1). */
export function transformsOf(spec: ProposalSpec): Transform[] {
  const out: Transform[] = [];
  for (const e of spec.encr) {
    const entry = encrEntry(e.id);
    const bits = e.keyBits ?? entry?.keyBits[0];
    const attributes = entry?.keyLengthAttribute && bits !== undefined ? [{ type: TransformAttr.KEY_LENGTH, value: bits }] : [];
    out.push({ type: TransformType.ENCR, id: e.id, attributes });
  }
  if (spec.protocol === 'ike') for (const f of spec.prf) out.push({ type: TransformType.PRF, id: f, attributes: [] });
  for (const i of spec.integ) out.push({ type: TransformType.INTEG, id: i, attributes: [] });
  for (const g of spec.ke) out.push({ type: TransformType.KE, id: g, attributes: [] });
  if (spec.protocol === 'esp') {
    for (const n of spec.esn.length > 0 ? spec.esn : [EsnId.NO_ESN]) out.push({ type: TransformType.ESN, id: n, attributes: [] });
  }
  return out;
}

/** A whole Proposal from a spec (proposal number and SPI supplied by the caller). */
export function proposalOf(spec: ProposalSpec, num: number, spi: Uint8Array = new Uint8Array(0)): Proposal {
  return { num, protocol: PROTOCOL_ID[spec.protocol], spi, transforms: transformsOf(spec) };
}
