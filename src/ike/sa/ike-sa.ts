// The IKE_SA record (RFC 7296 §1, §2.3): SPIs, endpoints, keys, message-ID windows, identities,
// virtual IPs and CHILD_SAs. Lifecycle phases move only through transition(), which logs
// "A -> B" with the reason, so every SA's history can be read from the log.
import type { Prf, SkProtector } from '../../crypto/suite.js';
import type { Logger } from '../../log/logger.js';
import type { Endpoint } from '../../net/endpoint.js';
import type { Connection, ChildConfig, IkeIdentity } from '../../policy/policy.js';
import type { PolicySpec, SaId } from '../../xfrm/dataplane.js';
import type { IkeKeys } from './keymat-types.js';
import type { Reassembly } from '../protect/fragments.js';
import type { EapConversation } from '../../eap/conversation.js';
import type { LocalCredential } from '../../credentials/store.js';
import type { Payload } from '../codec/payload.js';
import type { PendingRequest, QueuedRequest } from '../engine.js';

export type IkePhase = 'half-open' | 'authenticating' | 'established' | 'deleting' | 'dead';

const ALLOWED: Readonly<Record<IkePhase, readonly IkePhase[]>> = {
  'half-open': ['authenticating', 'established', 'deleting', 'dead'],
  authenticating: ['established', 'deleting', 'dead'],
  established: ['deleting', 'dead'],
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

export interface ChildSa {
  name: string;
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
}

export function transition(sa: IkeSa, next: IkePhase, reason: string): void {
  if (sa.phase === next) return;
  if (!ALLOWED[sa.phase].includes(next)) {
    throw new Error(`IKE_SA ${sa.label}: illegal transition ${sa.phase} -> ${next} (${reason})`);
  }
  sa.log.info({ from: sa.phase, to: next, reason }, `IKE_SA ${sa.label} ${sa.phase} -> ${next}: ${reason}`);
  sa.phase = next;
}
