// The IKEv2 responder engine (RFC 7296): takes datagrams, keeps the IKE_SA table, runs each
// exchange and sends responses through the ports. Bad input never escapes receive(): it is
// dropped or answered as RFC 7296 §2.21 says, with the reason logged (rate-limited), and no
// other SA is touched. Work for one SA runs strictly in order through that SA's queue.
import { createHash } from 'node:crypto';
import { bytesEqual, toHex } from '../crypto/bytes.js';
import { RateLimitedLog } from '../log/logger.js';
import { formatEndpoint, type Endpoint } from '../net/endpoint.js';
import type { GatewayConfig } from '../policy/policy.js';
import type { PoolSet } from '../policy/pool.js';
import { CookieJar } from './admission.js';
import { decodeHeader, type IkeHeader } from './codec/header.js';
import { decodePayloads } from './codec/message.js';
import { notify } from './codec/payloads/notify.js';
import { logIkeMessage } from '../log/message-log.js';
import type { Payload, PayloadOf } from './codec/payload.js';
import { Reader } from './codec/reader.js';
import { ExchangeType, HeaderFlag, IKE_MAJOR_VERSION, NotifyType, PayloadType, exchangeName, notifyName } from './constants.js';
import { DecodeError, IkeError } from './errors.js';
import { handleIkeSaInit, sendUnprotectedError } from './exchanges/ike-sa-init.js';
import { handleIkeAuth } from './exchanges/ike-auth.js';
import { handleInformational } from './exchanges/informational.js';
import { handleCreateChildSa } from './exchanges/create-child-sa.js';
import type { EngineContext, Inbound } from './exchanges/context.js';
import { teardownIkeSa } from './exchanges/steps/teardown.js';
import { scheduleIkeLifetimes, watchDataplaneExpiry } from './exchanges/rekey/lifetimes.js';
import { followPeer } from './exchanges/mobike.js';
import { ReassemblyBudget, addFragment } from './protect/fragments.js';
import { openBody, sealFragmented, sealMessage, counterIv, type SealContext } from './protect/sk.js';
import type { Datagram, EnginePorts } from './ports.js';
import { ownInitiatorFlag, ownSkKeys, peerSkKeys, type IkeSa } from './sa/ike-sa.js';
import { summarise, type IkeSaSummary } from './sa/summary.js';

/** Default IKE fragment size (RFC 7383 §2.5.1 suggests 1280 for IPv6, 576 minimum for IPv4). */
const DEFAULT_FRAGMENT_SIZE = 1280;
/** How long a deleted SA keeps answering retransmits of its last request. */
const RETIRED_LINGER_MS = 30_000;

export class IkeEngine {
  readonly sas = new Map<string, IkeSa>();
  /** Half-open SAs by initiator SPI + peer endpoint, to recognise retransmitted IKE_SA_INIT requests. */
  readonly halfOpen = new Map<string, IkeSa>();
  private serial = 0;
  private readonly junkLog = new RateLimitedLog(10_000);
  /** Bytes held in IKE fragment reassembly across all SAs (RFC 7383 §5: bounded, oldest dropped). */
  readonly reassemblyBudget = new ReassemblyBudget();
  private readonly ctx: EngineContext;
  private closed = false;

  constructor(
    readonly config: GatewayConfig,
    readonly ports: EnginePorts,
    readonly pools: PoolSet,
  ) {
    this.ctx = {
      config,
      ports,
      pools,
      cookies: new CookieJar(ports.rng, ports.clock.now()),
      engine: this,
    };
    // Kernel soft/hard expires of CHILD_SAs start a rekey or a delete (RFC 7296 §2.8).
    watchDataplaneExpiry(this.ctx);
  }

  nextSerial(): number {
    return ++this.serial;
  }

  halfOpenCount(): number {
    return this.halfOpen.size;
  }

  /** Entry point for every datagram. Never throws. */
  async receive(d: Datagram): Promise<void> {
    if (this.closed) return;
    try {
      await this.dispatch(d);
    } catch (err) {
      // A bug, not bad input: log it loudly; the daemon and the other SAs carry on.
      this.ports.log.error({ err, peer: formatEndpoint(d.remote) }, 'internal error while handling a datagram');
    }
  }

  private drop(d: Datagram, reason: string, detail?: Record<string, unknown>): void {
    const key = `${d.remote.address}:${reason}`;
    const suppressed = this.junkLog.admit(key, this.ports.clock.now());
    if (suppressed === undefined) return;
    this.ports.log.info({ peer: formatEndpoint(d.remote), reason, ...detail, ...(suppressed ? { suppressed } : {}) }, `dropped datagram from ${formatEndpoint(d.remote)}: ${reason}`);
  }

  private async dispatch(d: Datagram): Promise<void> {
    let header: IkeHeader;
    try {
      header = decodeHeader(d.bytes);
    } catch (err) {
      this.drop(d, err instanceof DecodeError ? err.message : 'undecodable header');
      return;
    }
    if (header.length !== d.bytes.length) {
      this.drop(d, `IKE header length ${header.length} does not match datagram length ${d.bytes.length}`);
      return;
    }
    const isResponse = (header.flags & HeaderFlag.RESPONSE) !== 0;
    if (header.majorVersion !== IKE_MAJOR_VERSION) {
      // RFC 7296 §2.5: drop, and answer a request with INVALID_MAJOR_VERSION (version 2.0).
      this.drop(d, `IKE major version ${header.majorVersion}`);
      if (!isResponse) sendUnprotectedError(this.ctx, d, header, NotifyType.INVALID_MAJOR_VERSION, new Uint8Array(0));
      return;
    }
    if (header.exchange === ExchangeType.IKE_SA_INIT && !isResponse && bytesEqual(header.rspi, ZERO_SPI)) {
      const retransmitOf = this.halfOpen.get(halfOpenKey(header.ispi, d.remote));
      if (retransmitOf) {
        await this.onSa(retransmitOf, () => this.retransmitInit(retransmitOf, d));
        return;
      }
      await handleIkeSaInit(this.ctx, d, header);
      return;
    }
    // The I flag tells which SPI is ours (RFC 7296 §3.1): we are the original responder of every
    // SA except those we created by rekeying them ourselves (§2.18), where the peer sends I=0.
    const peerInitiated = (header.flags & HeaderFlag.INITIATOR) !== 0;
    const sa = this.sas.get(toHex(peerInitiated ? header.rspi : header.ispi));
    if (sa && (sa.weInitiated === true) === peerInitiated) {
      this.drop(d, `${isResponse ? 'response' : 'request'} with the wrong Initiator flag`);
      return;
    }
    if (!sa || !bytesEqual(sa.ispi, header.ispi) || !bytesEqual(sa.rspi, header.rspi)) {
      // RFC 7296 §2.21.4: an INVALID_IKE_SPI notify MAY be sent; without a rate limit it is a reflector, so we only log.
      this.drop(d, `unknown IKE_SA ${toHex(header.ispi)}_i ${toHex(header.rspi)}_r`);
      return;
    }
    await this.onSa(sa, () => this.handleForSa(sa, d, header, isResponse));
  }

  /** Runs fn after everything already queued for this SA. */
  onSa(sa: IkeSa, fn: () => Promise<void> | void): Promise<void> {
    const run = sa.queue.then(fn).catch(async (err: unknown) => {
      // A bug, not bad input (architecture §9.3): the SA's state can no longer be trusted, so it
      // goes, with its dataplane state; every other SA carries on.
      sa.log.error({ err }, `internal error in IKE_SA ${sa.label}: deleting it`);
      await teardownIkeSa(this.ctx, sa, 'internal error').catch((e: unknown) => sa.log.error({ err: e }, 'teardown after internal error failed'));
    });
    sa.queue = run;
    return run;
  }

  private async retransmitInit(sa: IkeSa, d: Datagram): Promise<void> {
    if (!bytesEqual(sa.init.request, d.bytes)) {
      this.drop(d, 'IKE_SA_INIT request with a known SPI but different content');
      return;
    }
    sa.log.info(`retransmitting IKE_SA_INIT response to ${formatEndpoint(d.remote)}`);
    this.ports.transport.send({ bytes: sa.init.response, local: d.local, remote: d.remote });
  }

  private async handleForSa(sa: IkeSa, d: Datagram, header: IkeHeader, isResponse: boolean): Promise<void> {
    if (sa.phase === 'dead') {
      // A retired SA only answers retransmits of its last request (e.g. AUTHENTICATION_FAILED).
      if (!isResponse && header.messageId === sa.expectedRequestId - 1) this.resendCached(sa, d, header, fragmentNumberOf(d.bytes, header));
      return;
    }
    if (isResponse) {
      await this.handleResponse(sa, d, header);
      return;
    }
    if (header.messageId < sa.expectedRequestId - 1 || header.messageId > sa.expectedRequestId) {
      this.drop(d, `message ID ${header.messageId} outside the window (expected ${sa.expectedRequestId})`);
      return;
    }
    const envelope = this.envelope(d, header);
    if (!envelope) return;
    const { outer, last } = envelope;
    if (header.messageId === sa.expectedRequestId - 1) {
      this.resendCached(sa, d, header, last.kind === 'skf' ? last.fragmentNumber : 1);
      return;
    }
    const opened = this.openProtected(sa, d, header, last, 'request');
    if (opened.kind === 'drop' || opened.kind === 'incomplete') return;
    if (opened.kind === 'malformed') {
      // Authenticated but malformed: RFC 7296 §2.21.2 INVALID_SYNTAX, and the SA is deleted.
      sa.log.warn({ reason: opened.reason }, `malformed ${exchangeName(header.exchange)} request ${header.messageId}: ${opened.reason}`);
      this.respond(sa, d, header, [notify(NotifyType.INVALID_SYNTAX)]);
      await teardownIkeSa(this.ctx, sa, `invalid syntax: ${opened.reason}`);
      return;
    }
    const inner = opened.inner;
    const digest = last.kind === 'skf' && sa.firstFragmentDigest ? sa.firstFragmentDigest : digestOf(d.bytes);
    // The clear payloads include the SK/SKF envelope: checkRules() insists on it for protected exchanges.
    const inbound: Inbound = { datagram: d, header, outer, inner, digest };
    logIkeMessage(sa.log, 'received', header, outer, inner, d.remote);
    sa.expectedRequestId = header.messageId + 1;
    sa.lastInboundAt = this.ports.clock.now();
    // Only authenticated messages may move the peer's address (RFC 7296 §2.23: NAT mapping changes).
    await followPeer(this.ctx, sa, d);
    await this.runExchange(sa, inbound);
  }

  /** Decodes the clear payload chain of a protected message; it must end in SK or SKF. */
  private envelope(d: Datagram, header: IkeHeader): { outer: Payload[]; last: PayloadOf<'sk'> | PayloadOf<'skf'> } | undefined {
    let outer: Payload[];
    try {
      outer = decodePayloads(header.nextPayload, new Reader(d.bytes.subarray(28), 'payloads', 28));
    } catch (err) {
      this.drop(d, err instanceof DecodeError ? err.message : String(err));
      return undefined;
    }
    const last = outer[outer.length - 1];
    if (!last || (last.kind !== 'sk' && last.kind !== 'skf')) {
      this.drop(d, `${exchangeName(header.exchange)} ${isResponseHeader(header) ? 'response' : 'request'} without an Encrypted payload`);
      return undefined;
    }
    return { outer, last };
  }

  /**
   * Verifies and decrypts the SK/SKF payload of a message from the peer (which, as the original
   * initiator, always protects with SK_ei/SK_ai), reassembling RFC 7383 fragments per direction.
   */
  private openProtected(
    sa: IkeSa,
    d: Datagram,
    header: IkeHeader,
    last: PayloadOf<'sk'> | PayloadOf<'skf'>,
    direction: 'request' | 'response',
  ): { kind: 'drop' } | { kind: 'incomplete' } | { kind: 'malformed'; reason: string } | { kind: 'ok'; inner: Payload[] } {
    const plain = openBody(sa.protector, peerSkKeys(sa), d.bytes, last.body);
    if (!plain) {
      // RFC 7296 §2.21.2 / strongSwan: an integrity failure is dropped without a reply.
      this.drop(d, `integrity check failed for ${exchangeName(header.exchange)} ${direction} ${header.messageId}`);
      return { kind: 'drop' };
    }
    let firstInner = last.firstInner;
    let innerBytes = plain;
    if (last.kind === 'skf') {
      const slot = direction === 'request' ? 'reassembly' : 'responseReassembly';
      const { state, result } = addFragment(sa[slot], {
        messageId: header.messageId,
        number: last.fragmentNumber,
        total: last.totalFragments,
        firstInner: last.firstInner,
        data: plain,
      });
      sa[slot] = state;
      this.reassemblyBudget.update(`${sa.id}/${slot}`, state, () => {
        if (sa[slot] === state) sa[slot] = undefined;
        this.ports.log.warn({ ike: sa.label, held: this.reassemblyBudget.bytes }, `dropped the partial IKE message reassembly of ${sa.label}: global reassembly limit reached`);
      });
      if (direction === 'request' && last.fragmentNumber === 1) sa.firstFragmentDigest = digestOf(d.bytes);
      if (result.kind === 'rejected') {
        this.drop(d, `IKE fragment rejected: ${result.reason}`);
        return { kind: 'drop' };
      }
      if (result.kind === 'incomplete') return { kind: 'incomplete' };
      firstInner = result.firstInner;
      innerBytes = result.inner;
    }
    try {
      return { kind: 'ok', inner: decodePayloads(firstInner, new Reader(innerBytes, 'encrypted payloads')) };
    } catch (err) {
      return { kind: 'malformed', reason: err instanceof DecodeError ? err.message : String(err) };
    }
  }

  private sendDeleteOnce(sa: IkeSa): void {
    const header = { ispi: sa.ispi, rspi: sa.rspi, majorVersion: IKE_MAJOR_VERSION, minorVersion: 0, exchange: ExchangeType.INFORMATIONAL, flags: ownInitiatorFlag(sa), messageId: sa.nextOwnRequestId++ };
    const inner: Payload[] = [{ kind: 'delete', critical: false, protocol: 1, spiSize: 0, spis: [] }];
    logIkeMessage(sa.log, 'sending', header, 'encrypted', inner, sa.remote);
    this.ports.transport.send({ bytes: sealMessage(this.sealContext(sa), header, inner), local: sa.local, remote: sa.remote });
  }

  /** A response to one of our own requests (liveness checks, deletes). */
  private async handleResponse(sa: IkeSa, d: Datagram, header: IkeHeader): Promise<void> {
    const pending = sa.pendingRequest;
    if (!pending || pending.messageId !== header.messageId || pending.exchange !== header.exchange) {
      this.drop(d, `unexpected ${exchangeName(header.exchange)} response ${header.messageId}`);
      return;
    }
    const envelope = this.envelope(d, header);
    if (!envelope) return;
    const opened = this.openProtected(sa, d, header, envelope.last, 'response');
    if (opened.kind === 'drop' || opened.kind === 'incomplete') return;
    pending.cancelTimer();
    sa.pendingRequest = undefined;
    sa.lastInboundAt = this.ports.clock.now();
    if (opened.kind === 'malformed') {
      sa.log.warn(`malformed ${exchangeName(header.exchange)} response ${header.messageId}: ${opened.reason}`);
      await pending.onDone({ kind: 'failed', reason: opened.reason });
    } else {
      logIkeMessage(sa.log, 'received', header, envelope.outer, opened.inner, d.remote);
      await followPeer(this.ctx, sa, d);
      await pending.onDone({ kind: 'response', inner: opened.inner });
    }
    this.sendNextQueued(sa);
  }

  /**
   * Starts an exchange as the requester (RFC 7296 §2.1-2.3: one request outstanding, message
   * IDs of our own, retransmitted on an exponential schedule). `onDone` runs in the SA's queue
   * with the response, or with a timeout once every retransmission went unanswered.
   */
  startRequest(sa: IkeSa, exchange: number, inner: Payload[], onDone: (r: RequestResult) => Promise<void> | void): void {
    sa.outbox.push({ exchange, inner, onDone });
    if (!sa.pendingRequest) this.sendNextQueued(sa);
  }

  private sendNextQueued(sa: IkeSa): void {
    const next = sa.outbox.shift();
    if (!next || sa.phase === 'dead') return;
    const messageId = sa.nextOwnRequestId++;
    const header = { ispi: sa.ispi, rspi: sa.rspi, majorVersion: IKE_MAJOR_VERSION, minorVersion: 0, exchange: next.exchange, flags: ownInitiatorFlag(sa), messageId };
    const conn = sa.conn ?? sa.candidates[0];
    const ctx = this.sealContext(sa);
    const datagrams =
      sa.peerSupportsFragmentation && conn?.fragmentation !== 'no'
        ? sealFragmented(ctx, header, next.inner, this.fragmentPayloadLimit(sa, conn?.fragmentSize))
        : [sealMessage(ctx, header, next.inner)];
    const { retransmitTimeout, retransmitBase, retransmitTries } = this.config.daemon;
    let attempt = 0;
    const transmit = () => {
      logIkeMessage(sa.log, attempt === 0 ? 'sending' : `retransmit ${attempt} of`, header, 'encrypted', next.inner, sa.remote);
      for (const bytes of datagrams) this.ports.transport.send({ bytes, local: sa.local, remote: sa.remote });
      sa.lastOutboundAt = this.ports.clock.now();
      const wait = retransmitTimeout * 1000 * retransmitBase ** attempt;
      attempt++;
      pending.cancelTimer = this.ports.clock.setTimer(wait, () => {
        void this.onSa(sa, async () => {
          if (sa.pendingRequest !== pending) return;
          if (attempt <= retransmitTries) return transmit();
          sa.pendingRequest = undefined;
          sa.log.warn(`giving up on ${exchangeName(next.exchange)} request ${messageId} after ${retransmitTries} retransmits`);
          await next.onDone({ kind: 'timeout' });
          this.sendNextQueued(sa);
        });
      });
    };
    const pending: PendingRequest = { messageId, exchange: next.exchange, onDone: next.onDone, cancelTimer: () => undefined };
    sa.pendingRequest = pending;
    transmit();
  }

  private async runExchange(sa: IkeSa, m: Inbound): Promise<void> {
    try {
      switch (m.header.exchange) {
        case ExchangeType.IKE_AUTH:
          await handleIkeAuth(this.ctx, sa, m);
          return;
        case ExchangeType.INFORMATIONAL:
          await handleInformational(this.ctx, sa, m);
          return;
        case ExchangeType.CREATE_CHILD_SA:
          await handleCreateChildSa(this.ctx, sa, m);
          return;
        default:
          throw new IkeError(NotifyType.INVALID_SYNTAX, `unexpected exchange ${exchangeName(m.header.exchange)} in phase ${sa.phase}`);
      }
    } catch (err) {
      if (!(err instanceof IkeError)) throw err;
      sa.log.warn({ notify: notifyName(err.notify), reason: err.message }, `${exchangeName(m.header.exchange)} request ${m.header.messageId} failed: ${err.message}`);
      if (err.notify === NotifyType.AUTHENTICATION_FAILED) this.ports.events?.authFailed?.({ remote: formatEndpoint(sa.remote), reason: err.message });
      this.respond(sa, m.datagram, m.header, [notify(err.notify, err.data)], m.digest);
      // Before authentication every failure ends the SA; afterwards INVALID_SYNTAX does too
      // (architecture §9.3, strongSwan send_invalid_syntax): an authenticated peer sending
      // illegal messages is broken, and the SA's state can no longer be trusted.
      if (sa.phase !== 'established' || err.notify === NotifyType.INVALID_SYNTAX) await teardownIkeSa(this.ctx, sa, err.message);
    }
  }

  private resendCached(sa: IkeSa, d: Datagram, header: IkeHeader, fragmentNumber: number): void {
    const cached = sa.lastResponse;
    if (!cached || cached.messageId !== header.messageId) {
      // Still processing the request (e.g. waiting for a certificate check): the response will follow.
      return;
    }
    // RFC 7383 §2.6.1: answer a fragmented retransmit once, on its first fragment, not per fragment;
    // and only a byte-identical request, so forged datagrams cannot make us resend.
    if (fragmentNumber !== 1 || !bytesEqual(digestOf(d.bytes), cached.requestDigest)) return;
    sa.log.info(`retransmitting ${exchangeName(header.exchange)} response ${header.messageId} (${cached.datagrams.length} datagram(s))`);
    for (const bytes of cached.datagrams) this.ports.transport.send({ bytes, local: d.local, remote: d.remote });
    sa.lastOutboundAt = this.ports.clock.now();
  }

  sealContext(sa: IkeSa): SealContext {
    const aead = sa.protector.integKeyLength === 0;
    return {
      protector: sa.protector,
      keys: ownSkKeys(sa),
      rng: this.ports.rng,
      nextIv: aead ? () => counterIv(++sa.ivCounter, sa.protector.ivLength) : () => this.ports.rng.bytes(sa.protector.ivLength),
    };
  }

  /** Seals and sends a response to request `header`, fragmenting when the peer supports it, and caches it. */
  respond(sa: IkeSa, d: Datagram, header: IkeHeader, inner: Payload[], requestDigest = digestOf(d.bytes)): void {
    const h = {
      ispi: sa.ispi,
      rspi: sa.rspi,
      majorVersion: IKE_MAJOR_VERSION,
      minorVersion: 0,
      exchange: header.exchange,
      flags: HeaderFlag.RESPONSE | ownInitiatorFlag(sa),
      messageId: header.messageId,
    };
    const ctx = this.sealContext(sa);
    const conn = sa.conn ?? sa.candidates[0];
    const useFragments = sa.peerSupportsFragmentation && conn?.fragmentation !== 'no';
    const datagrams = useFragments
      ? sealFragmented(ctx, h, inner, this.fragmentPayloadLimit(sa, conn?.fragmentSize))
      : [sealMessage(ctx, h, inner)];
    sa.lastResponse = { messageId: header.messageId, requestDigest, datagrams };
    const fragNote = datagrams.length > 1 ? ` in ${datagrams.length} fragments` : '';
    logIkeMessage(sa.log, 'sending', h, 'encrypted', inner, d.remote, fragNote);
    for (const bytes of datagrams) this.ports.transport.send({ bytes, local: d.local, remote: d.remote });
    sa.lastOutboundAt = this.ports.clock.now();
  }

  /** IKE message bytes per fragment: the configured IP datagram size less IP, UDP and non-ESP-marker headers. */
  private fragmentPayloadLimit(sa: IkeSa, configured: number | undefined): number {
    const ipUdp = (sa.remote.family === 6 ? 40 : 20) + 8 + (sa.local.port === 500 ? 0 : 4);
    return (configured && configured > 0 ? configured : DEFAULT_FRAGMENT_SIZE) - ipUdp;
  }

  register(sa: IkeSa): void {
    this.sas.set(sa.id, sa);
    // Remembered on the SA: its address may move (NAT-T float to 4500) before it leaves the table.
    sa.halfOpenKey = halfOpenKey(sa.ispi, sa.remote);
    this.halfOpen.set(sa.halfOpenKey, sa);
  }

  /**
   * Retires a dead SA (its dataplane state and leases must already be gone). It stays findable
   * for a while only to answer retransmits of its last request from the cache, so a client whose
   * AUTHENTICATION_FAILED response was lost still learns why (RFC 7296 §2.1).
   */
  unregister(sa: IkeSa): void {
    sa.pendingRequest?.cancelTimer();
    sa.pendingRequest = undefined;
    sa.outbox = [];
    this.reassemblyBudget.release(`${sa.id}/`);
    this.leaveHalfOpen(sa);
    for (const cancel of sa.timers.values()) cancel();
    sa.timers.clear();
    if (!sa.lastResponse || this.closed) {
      this.sas.delete(sa.id);
      return;
    }
    sa.timers.set(
      'linger',
      this.ports.clock.setTimer(RETIRED_LINGER_MS, () => {
        if (this.sas.get(sa.id) === sa) this.sas.delete(sa.id);
      }),
    );
  }

  private leaveHalfOpen(sa: IkeSa): void {
    if (sa.halfOpenKey !== undefined && this.halfOpen.get(sa.halfOpenKey) === sa) this.halfOpen.delete(sa.halfOpenKey);
  }

  /** Called when IKE_AUTH completes: the SA is no longer half-open. */
  markEstablished(sa: IkeSa): void {
    this.leaveHalfOpen(sa);
    const cancel = sa.timers.get('half-open');
    cancel?.();
    sa.timers.delete('half-open');
    scheduleIkeLifetimes(this.ctx, sa);
  }

  listSas(): IkeSaSummary[] {
    return [...this.sas.values()].filter((sa) => sa.phase !== 'dead').map((sa) => summarise(sa, this.ports.clock.now()));
  }

  /** listSas() plus each CHILD_SA's traffic counters and last use, asked of the dataplane. */
  async listSasWithUsage(): Promise<IkeSaSummary[]> {
    const live = [...this.sas.values()].filter((sa) => sa.phase !== 'dead');
    const now = this.ports.clock.now();
    return Promise.all(
      live.map(async (sa) => {
        const summary = summarise(sa, now);
        await Promise.all(
          sa.children.map(async (child, i) => {
            const [inId, outId] = child.installedSas;
            const query = (id: typeof inId) => (id ? this.ports.dataplane.querySa(id).catch(() => undefined) : Promise.resolve(undefined));
            const [inbound, outbound] = await Promise.all([query(inId), query(outId)]);
            const target = summary.children[i];
            if (!target) return;
            if (inbound) target.usageIn = inbound;
            if (outbound) target.usageOut = outbound;
          }),
        );
        return summary;
      }),
    );
  }

  /** Stops accepting datagrams and removes every SA's dataplane state. */
  async close(reason: string): Promise<void> {
    this.closed = true;
    const all = [...this.sas.values()].filter((sa) => sa.phase !== 'dead');
    // Tell every authenticated peer we are going (RFC 7296 §1.4.1), once, without waiting for
    // answers: a stopping gateway must not hang on unreachable clients.
    for (const sa of all) if (sa.phase === 'established') this.sendDeleteOnce(sa);
    await Promise.all(all.map((sa) => this.onSa(sa, () => teardownIkeSa(this.ctx, sa, reason))));
    for (const sa of this.sas.values()) for (const cancel of sa.timers.values()) cancel();
    this.sas.clear();
  }

}

export const ZERO_SPI = new Uint8Array(8);

export type RequestResult = { kind: 'response'; inner: Payload[] } | { kind: 'timeout' } | { kind: 'failed'; reason: string };

export interface PendingRequest {
  messageId: number;
  exchange: number;
  onDone: (r: RequestResult) => Promise<void> | void;
  cancelTimer: () => void;
}

export interface QueuedRequest {
  exchange: number;
  inner: Payload[];
  onDone: (r: RequestResult) => Promise<void> | void;
}

function isResponseHeader(h: IkeHeader): boolean {
  return (h.flags & HeaderFlag.RESPONSE) !== 0;
}

/** The fragment number of an SKF datagram, or 1 for anything else (cheap: no full decode). */
function fragmentNumberOf(bytes: Uint8Array, header: IkeHeader): number {
  if (header.nextPayload !== PayloadType.SKF || bytes.length < 36) return 1;
  return (bytes[32]! << 8) | bytes[33]!;
}

export function halfOpenKey(ispi: Uint8Array, remote: Endpoint): string {
  return `${toHex(ispi)}@${remote.address}:${remote.port}`;
}

function digestOf(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(bytes).digest());
}

