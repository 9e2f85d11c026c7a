// A small but real IKEv2 initiator (RFC 7296) for exchange tests, TEST ONLY. It drives the
// responder engine through the initial exchanges and INFORMATIONAL requests:
//
//   IKE_SA_INIT   HDR, [N(COOKIE),] SAi1, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP), [N(FRAG_SUP),] [N(HASH_ALG)]  -->
//                                  <--  HDR, SAr1, KEr, Nr, [CERTREQ,] N(NATD_*), [N(FRAG_SUP)], [N(HASH_ALG)]
//   IKE_AUTH      HDR, SK { IDi, [CERT+,] [N(INITIAL_CONTACT),] [CERTREQ,] [IDr,] AUTH, [CP(CFG_REQUEST),] SAi2, TSi, TSr }  -->
//                                  <--  HDR, SK { IDr, [CERT+,] AUTH, [CP(CFG_REPLY),] SAr2, TSi, TSr }
//   INFORMATIONAL HDR, SK { [N,] [D,] }  -->  <--  HDR, SK { [N,] [D,] }
//
// and IKE_AUTH with EAP (RFC 7296 §2.16, RFC 5998 EAP-only): authEap() with a pluggable
// client-side EAP peer (test/helpers/eap-peers.ts), or step by step with eapStart(),
// eapExchange() and eapFinal().
//
// Every step is exposed separately (build a request, hand it to the gateway, process the
// response), so that tests can retransmit, reorder or tamper with the bytes in between. The
// keys come from the same primitives as the engine's (prf+, SK protectors), but the initiator's
// side of every computation — message building, SKEYSEED inputs, signed octets, KEYMAT
// direction — is written here independently.
import { randomBytes } from 'node:crypto';
import { signAuth, verifyAuth } from '../../src/ike/auth/signature.js';
import { sharedKeyAuth } from '../../src/ike/auth/psk.js';
import { initiatorSignedOctets, responderSignedOctets } from '../../src/ike/auth/signed-octets.js';
import { decodeMessage, decodePayloads, encodeMessage, encodePayloads } from '../../src/ike/codec/message.js';
import type { IkeHeader } from '../../src/ike/codec/header.js';
import type { CpAttribute, Payload, PayloadOf, Proposal, TrafficSelector } from '../../src/ike/codec/payload.js';
import { Reader } from '../../src/ike/codec/reader.js';
import {
  AuthMethod,
  CertEncoding,
  CfgType,
  CpAttr,
  EapCode,
  ExchangeType,
  HashAlgorithm,
  HeaderFlag,
  IKE_MAJOR_VERSION,
  NotifyType,
  ProtocolId,
  TransformAttr,
  TransformType,
  isErrorNotify,
} from '../../src/ike/constants.js';
import { decodeEap, type EapPacket } from '../../src/eap/packet.js';
import { counterIv, openBody, sealBytes, sealFragmented, sealMessage, type HeaderFields, type SealContext } from '../../src/ike/protect/sk.js';
import { addFragment, type Reassembly } from '../../src/ike/protect/fragments.js';
import { childKeymat, deriveIkeKeys, skeyseed, type ChildKeys, type IkeKeys } from '../../src/ike/sa/keymat.js';
import { natHash } from '../../src/ike/exchanges/steps/nat-detection.js';
import { proposalOf } from '../../src/ike/exchanges/steps/proposals.js';
import { espTransformSet, keGroupFor, prfFor, skProtectorFor } from '../../src/crypto/catalogue.js';
import { parseProposal } from '../../src/crypto/proposal-syntax.js';
import { systemRng, type Rng } from '../../src/crypto/random.js';
import type { KeyExchange, Prf, SkProtector } from '../../src/crypto/suite.js';
import type { EspTransformSet } from '../../src/crypto/suite.js';
import type { LocalCredential } from '../../src/credentials/store.js';
import { parseCertificate } from '../../src/credentials/x509.js';
import { endpoint, type Endpoint } from '../../src/net/endpoint.js';
import { formatIp } from '../../src/net/address.js';
import { parseIdentity } from '../../src/policy/identity.js';
import type { IkeIdentity } from '../../src/policy/policy.js';
import { tsAny } from '../../src/policy/traffic-selectors.js';

/** Where the initiator's datagrams go: a gateway harness or anything that answers like one. */
export interface Link {
  address: Endpoint;
  send(bytes: Uint8Array, from: Endpoint): Promise<Uint8Array[]>;
}

export interface InitiatorOptions {
  /** Our endpoint (default 198.51.100.10:500). */
  local?: Endpoint;
  /** IKE proposals in strongSwan syntax, one SA proposal each (default aes256gcm16-prfsha256-x25519). */
  ike?: string[];
  /** Group of the KE payload; default the first KE method of the first proposal. */
  keGroup?: number;
  /** NAT detection: correct hashes, none, or deliberately wrong ones (as if NATed). */
  nat?: 'correct' | 'none' | 'wrong-source' | 'wrong-destination';
  /** Send N(IKEV2_FRAGMENTATION_SUPPORTED) (RFC 7383 §2.3). Default false. */
  fragmentation?: boolean;
  /** N(SIGNATURE_HASH_ALGORITHMS) content (RFC 7427 §4); false = do not send. Default SHA2-256/384/512. */
  signatureHashes?: number[] | false;
  rng?: Rng;
  /**
   * The KE value to offer instead of a fresh one. A load generator shares one per group among
   * many initiators (RFC 7296 §2.12 allows reusing DH values); it must not be wiped meanwhile.
   */
  keyExchange?: KeyExchange;
}

export type InitOutcome =
  | { kind: 'ok'; payloads: Payload[] }
  | { kind: 'cookie'; cookie: Uint8Array }
  | { kind: 'invalid-ke'; group: number }
  | { kind: 'error'; notify: number; data: Uint8Array }
  | { kind: 'silence' };

export interface InitRequestOptions {
  /** N(COOKIE) as the first payload (RFC 7296 §2.6). Default: the cookie the responder handed us, if any. */
  cookie?: Uint8Array;
  /** Appended after our own payloads. */
  extra?: Payload[];
  /** Last chance to change the payload list (order, content) before encoding. */
  edit?: (payloads: Payload[]) => Payload[];
  /** Header changes (e.g. a wrong major version). */
  header?: Partial<HeaderFields>;
}

export interface CpRequest {
  v4?: boolean;
  v6?: boolean;
  dns?: boolean;
  /** Address to ask for in INTERNAL_IP4_ADDRESS (RFC 7296 §3.15.1: a client may request its old one). */
  requestV4?: string;
}

export interface AuthOptions {
  /** IDi: identity text as strongSwan writes it (e.g. "@client.example.com", "alice@example.com") or an identity. */
  id: string | IkeIdentity;
  /** IDr to ask for; omitted by default (as Windows does). */
  idr?: string | IkeIdentity;
  /** Authenticate with this pre-shared key (AUTH method 2). */
  psk?: string | Uint8Array;
  /** The key to verify the responder's PSK AUTH with (default `psk`). */
  responderPsk?: string | Uint8Array;
  /** Authenticate with a certificate signature. */
  credential?: LocalCredential;
  /** RFC 7427 Digital Signature (method 14) or the legacy RSA/ECDSA methods (1, 9-11). Default rfc7427 when the responder announced hashes. */
  signature?: 'rfc7427' | 'legacy';
  /** CERT payloads to send (DER); default the credential's certificate and chain. */
  certs?: Uint8Array[];
  /** CERTREQ key ids (SHA-1 of CA public keys, RFC 7296 §3.7). */
  certreq?: Uint8Array[];
  initialContact?: boolean;
  /** CP(CFG_REQUEST); default IPv4 + IPv6 address and DNS. false: no CP payload. */
  cp?: CpRequest | false;
  /** ESP proposals (default aes256gcm16 then aes256-sha256). */
  esp?: string[];
  tsi?: TrafficSelector[];
  tsr?: TrafficSelector[];
  /** Inner payloads appended at the end (e.g. an unknown critical payload). */
  extraInner?: Payload[];
  /** Send as RFC 7383 fragments of at most this many bytes per datagram. */
  fragmentSize?: number;
  /** Childless IKE_SA (RFC 6023 §4): no SAi2, TSi or TSr, so no CHILD_SA is made in IKE_AUTH. */
  childless?: boolean;
  /** Deliver the fragments in a shuffled order (a fixed permutation: reversed, then odd/even interleaved). */
  shuffle?: boolean;
}

export interface CpReply {
  v4?: string;
  v6?: string;
  v6Prefix?: number;
  dns: string[];
  attributes: CpAttribute[];
}

export interface ChildInfo {
  /** Our inbound SPI (sent in SAi2) and the responder's (in SAr2). */
  spiIn: number;
  spiOut: number;
  transforms: EspTransformSet;
  /** KEYMAT as the initiator derives it (RFC 7296 §2.17). */
  keymat: ChildKeys;
}

export interface AuthOutcome {
  /** No error notify, and the responder's AUTH verified. */
  ok: boolean;
  /** The response datagrams as received (set by auth()). */
  datagrams?: Uint8Array[];
  /** The first error notify of the response, if any. */
  error?: number;
  inner: Payload[];
  notifies: PayloadOf<'notify'>[];
  idr?: IkeIdentity;
  certs: Uint8Array[];
  authMethod?: number;
  authVerified: boolean;
  authProblem?: string;
  cp?: CpReply;
  tsi: TrafficSelector[];
  tsr: TrafficSelector[];
  child?: ChildInfo;
}

/** The client side of an EAP method (RFC 3748 §2 "peer"), e.g. test/helpers/eap-peers.ts. */
export interface EapClientPeer {
  /** Answers one EAP Request (the EAP payload's bytes) with the Response's bytes. */
  respond(request: Uint8Array): Uint8Array | Promise<Uint8Array>;
  /** The MSK once the method succeeded; undefined for methods without one (EAP-MD5). */
  msk(): Uint8Array | undefined;
}

export interface EapAuthOptions extends Omit<AuthOptions, 'psk' | 'responderPsk' | 'credential' | 'signature' | 'certs' | 'shuffle'> {
  eapPeer: EapClientPeer;
  /** Send N(EAP_ONLY_AUTHENTICATION) in the first request (RFC 5998 §3). */
  eapOnly?: boolean;
  /** Sees every EAP Request before the peer answers it; 'stop' ends authEap() there (the test goes on by hand). */
  onRequest?: (request: EapPacket, round: number) => 'answer' | 'stop';
  /** Changes our final AUTH before it is sent (e.g. a flipped bit). */
  finalAuth?: (auth: Uint8Array) => Uint8Array;
  /** EAP Requests answered before giving up (default 100). */
  maxRounds?: number;
}

/** The answer to one HDR, SK { EAP } request. */
export interface EapExchange {
  /** As received; empty when the responder stayed silent. */
  datagrams: Uint8Array[];
  inner: Payload[];
  notifies: PayloadOf<'notify'>[];
  /** The first error notify, if any. */
  error?: number;
  eap?: Uint8Array;
  packet?: EapPacket;
}

export interface EapAuthOutcome {
  /** EAP-Success, every responder AUTH verified, no error notify. */
  ok: boolean;
  /** The answer to the first request: IDr, [CERT, AUTH,] EAP/REQ/ID. */
  first: AuthOutcome;
  /** True when the first answer carried neither CERT nor AUTH (RFC 5998). */
  eapOnlyGranted: boolean;
  /** The responder's EAP Requests in order, and the peer's Responses. */
  requests: EapPacket[];
  responses: EapPacket[];
  /** How the EAP conversation ended: EAP-Success/Failure, onRequest stopped it, an answer without EAP, or no EAP at all. */
  eapResult: 'success' | 'failure' | 'stopped' | 'error' | 'none';
  /** The answer to the last HDR, SK { EAP }. */
  last?: EapExchange;
  /** The answer to the final AUTH (RFC 7296 §2.16): AUTH, CP, SAr2, TSi, TSr. */
  final?: AuthOutcome;
  /** The first error notify of any answer. */
  error?: number;
}

export interface Opened {
  header: IkeHeader;
  inner: Payload[];
}

const CLIENT = endpoint('198.51.100.10', 500);
const DEFAULT_ESP = ['aes256gcm16', 'aes256-sha256'];

const bytesOf = (s: string | Uint8Array): Uint8Array => (typeof s === 'string' ? new TextEncoder().encode(s) : s);
const idOf = (id: string | IkeIdentity): IkeIdentity => (typeof id === 'string' ? parseIdentity(id) : id);
const u32 = (b: Uint8Array): number => ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
const u32Bytes = (n: number): Uint8Array => new Uint8Array([n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff]);

export function notifyPayload(type: number, data: Uint8Array = new Uint8Array(0), protocol = 0, spi = new Uint8Array(0)): PayloadOf<'notify'> {
  return { kind: 'notify', critical: false, protocol, spi, notify: type, data };
}

function u16List(values: readonly number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

/** The negotiated IKE suite from the responder's one-proposal SAr1. */
function ikeSuiteOf(p: Proposal): { encr: { id: number; keyBits?: number }; prf: number; integ?: number; ke: number } {
  const one = (type: number) => p.transforms.filter((t) => t.type === type);
  const encr = one(TransformType.ENCR);
  const prf = one(TransformType.PRF);
  const integ = one(TransformType.INTEG).filter((t) => t.id !== 0);
  const ke = one(TransformType.KE);
  if (encr.length !== 1 || prf.length !== 1 || ke.length !== 1 || integ.length > 1) {
    throw new Error(`SAr1 must carry exactly one transform per type, got ${JSON.stringify(p.transforms.map((t) => [t.type, t.id]))}`);
  }
  const bits = encr[0]!.attributes.find((a) => a.type === TransformAttr.KEY_LENGTH)?.value;
  return {
    encr: { id: encr[0]!.id, ...(typeof bits === 'number' ? { keyBits: bits } : {}) },
    prf: prf[0]!.id,
    ...(integ[0] ? { integ: integ[0].id } : {}),
    ke: ke[0]!.id,
  };
}

function espSuiteOf(p: Proposal): EspTransformSet {
  const encr = p.transforms.filter((t) => t.type === TransformType.ENCR);
  const integ = p.transforms.filter((t) => t.type === TransformType.INTEG && t.id !== 0);
  const esn = p.transforms.filter((t) => t.type === TransformType.ESN);
  if (encr.length !== 1 || integ.length > 1 || esn.length > 1) throw new Error('SAr2 must carry one transform per type');
  const bits = encr[0]!.attributes.find((a) => a.type === TransformAttr.KEY_LENGTH)?.value;
  return espTransformSet({ id: encr[0]!.id, ...(typeof bits === 'number' ? { keyBits: bits } : {}) }, integ[0]?.id, esn[0]?.id === 1);
}

/** A fixed, non-trivial permutation: reversed, then the odd positions before the even ones. */
export function shuffled<T>(items: readonly T[]): T[] {
  const r = [...items].reverse();
  return [...r.filter((_, i) => i % 2 === 1), ...r.filter((_, i) => i % 2 === 0)];
}

export class TestInitiator {
  readonly local: Endpoint;
  readonly ispi: Uint8Array;
  readonly ni: Uint8Array;
  readonly rng: Rng;
  private readonly opts: InitiatorOptions;
  keGroup: number;
  private kex: KeyExchange;
  cookie?: Uint8Array;

  /** RealMessage1 / RealMessage2 (RFC 7296 §2.15) once IKE_SA_INIT succeeded. */
  message1?: Uint8Array;
  message2?: Uint8Array;
  rspi = new Uint8Array(8);
  nr?: Uint8Array;
  prf?: Prf;
  protector?: SkProtector;
  keys?: IkeKeys;
  /** The responder's IKE_SA_INIT payloads. */
  initResponse: Payload[] = [];
  /** Message ID of our next request. */
  nextMessageId = 1;
  private ivCounter = 0n;
  private reassembly?: Reassembly;
  /** Our ESP SPI of the pending IKE_AUTH (SAi2). */
  private childSpi = 0;
  /** Identities and credentials of the last IKE_AUTH, for verifying the responder's AUTH. */
  private lastAuth?: AuthOptions;

  constructor(
    readonly link: Link | undefined,
    opts: InitiatorOptions = {},
  ) {
    this.opts = opts;
    this.local = opts.local ?? CLIENT;
    this.rng = opts.rng ?? systemRng;
    this.ispi = this.rng.bytes(8);
    this.ni = this.rng.bytes(32);
    const first = parseProposal((opts.ike ?? ['aes256gcm16-prfsha256-x25519'])[0]!, 'ike');
    this.keGroup = opts.keyExchange?.group ?? opts.keGroup ?? first.ke[0]!;
    this.kex = opts.keyExchange ?? keGroupFor(this.keGroup).create();
  }

  get remote(): Endpoint {
    if (!this.link) throw new Error('initiator has no link');
    return this.link.address;
  }

  /** Hands datagrams to the link, returning everything the responder sent back. */
  async transmit(datagrams: Uint8Array | Uint8Array[]): Promise<Uint8Array[]> {
    if (!this.link) throw new Error('initiator has no link');
    const out: Uint8Array[] = [];
    for (const d of Array.isArray(datagrams) ? datagrams : [datagrams]) out.push(...(await this.link.send(d, this.local)));
    return out;
  }

  // ---- IKE_SA_INIT ----------------------------------------------------------------------

  /** SAi1 from our proposal strings, numbered from 1 (RFC 7296 §3.3.1). */
  saPayload(): PayloadOf<'sa'> {
    const specs = (this.opts.ike ?? ['aes256gcm16-prfsha256-x25519']).map((t) => parseProposal(t, 'ike'));
    return { kind: 'sa', critical: false, proposals: specs.map((s, i) => proposalOf(s, i + 1)) };
  }

  /** HDR, [N(COOKIE),] SAi1, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP), [N(FRAG_SUP),] [N(HASH_ALG)] */
  initRequest(o: InitRequestOptions = {}): Uint8Array {
    const cookie = o.cookie ?? this.cookie;
    let payloads: Payload[] = [];
    if (cookie) payloads.push(notifyPayload(NotifyType.COOKIE, cookie));
    payloads.push(this.saPayload());
    payloads.push({ kind: 'ke', critical: false, group: this.keGroup, data: this.kex.publicValue });
    payloads.push({ kind: 'nonce', critical: false, nonce: this.ni });
    const nat = this.opts.nat ?? 'correct';
    if (nat !== 'none' && this.link) {
      const zero = new Uint8Array(8);
      const src = nat === 'wrong-source' ? new Uint8Array(randomBytes(20)) : natHash(this.ispi, zero, this.local);
      const dst = nat === 'wrong-destination' ? new Uint8Array(randomBytes(20)) : natHash(this.ispi, zero, this.remote);
      payloads.push(notifyPayload(NotifyType.NAT_DETECTION_SOURCE_IP, src), notifyPayload(NotifyType.NAT_DETECTION_DESTINATION_IP, dst));
    }
    if (this.opts.fragmentation) payloads.push(notifyPayload(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
    const hashes = this.opts.signatureHashes ?? [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512];
    if (hashes !== false) payloads.push(notifyPayload(NotifyType.SIGNATURE_HASH_ALGORITHMS, u16List(hashes)));
    payloads.push(...(o.extra ?? []));
    if (o.edit) payloads = o.edit(payloads);
    const bytes = encodeMessage(
      {
        ispi: this.ispi,
        rspi: new Uint8Array(8),
        majorVersion: IKE_MAJOR_VERSION,
        minorVersion: 0,
        exchange: ExchangeType.IKE_SA_INIT,
        flags: HeaderFlag.INITIATOR,
        messageId: 0,
        ...o.header,
      },
      payloads,
    );
    this.message1 = bytes;
    return bytes;
  }

  /**
   * Processes the IKE_SA_INIT response. COOKIE and INVALID_KE_PAYLOAD prepare the retry (the
   * cookie is remembered, a new KE of the requested group is made); a normal response yields
   * SKEYSEED and the SK_* keys (RFC 7296 §2.14).
   */
  handleInitResponse(bytes: Uint8Array | undefined): InitOutcome {
    if (!bytes) return { kind: 'silence' };
    const { header, payloads } = decodeMessage(bytes);
    if (header.exchange !== ExchangeType.IKE_SA_INIT || !(header.flags & HeaderFlag.RESPONSE)) throw new Error('not an IKE_SA_INIT response');
    const cookie = payloads.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && p.notify === NotifyType.COOKIE);
    if (cookie) {
      this.cookie = cookie.data.slice();
      return { kind: 'cookie', cookie: this.cookie };
    }
    const invalidKe = payloads.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && p.notify === NotifyType.INVALID_KE_PAYLOAD);
    if (invalidKe) {
      const group = ((invalidKe.data[0] ?? 0) << 8) | (invalidKe.data[1] ?? 0);
      this.kex.wipe();
      this.keGroup = group;
      this.kex = keGroupFor(group).create();
      return { kind: 'invalid-ke', group };
    }
    const error = payloads.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && isErrorNotify(p.notify));
    if (error) return { kind: 'error', notify: error.notify, data: error.data };

    const sa = payloads.find((p): p is PayloadOf<'sa'> => p.kind === 'sa');
    const ke = payloads.find((p): p is PayloadOf<'ke'> => p.kind === 'ke');
    const nonce = payloads.find((p): p is PayloadOf<'nonce'> => p.kind === 'nonce');
    if (!sa || !ke || !nonce || sa.proposals.length !== 1) throw new Error('IKE_SA_INIT response lacks SA, KE or Nr');
    const suite = ikeSuiteOf(sa.proposals[0]!);
    if (suite.ke !== this.keGroup || ke.group !== this.keGroup) throw new Error(`responder chose KE ${suite.ke}/${ke.group}, we sent ${this.keGroup}`);
    this.rspi = header.rspi.slice();
    this.nr = nonce.nonce.slice();
    this.prf = prfFor(suite.prf);
    this.protector = skProtectorFor(suite.encr, suite.integ);
    const gir = this.kex.deriveShared(ke.data);
    const seed = skeyseed(this.prf, this.ni, this.nr, gir);
    this.keys = deriveIkeKeys(this.prf, seed, this.ni, this.nr, this.ispi, this.rspi, {
      integKeyLength: this.protector.integKeyLength,
      encKeyLength: this.protector.encKeyLength,
    });
    this.message2 = bytes.slice();
    this.initResponse = payloads;
    this.nextMessageId = 1;
    return { kind: 'ok', payloads };
  }

  /** IKE_SA_INIT with retries on COOKIE and INVALID_KE_PAYLOAD (at most `tries` requests). */
  async init(tries = 3): Promise<InitOutcome> {
    let outcome: InitOutcome = { kind: 'silence' };
    for (let i = 0; i < tries; i++) {
      const responses = await this.transmit(this.initRequest());
      outcome = this.handleInitResponse(responses[0]);
      if (outcome.kind !== 'cookie' && outcome.kind !== 'invalid-ke') return outcome;
    }
    return outcome;
  }

  /** A notify of the responder's IKE_SA_INIT response. */
  initNotify(type: number): PayloadOf<'notify'> | undefined {
    return this.initResponse.find((p): p is PayloadOf<'notify'> => p.kind === 'notify' && p.notify === type);
  }

  // ---- protected messages ----------------------------------------------------------------

  private need<T>(v: T | undefined): T {
    if (v === undefined) throw new Error('IKE_SA_INIT has not completed');
    return v;
  }

  private sealContext(): SealContext {
    const protector = this.need(this.protector);
    const keys = this.need(this.keys);
    const aead = protector.integKeyLength === 0;
    return {
      protector,
      keys: { enc: keys.skEi, integ: keys.skAi },
      rng: this.rng,
      nextIv: aead ? () => counterIv(++this.ivCounter, protector.ivLength) : () => this.rng.bytes(protector.ivLength),
    };
  }

  private headerFor(exchange: number, messageId: number): HeaderFields {
    return { ispi: this.ispi, rspi: this.rspi, majorVersion: IKE_MAJOR_VERSION, minorVersion: 0, exchange, flags: HeaderFlag.INITIATOR, messageId };
  }

  /**
   * Seals a request HDR, SK { inner } (or SKF fragments) with SK_ei/SK_ai. Takes the next
   * message ID unless one is given.
   */
  request(exchange: number, inner: Payload[], o: { messageId?: number; fragmentSize?: number } = {}): Uint8Array[] {
    const messageId = o.messageId ?? this.nextMessageId++;
    const h = this.headerFor(exchange, messageId);
    if (o.fragmentSize !== undefined) return sealFragmented(this.sealContext(), h, inner, o.fragmentSize);
    return [sealMessage(this.sealContext(), h, inner)];
  }

  /**
   * Seals arbitrary inner bytes (which need not parse): authenticated garbage, for
   * INVALID_SYNTAX tests. `firstInner` goes into the SK payload's Next Payload field.
   */
  requestRaw(exchange: number, firstInner: number, innerBytes: Uint8Array, messageId = this.nextMessageId++): Uint8Array {
    return sealBytes(this.sealContext(), this.headerFor(exchange, messageId), firstInner, innerBytes);
  }


  /**
   * Opens a response (one SK datagram, or SKF fragments in any order) with SK_er/SK_ar.
   * Returns undefined when nothing complete and authentic arrived.
   */
  openResponse(datagrams: Uint8Array[]): Opened | undefined {
    const protector = this.need(this.protector);
    const keys = this.need(this.keys);
    let result: Opened | undefined;
    for (const d of datagrams) {
      const { header, payloads } = decodeMessage(d);
      if (!(header.flags & HeaderFlag.RESPONSE)) throw new Error('expected a response');
      if (header.flags & HeaderFlag.INITIATOR) throw new Error('responder set the I flag');
      const last = payloads[payloads.length - 1];
      if (!last || (last.kind !== 'sk' && last.kind !== 'skf')) throw new Error('response without SK payload');
      const plain = openBody(protector, { enc: keys.skEr, integ: keys.skAr }, d, last.body);
      if (!plain) throw new Error('response ICV does not verify');
      if (last.kind === 'sk') {
        result = { header, inner: decodePayloads(last.firstInner, new Reader(plain, 'inner')) };
        continue;
      }
      const { state, result: r } = addFragment(this.reassembly, {
        messageId: header.messageId,
        number: last.fragmentNumber,
        total: last.totalFragments,
        firstInner: last.firstInner,
        data: plain,
      });
      this.reassembly = state;
      if (r.kind === 'rejected') throw new Error(`fragment rejected: ${r.reason}`);
      if (r.kind === 'complete') result = { header, inner: decodePayloads(r.firstInner, new Reader(r.inner, 'inner')) };
    }
    return result;
  }

  // ---- IKE_AUTH -----------------------------------------------------------------------------

  /** HDR, SK { IDi, [CERT+,] [N(INITIAL_CONTACT),] [CERTREQ,] [IDr,] AUTH, [CP(CFG_REQUEST),] SAi2, TSi, TSr } */
  authPayloads(o: AuthOptions): Payload[] {
    const prf = this.need(this.prf);
    const keys = this.need(this.keys);
    const idi = idOf(o.id);
    const inner: Payload[] = [{ kind: 'idi', critical: false, idType: idi.type, data: idi.data }];
    if (o.credential || o.certs) {
      const certs = o.certs ?? [o.credential!.cert.der, ...o.credential!.chain.map((c) => c.der)];
      for (const der of certs) inner.push({ kind: 'cert', critical: false, encoding: CertEncoding.X509_SIGNATURE, data: der });
    }
    if (o.initialContact) inner.push(notifyPayload(NotifyType.INITIAL_CONTACT));
    if (o.certreq) {
      const data = new Uint8Array(o.certreq.length * 20);
      o.certreq.forEach((k, i) => data.set(k, i * 20));
      inner.push({ kind: 'certreq', critical: false, encoding: CertEncoding.X509_SIGNATURE, data });
    }
    if (o.idr !== undefined) {
      const idr = idOf(o.idr);
      inner.push({ kind: 'idr', critical: false, idType: idr.type, data: idr.data });
    }
    // AUTH over InitiatorSignedOctets = RealMessage1 | NonceRData | prf(SK_pi, IDi') (RFC 7296 §2.15)
    const octets = initiatorSignedOctets(prf, keys.skPi, this.need(this.message1), this.need(this.nr), idi);
    if (o.psk !== undefined) {
      inner.push({ kind: 'auth', critical: false, method: AuthMethod.SHARED_KEY_MIC, data: sharedKeyAuth(prf, bytesOf(o.psk), octets) });
    } else if (o.credential) {
      const announced = this.initNotify(NotifyType.SIGNATURE_HASH_ALGORITHMS);
      const useRfc7427 = o.signature ? o.signature === 'rfc7427' : announced !== undefined;
      const peerHashes = useRfc7427 ? (announced ? parseU16(announced.data) : [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512]) : undefined;
      const signed = signAuth(o.credential, octets, peerHashes);
      inner.push({ kind: 'auth', critical: false, method: signed.method, data: signed.data });
    }
    const cp = o.cp === undefined ? { v4: true, v6: true, dns: true } : o.cp;
    if (cp) {
      const attributes: CpAttribute[] = [];
      if (cp.v4) attributes.push({ type: CpAttr.INTERNAL_IP4_ADDRESS, value: cp.requestV4 ? ipBytes4(cp.requestV4) : new Uint8Array(0) });
      if (cp.v4 && cp.dns) attributes.push({ type: CpAttr.INTERNAL_IP4_DNS, value: new Uint8Array(0) });
      if (cp.v6) attributes.push({ type: CpAttr.INTERNAL_IP6_ADDRESS, value: new Uint8Array(0) });
      if (cp.v6 && cp.dns) attributes.push({ type: CpAttr.INTERNAL_IP6_DNS, value: new Uint8Array(0) });
      inner.push({ kind: 'cp', critical: false, cfgType: CfgType.CFG_REQUEST, attributes });
    }
    if (o.childless) {
      inner.push(...(o.extraInner ?? []));
      return inner;
    }
    this.childSpi = (u32(this.rng.bytes(4)) | 0x01000000) >>> 0;
    const espSpecs = (o.esp ?? DEFAULT_ESP).map((t) => parseProposal(t, 'esp'));
    inner.push({ kind: 'sa', critical: false, proposals: espSpecs.map((s, i) => proposalOf(s, i + 1, u32Bytes(this.childSpi))) });
    inner.push({ kind: 'tsi', critical: false, selectors: o.tsi ?? [tsAny(4), tsAny(6)] });
    inner.push({ kind: 'tsr', critical: false, selectors: o.tsr ?? [tsAny(4), tsAny(6)] });
    inner.push(...(o.extraInner ?? []));
    return inner;
  }

  /** The IKE_AUTH request datagrams (several when fragmented), in the order to send them. */
  authRequest(o: AuthOptions): Uint8Array[] {
    this.lastAuth = o;
    const datagrams = this.request(ExchangeType.IKE_AUTH, this.authPayloads(o), o.fragmentSize !== undefined ? { fragmentSize: o.fragmentSize } : {});
    return o.shuffle ? shuffled(datagrams) : datagrams;
  }

  /**
   * Opens the IKE_AUTH response, verifies the responder's AUTH and reads CP, SAr2 and TS.
   * `eapKey`: the final response of an EAP exchange (RFC 7296 §2.16), whose AUTH is a shared-key
   * MIC keyed with the MSK (or SK_pr) over the IDr of the first response.
   */
  handleAuthResponse(datagrams: Uint8Array[], o: AuthOptions | undefined = this.lastAuth, eapKey?: { key: Uint8Array; idr: IkeIdentity }): AuthOutcome {
    const opened = this.openResponse(datagrams);
    if (!opened) throw new Error('no complete IKE_AUTH response');
    if (opened.header.exchange !== ExchangeType.IKE_AUTH) throw new Error('not an IKE_AUTH response');
    const inner = opened.inner;
    const notifies = inner.filter((p): p is PayloadOf<'notify'> => p.kind === 'notify');
    const error = notifies.find((n) => isErrorNotify(n.notify))?.notify;
    const idrP = inner.find((p): p is PayloadOf<'idr'> => p.kind === 'idr');
    const auth = inner.find((p): p is PayloadOf<'auth'> => p.kind === 'auth');
    const certs = inner.filter((p): p is PayloadOf<'cert'> => p.kind === 'cert').map((c) => c.data);
    const out: AuthOutcome = { ok: false, inner, notifies, certs, authVerified: false, tsi: [], tsr: [] };
    if (error !== undefined) out.error = error;
    if (idrP) out.idr = { type: idrP.idType, data: idrP.data };
    if (auth) out.authMethod = auth.method;
    this.nextMessageId = Math.max(this.nextMessageId, opened.header.messageId + 1);

    // The responder's AUTH over ResponderSignedOctets = RealMessage2 | NonceIData | prf(SK_pr, IDr') (RFC 7296 §2.15).
    const idrForAuth = out.idr ?? eapKey?.idr;
    if (auth && idrForAuth) {
      const octets = responderSignedOctets(this.need(this.prf), this.need(this.keys).skPr, this.need(this.message2), this.ni, idrForAuth);
      if (eapKey) {
        // §2.16: AUTH = prf(prf(MSK, "Key Pad for IKEv2"), ResponderSignedOctets), method 2.
        if (auth.method !== AuthMethod.SHARED_KEY_MIC) out.authProblem = `final AUTH after EAP with method ${auth.method}, expected ${AuthMethod.SHARED_KEY_MIC}`;
        else if (Buffer.compare(sharedKeyAuth(this.need(this.prf), eapKey.key, octets), auth.data) === 0) out.authVerified = true;
        else out.authProblem = 'responder AUTH from the EAP key mismatch';
      } else if (auth.method === AuthMethod.SHARED_KEY_MIC) {
        const psk = o?.responderPsk ?? o?.psk;
        if (psk === undefined) out.authProblem = 'responder used a PSK, we have none';
        else if (Buffer.compare(sharedKeyAuth(this.need(this.prf), bytesOf(psk), octets), auth.data) === 0) out.authVerified = true;
        else out.authProblem = 'responder PSK AUTH mismatch';
      } else if (certs[0]) {
        const v = verifyAuth(parseCertificate(certs[0]).publicKey, auth.method, auth.data, octets);
        if (v.ok) out.authVerified = true;
        else out.authProblem = v.reason;
      } else {
        out.authProblem = 'signature AUTH without a certificate';
      }
    }

    const cp = inner.find((p): p is PayloadOf<'cp'> => p.kind === 'cp');
    if (cp) {
      const reply: CpReply = { dns: [], attributes: cp.attributes };
      for (const a of cp.attributes) {
        if (a.type === CpAttr.INTERNAL_IP4_ADDRESS && a.value.length === 4) reply.v4 = formatIp(a.value);
        if (a.type === CpAttr.INTERNAL_IP6_ADDRESS && a.value.length === 17) {
          reply.v6 = formatIp(a.value.subarray(0, 16));
          reply.v6Prefix = a.value[16]!;
        }
        if ((a.type === CpAttr.INTERNAL_IP4_DNS && a.value.length === 4) || (a.type === CpAttr.INTERNAL_IP6_DNS && a.value.length === 16)) reply.dns.push(formatIp(a.value));
      }
      out.cp = reply;
    }
    out.tsi = inner.find((p): p is PayloadOf<'tsi'> => p.kind === 'tsi')?.selectors ?? [];
    out.tsr = inner.find((p): p is PayloadOf<'tsr'> => p.kind === 'tsr')?.selectors ?? [];
    const sa = inner.find((p): p is PayloadOf<'sa'> => p.kind === 'sa');
    if (sa) {
      const chosen = sa.proposals[0];
      if (!chosen || sa.proposals.length !== 1 || chosen.protocol !== ProtocolId.ESP || chosen.spi.length !== 4) throw new Error('SAr2 must be one ESP proposal with a 4-byte SPI');
      const transforms = espSuiteOf(chosen);
      // KEYMAT = prf+(SK_d, Ni | Nr) (RFC 7296 §2.17), no PFS in IKE_AUTH.
      const keymat = childKeymat(this.need(this.prf), this.need(this.keys).skD, this.ni, this.need(this.nr), undefined, {
        encKeyLength: transforms.encr.keyLength,
        integKeyLength: transforms.integ?.keyLength ?? 0,
      });
      out.child = { spiIn: this.childSpi, spiOut: u32(chosen.spi), transforms, keymat };
    }
    out.ok = error === undefined && out.authVerified;
    return out;
  }

  /** IKE_AUTH through the link: all datagrams out, the response (maybe fragmented) back in. */
  async auth(o: AuthOptions): Promise<AuthOutcome> {
    const request = this.authRequest(o);
    this.lastRequest = request;
    const responses = await this.transmit(request);
    return { ...this.handleAuthResponse(responses, o), datagrams: responses };
  }

  /** Sends the last IKE_AUTH request again, byte for byte, and returns what came back. */
  async retransmitLastRequest(): Promise<Uint8Array[]> {
    if (!this.lastRequest) throw new Error('no request sent yet');
    return this.transmit(this.lastRequest);
  }

  private lastRequest: Uint8Array[] | undefined;

  /** The datagrams of the last IKE_AUTH request (auth(), eapStart(), eapExchange(), eapFinal()). */
  lastSent(): Uint8Array[] {
    if (!this.lastRequest) throw new Error('no request sent yet');
    return this.lastRequest;
  }

  /** IKE_SA_INIT then IKE_AUTH; throws unless both succeed. */
  async connect(o: AuthOptions): Promise<AuthOutcome> {
    const init = await this.init();
    if (init.kind !== 'ok') throw new Error(`IKE_SA_INIT failed: ${JSON.stringify(init)}`);
    const auth = await this.auth(o);
    if (!auth.ok) throw new Error(`IKE_AUTH failed: error ${auth.error}, ${auth.authProblem ?? ''}`);
    return auth;
  }

  // ---- IKE_AUTH with EAP (RFC 7296 §2.16, RFC 5998) -----------------------------------------
  //
  //   HDR, SK { IDi, [N(EAP_ONLY_AUTHENTICATION),] [IDr,] [CP(CFG_REQUEST),] SAi2, TSi, TSr }  -->
  //                                  <--  HDR, SK { IDr, [CERT+, AUTH,] EAP }
  //   HDR, SK { EAP }  -->           <--  HDR, SK { EAP }            (as often as the method needs)
  //   HDR, SK { EAP }  -->           <--  HDR, SK { EAP(Success) }
  //   HDR, SK { AUTH }  -->          <--  HDR, SK { AUTH, [CP(CFG_REPLY),] SAr2, TSi, TSr }

  /** The first IKE_AUTH request of an EAP client: no AUTH payload (§2.16). */
  eapFirstPayloads(o: EapAuthOptions): Payload[] {
    const extraInner = [...(o.eapOnly ? [notifyPayload(NotifyType.EAP_ONLY_AUTHENTICATION)] : []), ...(o.extraInner ?? [])];
    const { eapPeer: _peer, eapOnly: _only, onRequest: _on, finalAuth: _fa, maxRounds: _mr, ...rest } = o;
    return this.authPayloads({ ...rest, extraInner });
  }

  /**
   * Sends the first IKE_AUTH request without AUTH and reads the answer; the responder's
   * certificate AUTH, if any, is verified as in auth(). Remembers IDi and IDr for the final AUTH.
   */
  async eapStart(o: EapAuthOptions): Promise<AuthOutcome> {
    const id: AuthOptions = { id: o.id };
    this.lastAuth = id;
    this.eapIds = { idi: idOf(o.id) };
    const request = this.request(ExchangeType.IKE_AUTH, this.eapFirstPayloads(o), o.fragmentSize !== undefined ? { fragmentSize: o.fragmentSize } : {});
    this.lastRequest = request;
    const datagrams = await this.transmit(request);
    const out = { ...this.handleAuthResponse(datagrams, id), datagrams };
    if (out.idr) this.eapIds.idr = out.idr;
    return out;
  }

  /** HDR, SK { EAP }  -->  and the answer (silence gives an empty `inner`). */
  async eapExchange(eap: Uint8Array, o: { messageId?: number } = {}): Promise<EapExchange> {
    const request = this.request(ExchangeType.IKE_AUTH, [{ kind: 'eap', critical: false, data: eap }], o);
    this.lastRequest = request;
    return this.handleEapResponse(await this.transmit(request));
  }

  /** Reads one answer to an EAP request: its EAP payload and notifies. */
  handleEapResponse(datagrams: Uint8Array[]): EapExchange {
    if (datagrams.length === 0) return { datagrams, inner: [], notifies: [] };
    const opened = this.openResponse(datagrams);
    if (!opened) throw new Error('no complete IKE_AUTH response');
    if (opened.header.exchange !== ExchangeType.IKE_AUTH) throw new Error('not an IKE_AUTH response');
    this.nextMessageId = Math.max(this.nextMessageId, opened.header.messageId + 1);
    const notifies = opened.inner.filter((p): p is PayloadOf<'notify'> => p.kind === 'notify');
    const out: EapExchange = { datagrams, inner: opened.inner, notifies };
    const error = notifies.find((n) => isErrorNotify(n.notify))?.notify;
    if (error !== undefined) out.error = error;
    const eap = opened.inner.find((p): p is PayloadOf<'eap'> => p.kind === 'eap');
    if (eap) {
      out.eap = eap.data;
      out.packet = decodeEap(eap.data);
    }
    return out;
  }

  /**
   * The final AUTH after EAP-Success: prf(prf(key, "Key Pad for IKEv2"), InitiatorSignedOctets)
   * with key = the MSK, or SK_pi for methods without one (§2.16). The responder's AUTH is checked
   * with the MSK or SK_pr.
   */
  eapFinalRequest(msk: Uint8Array | undefined, tamper?: (auth: Uint8Array) => Uint8Array): Uint8Array[] {
    const ids = this.eapIds;
    if (!ids) throw new Error('eapStart() first');
    const keys = this.need(this.keys);
    const octets = initiatorSignedOctets(this.need(this.prf), keys.skPi, this.need(this.message1), this.need(this.nr), ids.idi);
    let data = sharedKeyAuth(this.need(this.prf), msk ?? keys.skPi, octets);
    if (tamper) data = tamper(data);
    return this.request(ExchangeType.IKE_AUTH, [{ kind: 'auth', critical: false, method: AuthMethod.SHARED_KEY_MIC, data }]);
  }

  /** Sends the final AUTH and verifies the responder's MSK-based AUTH, CP, SAr2 and TS. */
  async eapFinal(msk: Uint8Array | undefined, tamper?: (auth: Uint8Array) => Uint8Array): Promise<AuthOutcome> {
    const request = this.eapFinalRequest(msk, tamper);
    this.lastRequest = request;
    const datagrams = await this.transmit(request);
    return { ...this.handleEapFinalResponse(datagrams, msk), datagrams };
  }

  handleEapFinalResponse(datagrams: Uint8Array[], msk: Uint8Array | undefined): AuthOutcome {
    const ids = this.eapIds;
    if (!ids?.idr) throw new Error('no IDr from the first EAP response');
    return this.handleAuthResponse(datagrams, this.lastAuth, { key: msk ?? this.need(this.keys).skPr, idr: ids.idr });
  }

  /**
   * The whole EAP authentication: first request without AUTH, EAP rounds through `eapPeer`
   * until EAP-Success or EAP-Failure, then the final AUTH both ways. `ok` only when every AUTH
   * the responder sent verified (its certificate AUTH, unless it granted EAP-only) and no error
   * notify came.
   */
  async authEap(o: EapAuthOptions): Promise<EapAuthOutcome> {
    const first = await this.eapStart(o);
    const out: EapAuthOutcome = { ok: false, first, requests: [], responses: [], eapResult: 'none', eapOnlyGranted: false };
    if (first.error !== undefined) out.error = first.error;
    let eap = first.inner.find((p): p is PayloadOf<'eap'> => p.kind === 'eap')?.data;
    if (!eap) return out;
    // RFC 5998 §3: EAP-only when the responder sent neither CERT nor AUTH.
    out.eapOnlyGranted = first.authMethod === undefined && first.certs.length === 0;
    const maxRounds = o.maxRounds ?? 100;
    for (let round = 0; ; round++) {
      if (round >= maxRounds) throw new Error(`EAP did not finish in ${maxRounds} rounds`);
      const packet = decodeEap(eap);
      if (packet.code === EapCode.SUCCESS || packet.code === EapCode.FAILURE) {
        out.eapResult = packet.code === EapCode.SUCCESS ? 'success' : 'failure';
        break;
      }
      out.requests.push(packet);
      if (o.onRequest?.(packet, round) === 'stop') {
        out.eapResult = 'stopped';
        return out;
      }
      const response = await o.eapPeer.respond(eap);
      out.responses.push(decodeEap(response));
      const x = await this.eapExchange(response);
      out.last = x;
      if (x.error !== undefined) out.error = x.error;
      if (!x.eap) {
        out.eapResult = 'error';
        return out;
      }
      eap = x.eap;
    }
    if (out.eapResult !== 'success') return out;
    const msk = o.eapPeer.msk();
    const final = await this.eapFinal(msk, o.finalAuth);
    out.final = final;
    if (final.error !== undefined) out.error = final.error;
    const firstOk = out.eapOnlyGranted ? o.eapOnly === true : first.authVerified;
    out.ok = firstOk && final.ok;
    return out;
  }

  private eapIds: { idi: IkeIdentity; idr?: IkeIdentity } | undefined;

  // ---- INFORMATIONAL --------------------------------------------------------------------

  /** HDR, SK { inner } --> and the decrypted response (undefined if none came). */
  async informational(inner: Payload[]): Promise<Opened | undefined> {
    const responses = await this.transmit(this.request(ExchangeType.INFORMATIONAL, inner));
    if (responses.length === 0) return undefined;
    const opened = this.openResponse(responses);
    if (opened) this.nextMessageId = Math.max(this.nextMessageId, opened.header.messageId + 1);
    return opened;
  }

  /** D(ESP, our inbound SPI) (RFC 7296 §1.4.1: the sender names its own inbound SPI). */
  static deleteChild(spi: number): PayloadOf<'delete'> {
    return { kind: 'delete', critical: false, protocol: ProtocolId.ESP, spiSize: 4, spis: [u32Bytes(spi)] };
  }

  /** D(IKE) (RFC 7296 §1.4.1). */
  static deleteIke(): PayloadOf<'delete'> {
    return { kind: 'delete', critical: false, protocol: ProtocolId.IKE, spiSize: 0, spis: [] };
  }
}

function parseU16(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push((data[i]! << 8) | data[i + 1]!);
  return out;
}

function ipBytes4(text: string): Uint8Array {
  return new Uint8Array(text.split('.').map(Number));
}

// ---- tampering ------------------------------------------------------------------------------

/** A copy with one bit flipped at `offset` (negative: from the end; -1 is the last ICV byte). */
export function flipBit(bytes: Uint8Array, offset: number, bit = 0): Uint8Array {
  const out = bytes.slice();
  const i = offset < 0 ? out.length + offset : offset;
  out[i]! ^= 1 << bit;
  return out;
}

/** A copy with the header's Message ID replaced (the ICV then no longer matches, unless re-sealed). */
export function withMessageId(bytes: Uint8Array, messageId: number): Uint8Array {
  const out = bytes.slice();
  new DataView(out.buffer, out.byteOffset).setUint32(20, messageId);
  return out;
}

/** The payload chain of an unprotected message (IKE_SA_INIT responses, error notifies). */
export function clearPayloads(bytes: Uint8Array): { header: IkeHeader; payloads: Payload[] } {
  return decodeMessage(bytes);
}

/** The encoded bytes of a payload chain, for building deliberately broken messages. */
export function encodeChain(payloads: Payload[]): { first: number; bytes: Uint8Array } {
  return encodePayloads(payloads);
}
