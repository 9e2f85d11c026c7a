// The peer side of rekeying for exchange tests, TEST ONLY (RFC 7296 §1.3, §2.8, §2.17, §2.18).
// A PeerSession is one IKE_SA as the test client holds it — SPIs, keys, role, message IDs —
// so a test can keep talking after an IKE_SA rekey, answer the gateway's own requests, and
// hold messages back to build the collision orderings of RFC 7296 §2.8.1/§2.8.2:
//
//   CHILD_SA rekey   HDR, SK { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }  -->  <--  HDR, SK { SA, Nr, [KEr], TSi, TSr }
//   IKE_SA rekey     HDR, SK { SA, Ni, KEi }                           -->  <--  HDR, SK { SA, Nr, KEr }
//
// Written independently of the engine's side: message building, SKEYSEED inputs (§2.18) and the
// KEYMAT direction (§2.17) are the peer's view; only the primitives (prf+, SK protectors, KE
// groups) are shared.
import { decodeMessage, decodePayloads } from '../../src/ike/codec/message.js';
import type { IkeHeader } from '../../src/ike/codec/header.js';
import type { Payload, PayloadOf, Proposal, TrafficSelector } from '../../src/ike/codec/payload.js';
import { Reader } from '../../src/ike/codec/reader.js';
import { ExchangeType, HeaderFlag, IKE_MAJOR_VERSION, NotifyType, ProtocolId, TransformAttr, TransformType, isErrorNotify } from '../../src/ike/constants.js';
import { openBody, sealMessage, type SealContext } from '../../src/ike/protect/sk.js';
import { childKeymat, deriveIkeKeys, type ChildKeys, type IkeKeys } from '../../src/ike/sa/keymat.js';
import { proposalOf } from '../../src/ike/exchanges/steps/proposals.js';
import { espTransformSet, keGroupFor, prfFor, skProtectorFor } from '../../src/crypto/catalogue.js';
import { parseProposal } from '../../src/crypto/proposal-syntax.js';
import { concat } from '../../src/crypto/bytes.js';
import { systemRng, type Rng } from '../../src/crypto/random.js';
import type { KeyExchange, Prf, SkProtector } from '../../src/crypto/suite.js';
import type { Endpoint } from '../../src/net/endpoint.js';
import type { Gateway } from './gateway.js';
import type { Opened, TestInitiator } from './initiator.js';

export const u32 = (b: Uint8Array): number => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
export const u32Bytes = (n: number): Uint8Array => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

/** A nonce whose first byte is fixed (strongSwan's nonce_first_byte), for collision orderings. */
export function nonceStarting(first: number, rng: Rng = systemRng): Uint8Array {
  const n = rng.bytes(32);
  n[0] = first;
  return n;
}

export interface PendingChild {
  spi: number;
  ni: Uint8Array;
  kex?: KeyExchange;
}

export interface ChildResult {
  /** Our inbound SPI and the gateway's (our outbound). */
  spiIn: number;
  spiOut: number;
  keymat: ChildKeys;
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  ke?: number;
}

export interface PendingIke {
  spi: Uint8Array;
  ni: Uint8Array;
  kex: KeyExchange;
}

function notify(type: number, data: Uint8Array = new Uint8Array(0), protocol = 0, spi: Uint8Array = new Uint8Array(0)): PayloadOf<'notify'> {
  return { kind: 'notify', critical: false, protocol, spi, notify: type, data };
}

function first<K extends Payload['kind']>(inner: Payload[], kind: K): PayloadOf<K> | undefined {
  return inner.find((p): p is PayloadOf<K> => p.kind === kind);
}

export function errorOf(inner: Payload[]): number | undefined {
  return inner.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && isErrorNotify(p.notify))?.notify;
}

function espSuite(p: Proposal) {
  const encr = p.transforms.find((t) => t.type === TransformType.ENCR)!;
  const integ = p.transforms.find((t) => t.type === TransformType.INTEG && t.id !== 0);
  const esn = p.transforms.find((t) => t.type === TransformType.ESN);
  const bits = encr.attributes.find((a) => a.type === TransformAttr.KEY_LENGTH)?.value;
  return espTransformSet({ id: encr.id, ...(typeof bits === 'number' ? { keyBits: bits } : {}) }, integ?.id, esn?.id === 1);
}

function ikeSuite(p: Proposal) {
  const one = (type: number) => p.transforms.find((t) => t.type === type);
  const encr = one(TransformType.ENCR)!;
  const integ = p.transforms.find((t) => t.type === TransformType.INTEG && t.id !== 0);
  const bits = encr.attributes.find((a) => a.type === TransformAttr.KEY_LENGTH)?.value;
  return { encr: { id: encr.id, ...(typeof bits === 'number' ? { keyBits: bits } : {}) }, prf: one(TransformType.PRF)!.id, ...(integ ? { integ: integ.id } : {}), ke: one(TransformType.KE)!.id };
}

export class PeerSession {
  nextMessageId: number;
  /** The gateway's next request ID we expect (its requests in this IKE_SA). */
  readonly rng: Rng;

  constructor(
    readonly gw: Gateway,
    readonly local: Endpoint,
    readonly ispi: Uint8Array,
    readonly rspi: Uint8Array,
    readonly prf: Prf,
    readonly protector: SkProtector,
    readonly keys: IkeKeys,
    /** The test client is the original initiator of this IKE_SA. */
    readonly initiator: boolean,
    nextMessageId: number,
    rng: Rng = systemRng,
  ) {
    this.nextMessageId = nextMessageId;
    this.rng = rng;
  }

  static of(gw: Gateway, c: TestInitiator): PeerSession {
    if (!c.prf || !c.protector || !c.keys) throw new Error('connect() first');
    return new PeerSession(gw, c.local, c.ispi, c.rspi, c.prf, c.protector, c.keys, true, c.nextMessageId, c.rng);
  }

  /** The gateway's IKE_SA of this session. */
  get gatewaySa() {
    const sa = this.gw.engine.sas.get(Buffer.from(this.initiator ? this.rspi : this.ispi).toString('hex'));
    if (!sa) throw new Error('gateway has no such IKE_SA');
    return sa;
  }

  private sealContext(): SealContext {
    const k = this.keys;
    return {
      protector: this.protector,
      keys: this.initiator ? { enc: k.skEi, integ: k.skAi } : { enc: k.skEr, integ: k.skAr },
      rng: this.rng,
      nextIv: () => this.rng.bytes(this.protector.ivLength),
    };
  }

  private seal(exchange: number, messageId: number, response: boolean, inner: Payload[]): Uint8Array {
    const flags = (this.initiator ? HeaderFlag.INITIATOR : 0) | (response ? HeaderFlag.RESPONSE : 0);
    return sealMessage(this.sealContext(), { ispi: this.ispi, rspi: this.rspi, majorVersion: IKE_MAJOR_VERSION, minorVersion: 0, exchange, flags, messageId }, inner);
  }

  /** HDR, SK { inner } as our next request (not sent). */
  request(exchange: number, inner: Payload[]): Uint8Array {
    return this.seal(exchange, this.nextMessageId++, false, inner);
  }

  /** Our response to one of the gateway's requests. */
  response(request: IkeHeader, inner: Payload[]): Uint8Array {
    return this.seal(request.exchange, request.messageId, true, inner);
  }

  /** Delivers datagrams to the gateway; returns what it sent back to us meanwhile. */
  deliver(bytes: Uint8Array): Promise<Uint8Array[]> {
    return this.gw.send(bytes, this.local);
  }

  /** Opens any message of the gateway in this IKE_SA (request or response). */
  open(bytes: Uint8Array): Opened {
    const { header, payloads } = decodeMessage(bytes);
    if (!(header.ispi.every((b, i) => b === this.ispi[i]) && header.rspi.every((b, i) => b === this.rspi[i]))) throw new Error('message of another IKE_SA');
    const sk = payloads[payloads.length - 1];
    if (!sk || sk.kind !== 'sk') throw new Error('no SK payload');
    const k = this.keys;
    const plain = openBody(this.protector, this.initiator ? { enc: k.skEr, integ: k.skAr } : { enc: k.skEi, integ: k.skAi }, bytes, sk.body);
    if (!plain) throw new Error('ICV does not verify');
    return { header, inner: decodePayloads(sk.firstInner, new Reader(plain, 'inner')) };
  }

  /** Whether a datagram belongs to this IKE_SA. */
  owns(bytes: Uint8Array): boolean {
    const { header } = decodeMessage(bytes);
    return header.ispi.every((b, i) => b === this.ispi[i]) && header.rspi.every((b, i) => b === this.rspi[i]);
  }

  /** Request out, response back (opened); undefined when the gateway stays silent. */
  async exchange(exchange: number, inner: Payload[]): Promise<Opened | undefined> {
    const out = await this.deliver(this.request(exchange, inner));
    const mine = out.filter((d) => this.owns(d));
    return mine[0] ? this.open(mine[0]) : undefined;
  }

  // ---- CHILD_SAs ------------------------------------------------------------------------------

  /** HDR, SK { [N(REKEY_SA)], SA, Ni, [KEi], TSi, TSr } payloads. */
  childRequest(o: { rekeySpi?: number; esp: string[]; keGroup?: number; ni?: Uint8Array; tsi: TrafficSelector[]; tsr: TrafficSelector[] }): { inner: Payload[]; pending: PendingChild } {
    const spi = (u32(this.rng.bytes(4)) | 0x01000000) >>> 0;
    const ni = o.ni ?? this.rng.bytes(32);
    const kex = o.keGroup !== undefined ? keGroupFor(o.keGroup).create() : undefined;
    const inner: Payload[] = [];
    if (o.rekeySpi !== undefined) inner.push(notify(NotifyType.REKEY_SA, new Uint8Array(0), ProtocolId.ESP, u32Bytes(o.rekeySpi)));
    inner.push({ kind: 'sa', critical: false, proposals: o.esp.map((t, i) => proposalOf(parseProposal(t, 'esp'), i + 1, u32Bytes(spi))) });
    inner.push({ kind: 'nonce', critical: false, nonce: ni });
    if (kex) inner.push({ kind: 'ke', critical: false, group: kex.group, data: kex.publicValue });
    inner.push({ kind: 'tsi', critical: false, selectors: o.tsi }, { kind: 'tsr', critical: false, selectors: o.tsr });
    return { inner, pending: { spi, ni, ...(kex ? { kex } : {}) } };
  }

  /** Reads SA, Nr, [KEr], TSi, TSr of the answer to our childRequest(): KEYMAT as the exchange initiator. */
  childResult(inner: Payload[], pending: PendingChild): ChildResult {
    const sa = first(inner, 'sa');
    const nr = first(inner, 'nonce');
    const ke = first(inner, 'ke');
    if (!sa || !nr || sa.proposals.length !== 1) throw new Error(`no CHILD_SA in the answer: ${JSON.stringify(inner.map((p) => p.kind))}, error ${errorOf(inner)}`);
    if (pending.kex && !ke) throw new Error('KEr missing although we sent KEi');
    if (!pending.kex && ke) throw new Error('KEr without KEi');
    const chosen = sa.proposals[0]!;
    const set = espSuite(chosen);
    const gir = pending.kex && ke ? pending.kex.deriveShared(ke.data) : undefined;
    const keymat = childKeymat(this.prf, this.keys.skD, pending.ni, nr.nonce, gir, { encKeyLength: set.encr.keyLength, integKeyLength: set.integ?.keyLength ?? 0 });
    return { spiIn: pending.spi, spiOut: u32(chosen.spi), keymat, tsi: first(inner, 'tsi')?.selectors ?? [], tsr: first(inner, 'tsr')?.selectors ?? [], ...(ke ? { ke: ke.group } : {}) };
  }

  /**
   * Answers the gateway's CREATE_CHILD_SA { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr } with its first
   * proposal (as a strongSwan client would), a new SPI of ours and our nonce.
   */
  answerChildRequest(req: Opened, o: { nr?: Uint8Array } = {}): { bytes: Uint8Array; result: ChildResult; rekeyOf?: number; kePresent: boolean } {
    const sa = first(req.inner, 'sa')!;
    const ni = first(req.inner, 'nonce')!.nonce;
    const ke = first(req.inner, 'ke');
    const rekey = req.inner.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && p.notify === NotifyType.REKEY_SA);
    const chosen = sa.proposals[0]!;
    const spi = (u32(this.rng.bytes(4)) | 0x02000000) >>> 0;
    const nr = o.nr ?? this.rng.bytes(32);
    const keT = chosen.transforms.find((t) => t.type === TransformType.KE && t.id !== 0);
    let kePayload: Payload | undefined;
    let gir: Uint8Array | undefined;
    if (ke && keT) {
      const kex = keGroupFor(ke.group).create();
      gir = kex.deriveShared(ke.data);
      kePayload = { kind: 'ke', critical: false, group: ke.group, data: kex.publicValue };
    }
    const answer: Proposal = { ...chosen, spi: u32Bytes(spi), transforms: chosen.transforms.filter((t) => t.type !== TransformType.KE || t.id === keT?.id).filter((t, i, all) => all.findIndex((x) => x.type === t.type) === i) };
    const tsi = first(req.inner, 'tsi')!.selectors;
    const tsr = first(req.inner, 'tsr')!.selectors;
    const inner: Payload[] = [{ kind: 'sa', critical: false, proposals: [answer] }, { kind: 'nonce', critical: false, nonce: nr }, ...(kePayload ? [kePayload] : []), { kind: 'tsi', critical: false, selectors: tsi }, { kind: 'tsr', critical: false, selectors: tsr }];
    const set = espSuite(answer);
    // We are the responder of this exchange: the first KEYMAT half is the gateway's outbound.
    const keymat = childKeymat(this.prf, this.keys.skD, ni, nr, gir, { encKeyLength: set.encr.keyLength, integKeyLength: set.integ?.keyLength ?? 0 });
    return {
      bytes: this.response(req.header, inner),
      result: { spiIn: spi, spiOut: u32(chosen.spi), keymat, tsi, tsr, ...(kePayload ? { ke: ke!.group } : {}) },
      ...(rekey ? { rekeyOf: u32(rekey.spi) } : {}),
      kePresent: ke !== undefined,
    };
  }

  // ---- IKE_SA rekey (§1.3.2, §2.18) ------------------------------------------------------------

  ikeRekeyRequest(o: { ike: string[]; keGroup?: number; ni?: Uint8Array }): { inner: Payload[]; pending: PendingIke } {
    const specs = o.ike.map((t) => parseProposal(t, 'ike'));
    const group = o.keGroup ?? specs[0]!.ke[0]!;
    const spi = this.rng.bytes(8);
    const ni = o.ni ?? this.rng.bytes(32);
    const kex = keGroupFor(group).create();
    return {
      inner: [
        { kind: 'sa', critical: false, proposals: specs.map((s, i) => proposalOf(s, i + 1, spi)) },
        { kind: 'nonce', critical: false, nonce: ni },
        { kind: 'ke', critical: false, group, data: kex.publicValue },
      ],
      pending: { spi, ni, kex },
    };
  }

  /** The new IKE_SA from the answer to our ikeRekeyRequest(): we are its initiator. */
  ikeRekeyResult(inner: Payload[], pending: PendingIke): PeerSession {
    const sa = first(inner, 'sa');
    const nr = first(inner, 'nonce');
    const ke = first(inner, 'ke');
    if (!sa || !nr || !ke) throw new Error(`no IKE_SA in the answer, error ${errorOf(inner)}`);
    const chosen = sa.proposals[0]!;
    return this.derive(chosen, pending.spi, chosen.spi, pending.ni, nr.nonce, pending.kex.deriveShared(ke.data), true);
  }

  /** Answers the gateway's IKE_SA rekey request; the new session has the gateway as initiator. */
  answerIkeRekey(req: Opened, o: { nr?: Uint8Array } = {}): { bytes: Uint8Array; session: PeerSession } {
    const sa = first(req.inner, 'sa')!;
    const ni = first(req.inner, 'nonce')!.nonce;
    const ke = first(req.inner, 'ke')!;
    const chosen = sa.proposals[0]!;
    const keT = chosen.transforms.find((t) => t.type === TransformType.KE && t.id === ke.group)!;
    const answer: Proposal = { ...chosen, spi: this.rng.bytes(8), transforms: chosen.transforms.filter((t) => t.type !== TransformType.KE || t === keT).filter((t, i, all) => all.findIndex((x) => x.type === t.type) === i) };
    const nr = o.nr ?? this.rng.bytes(32);
    const kex = keGroupFor(ke.group).create();
    const gir = kex.deriveShared(ke.data);
    const inner: Payload[] = [{ kind: 'sa', critical: false, proposals: [answer] }, { kind: 'nonce', critical: false, nonce: nr }, { kind: 'ke', critical: false, group: ke.group, data: kex.publicValue }];
    return { bytes: this.response(req.header, inner), session: this.derive(answer, chosen.spi, answer.spi, ni, nr, gir, false) };
  }

  /** SKEYSEED = prf(SK_d (old), g^ir (new) | Ni | Nr), old PRF; keys by prf+ of the new one (§2.18, §2.14). */
  private derive(chosen: Proposal, spiI: Uint8Array, spiR: Uint8Array, ni: Uint8Array, nr: Uint8Array, gir: Uint8Array, weInitiate: boolean): PeerSession {
    const suite = ikeSuite(chosen);
    const seed = this.prf.compute(this.keys.skD, concat(gir, ni, nr));
    const prf = prfFor(suite.prf);
    const protector = skProtectorFor(suite.encr, suite.integ);
    const keys = deriveIkeKeys(prf, seed, ni, nr, spiI, spiR, { integKeyLength: protector.integKeyLength, encKeyLength: protector.encKeyLength });
    return new PeerSession(this.gw, this.local, spiI, spiR, prf, protector, keys, weInitiate, 0, this.rng);
  }
}

/** The gateway's datagrams to `to` since the last take (its own requests after a timer fired). */
export function outgoing(gw: Gateway, to: Endpoint): Uint8Array[] {
  return gw.transport
    .take()
    .filter((d) => d.remote.address === to.address && d.remote.port === to.port)
    .map((d) => d.bytes);
}


export interface RekeyConfigOptions {
  esp?: string;
  /** CHILD_SA rekey_time / life_time (swanctl durations); rand_time is 0 for determinism. */
  childRekey?: string;
  childLife?: string;
  /** IKE_SA rekey_time / reauth_time (default 0: off). */
  ikeRekey?: string;
  reauth?: string;
  proposals?: string;
}

/** A PSK remote-access connection with an IPv4 pool, for rekey tests. */
export function rekeyConfig(o: RekeyConfigOptions = {}): string {
  return `
connections {
  rw {
    proposals = ${o.proposals ?? 'aes256gcm16-prfsha256-x25519, aes256-sha1-modp1024, aes128-sha256-modp2048'}
    pools = v4
    rekey_time = ${o.ikeRekey ?? '0'}
    ${o.reauth ? `reauth_time = ${o.reauth}` : ''}
    rand_time = 0
    local {
      auth = psk
      id = @vpn.example.com
    }
    remote {
      auth = psk
    }
    children {
      rw {
        local_ts = 0.0.0.0/0
        esp_proposals = ${o.esp ?? 'aes256gcm16, aes256-sha256, aes256-sha1'}
        rekey_time = ${o.childRekey ?? '0'}
        life_time = ${o.childLife ?? '0'}
        rand_time = 0
      }
    }
  }
}
pools {
  v4 {
    addrs = 10.3.0.0/24
  }
}
secrets {
  ike-rw {
    id-gw = @vpn.example.com
    secret = "correct horse battery staple"
  }
}
`;
}

/** The gateway's RNG with a settable first byte for every nonce (32-byte draw), for collision orderings. */
export class NonceSteeringRng implements Rng {
  firstByte: number | undefined;
  constructor(private readonly base: Rng) {}
  bytes(n: number): Uint8Array {
    const b = this.base.bytes(n);
    if (n === 32 && this.firstByte !== undefined) b[0] = this.firstByte;
    return b;
  }
}
