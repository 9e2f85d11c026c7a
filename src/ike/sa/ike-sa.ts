// The IKE_SA record (RFC 7296 §1, §2.3): SPIs, endpoints, keys, message-ID windows, identities,
// virtual IPs and CHILD_SAs. Lifecycle phases move only through transition(), which logs
// "A -> B" with the reason, so every SA's history can be read from the log.
import type { Prf, SkProtector } from '../../crypto/suite.js';
import type { Logger } from '../../log/logger.js';
import type { Endpoint } from '../../net/endpoint.js';
import type { Connection, ChildConfig, IkeIdentity } from '../../policy/policy.js';
import type { PolicySpec, SaId, SaSpec } from '../../xfrm/dataplane.js';
import type { TrafficSelector } from '../codec/payload.js';
import type { IkeKeys } from './keymat-types.js';
import type { Reassembly } from '../protect/fragments.js';
import type { EapConversation } from '../../eap/conversation.js';
import type { LocalCredential } from '../../credentials/store.js';
import type { Payload } from '../codec/payload.js';
import type { PendingRequest, QueuedRequest } from '../engine.js';
import type { OwnIkeRekey } from '../exchanges/rekey/ike-rekey.js';

/**
 * 'rekeyed': replaced by a new IKE_SA (RFC 7296 §2.18) that took over its children, leases and
 * virtual IPs; it only waits for its own deletion, which must not touch what it handed over.
 */
export type IkePhase = 'half-open' | 'authenticating' | 'established' | 'rekeyed' | 'deleting' | 'dead';

const ALLOWED: Readonly<Record<IkePhase, readonly IkePhase[]>> = {
  'half-open': ['authenticating', 'established', 'deleting', 'dead'],
  authenticating: ['established', 'deleting', 'dead'],
  established: ['rekeyed', 'deleting', 'dead'],
  rekeyed: ['deleting', 'dead'],
  deleting: ['dead'],
  dead: [],
};

export interface NegotiatedIke {
  encr: { id: number; keyBits?: number };
  prf: number;
  integ?: number;
  ke: number;
  /** strongSwan-style text, e.g. AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024. */
  text: string;
}

export interface EapState {
  conversation: EapConversation;
  /** Inner payloads of the first IKE_AUTH request: its SA, TS and CP are answered at the end. */
  firstInner: Payload[];
  cred: LocalCredential | undefined;
  /** Set on EAP-Success: the final AUTH is computed from the MSK (or SK_pi/SK_pr without one). */
  result?: { msk?: Uint8Array; identity: string; method: string };
}

/**
 * CHILD_SA lifecycle around rekeying (RFC 7296 §2.8, after strongSwan's child_sa states):
 * installed → rekeying (our CREATE_CHILD_SA rekey is outstanding) → rekeyed (a replacement
 * exists; the SA only waits for its Delete, inbound still accepted) → deleting (our Delete is
 * outstanding). Undefined means installed.
 */
export type ChildState = 'installed' | 'rekeying' | 'rekeyed' | 'deleting';

export interface ChildSa {
  name: string;
  state?: ChildState;
  /** The negotiated PFS group of this CHILD_SA (CREATE_CHILD_SA with KE), reused when we rekey it. */
  keGroup?: number;
  /** The narrowed selectors as negotiated (localTs/remoteTs are their text form). */
  selectors?: { local: TrafficSelector[]; remote: TrafficSelector[] };
  /** Rekeyed: the CHILD_SA that replaces this one (it inherits policies and routes on removal). */
  replacedBy?: ChildSa;
  /** Our outbound SA, held back until the peer has switched (responder of a rekey, strongSwan's "registered" outbound). */
  deferredOutbound?: SaSpec;
  /** Absolute times (ms) of the soft (rekey) and hard lifetime, for timers that survive an IKE_SA rekey. */
  rekeyAt?: number;
  expireAt?: number;
  config: ChildConfig;
  reqid: number;
  /** Our inbound SPI (the one we allocated) and the peer's (our outbound). */
  spiIn: number;
  spiOut: number;
  proposal: string;
  localTs: string[];
  remoteTs: string[];
  encap: boolean;
  installedSas: SaId[];
  installedPolicies: PolicySpec[];
  /**
   * The installed SAs in full, keys included: an address change on a dataplane without migrate()
   * re-installs them with the same SPIs and keys (RFC 4555 §3.5). Absent: the CHILD_SA cannot move.
   */
  saSpecs?: SaSpec[];
  routes: string[];
  createdAt: number;
}

/** The last response sent, kept for retransmitted requests (RFC 7296 §2.1). */
export interface CachedResponse {
  messageId: number;
  /** Hash of the request it answers (a retransmit must be the same request). */
  requestDigest: Uint8Array;
  datagrams: Uint8Array[];
}

export interface InitRecord {
  /** RealMessage1: the IKE_SA_INIT request as received (RFC 7296 §2.15). */
  request: Uint8Array;
  /** RealMessage2: our IKE_SA_INIT response as sent. */
  response: Uint8Array;
  ni: Uint8Array;
  nr: Uint8Array;
}

export interface IkeSa {
  /** Key in the engine's half-open table while the SA is in it (initiator SPI + first address). */
  halfOpenKey?: string;
  /** Our SPI as hex: the key in the SA table. */
  readonly id: string;
  /** A short name for logs: connection name + unique number once known. */
  label: string;
  readonly serial: number;
  readonly ispi: Uint8Array;
  readonly rspi: Uint8Array;
  phase: IkePhase;
  local: Endpoint;
  remote: Endpoint;
  /** NAT detected in front of us / in front of the peer (RFC 7296 §2.23). */
  natLocal: boolean;
  natRemote: boolean;
  /** Candidate connections from IKE_SA_INIT (by addresses and proposals); one is chosen in IKE_AUTH. */
  candidates: Connection[];
  conn?: Connection;
  negotiated: NegotiatedIke;
  prf: Prf;
  protector: SkProtector;
  keys: IkeKeys;
  init: InitRecord;
  peerSupportsFragmentation: boolean;
  /** Hash algorithms from the peer's SIGNATURE_HASH_ALGORITHMS, undefined if it sent none. */
  peerHashAlgorithms?: number[];
  peerVendorIds: Uint8Array[];
  /** Message ID of the next request we expect from the peer. */
  expectedRequestId: number;
  lastResponse?: CachedResponse;
  /** Message ID of our next request. */
  nextOwnRequestId: number;
  reassembly?: Reassembly;
  /** Fragments of a response to one of our requests (RFC 7383 reassembly per direction). */
  responseReassembly?: Reassembly;
  /** Our request awaiting its response, and those waiting behind it (window size 1). */
  pendingRequest?: PendingRequest;
  outbox: QueuedRequest[];
  /** When the peer last sent an authenticated message (for liveness checks). */
  lastInboundAt?: number;
  /** When we last sent an IKE message to the peer (NAT-T keepalives are only sent after silence). */
  lastOutboundAt?: number;
  /** MOBIKE negotiated (RFC 4555 §3.2): address changes come only from UPDATE_SA_ADDRESSES. */
  mobike?: boolean;
  /** The peer's other addresses from N(ADDITIONAL_IP4/6_ADDRESS) (RFC 4555 §3.6); [] after N(NO_ADDITIONAL_ADDRESSES). */
  peerAddresses?: string[];
  /** Digest of fragment 1 of the request being reassembled: what a retransmit is compared with. */
  firstFragmentDigest?: Uint8Array;
  localId?: IkeIdentity;
  remoteId?: IkeIdentity;
  /** Subject of the peer certificate, "PSK" or the EAP method and identity, for list-sas. */
  remoteAuth?: string;
  /** An EAP conversation in progress or finished (RFC 7296 §2.16). */
  eap?: EapState;
  eapIdentity?: string;
  eapMethod?: string;
  vips: string[];
  /** Pool leases behind vips, released when the SA goes (the pool keeps them for the identity). */
  leases: { pool: string; key: string; address: Uint8Array }[];
  children: ChildSa[];
  createdAt: number;
  establishedAt?: number;
  log: Logger;
  /** Cancels the SA's timers (half-open timeout etc.). */
  timers: Map<string, () => void>;
  /** Counter for AEAD IVs (RFC 5282 §3.1: an IV must never repeat under one key). */
  ivCounter: bigint;
  /** Serial execution: all work for one SA is chained here (architecture §12.19). */
  queue: Promise<void>;
  /**
   * We are the original initiator of this IKE_SA: true only for an IKE_SA we created by rekeying
   * (RFC 7296 §2.18: the rekey initiator becomes the new SA's initiator). Flips the I flag, the
   * SK_e/SK_a directions and which SPI is ours. Undefined = responder.
   */
  weInitiated?: boolean;
  /** Our own IKE_SA rekey in flight (collision handling, RFC 7296 §2.8.2). */
  ikeRekey?: OwnIkeRekey;
  /** The IKE_SA that replaced this one (phase 'rekeyed'). */
  rekeyedTo?: IkeSa;
}

export function transition(sa: IkeSa, next: IkePhase, reason: string): void {
  if (sa.phase === next) return;
  if (!ALLOWED[sa.phase].includes(next)) {
    throw new Error(`IKE_SA ${sa.label}: illegal transition ${sa.phase} -> ${next} (${reason})`);
  }
  sa.log.info({ from: sa.phase, to: next, reason }, `IKE_SA ${sa.label} ${sa.phase} -> ${next}: ${reason}`);
  sa.phase = next;
}

/** SK_e/SK_a for what we send: SK_er/SK_ar as original responder, SK_ei/SK_ai as initiator (RFC 7296 §2.14). */
export function ownSkKeys(sa: IkeSa): { enc: Uint8Array; integ: Uint8Array } {
  return sa.weInitiated ? { enc: sa.keys.skEi, integ: sa.keys.skAi } : { enc: sa.keys.skEr, integ: sa.keys.skAr };
}

/** SK_e/SK_a for what the peer sends. */
export function peerSkKeys(sa: IkeSa): { enc: Uint8Array; integ: Uint8Array } {
  return sa.weInitiated ? { enc: sa.keys.skEr, integ: sa.keys.skAr } : { enc: sa.keys.skEi, integ: sa.keys.skAi };
}

/** The Initiator flag (0x08) of every message we send in this IKE_SA (RFC 7296 §3.1). */
export function ownInitiatorFlag(sa: IkeSa): number {
  return sa.weInitiated ? 0x08 : 0;
}
