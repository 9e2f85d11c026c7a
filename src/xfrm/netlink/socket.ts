// Request/response over one netlink socket (after node_netlink lib/netlink.ts): every request
// gets a sequence number and NLM_F_ACK and becomes one promise that settles on the kernel's
// NLMSG_ERROR (error 0 = ACK); dumps collect NLM_F_MULTI parts until NLMSG_DONE. Messages that
// answer no pending request (multicast events: XFRM_MSG_EXPIRE, XFRM_MSG_ACQUIRE, …) go to
// listeners. The socket is the native addon's NetlinkSocket or, in tests, a fake.
import { constants as osConstants } from 'node:os';
import type { NetlinkMessage, NlAttr } from './message.js';
import { encodeMessage, NlmFlags, NlmsgType, parseError, parseMessages } from './message.js';

/** What this layer needs of native/index.d.ts NetlinkSocket (a fake implements it in tests). */
export interface NetlinkTransport {
  readonly portId: number;
  send(message: Uint8Array): void;
  onMessage(callback: (datagram: Buffer) => void): void;
  onError(callback: (error: Error & { code?: string; errno?: number }) => void): void;
  close(): void;
}

export interface NetlinkRequest {
  type: number;
  /** Extra flags (NLM_F_CREATE, NLM_F_EXCL, …); NLM_F_REQUEST and NLM_F_ACK / NLM_F_DUMP are added. */
  flags?: number;
  body: Uint8Array;
  attrs?: readonly NlAttr[];
}

export interface RequestOptions {
  timeoutMs?: number;
}

/**
 * The request channel XfrmDataplane is built on. `request` resolves with the reply messages that
 * came before the ACK (e.g. the NEWSA answering GETSA or ALLOCSPI; none for NEWSA), `dump` with
 * every part of a multipart answer.
 */
export interface NetlinkChannel {
  request(req: NetlinkRequest, opts?: RequestOptions): Promise<NetlinkMessage[]>;
  dump(req: NetlinkRequest, opts?: RequestOptions): Promise<NetlinkMessage[]>;
  /** Messages that answer no request: multicast events. Returns an unsubscribe function. */
  onEvent(listener: (m: NetlinkMessage) => void): () => void;
  /** Socket-level failures, e.g. ENOBUFS (events were lost), undecodable datagrams. */
  onError(listener: (err: Error) => void): () => void;
  close(): void;
}

const ERRNO_NAMES: ReadonlyMap<number, string> = new Map(Object.entries(osConstants.errno).map(([name, n]) => [n, name]));

/** 'EEXIST' for 17, …; `E<n>` for numbers this platform does not name. */
export function errnoName(errno: number): string {
  return ERRNO_NAMES.get(errno) ?? `E${errno}`;
}

/** The kernel refused a request: carries the errno, its name and the extended-ACK text. */
export class NetlinkError extends Error {
  override readonly name = 'NetlinkError';
  readonly code: string;
  constructor(
    readonly errno: number,
    /** The request, e.g. "XFRM_MSG_NEWSA". */
    readonly operation: string,
    /** The kernel's extended-ACK message, when the socket has NETLINK_EXT_ACK. */
    readonly kernelMessage?: string,
  ) {
    super(`${operation} failed: ${errnoName(errno)}${kernelMessage ? ` (${kernelMessage})` : ''}`);
    this.code = errnoName(errno);
  }
}

export class NetlinkTimeoutError extends Error {
  override readonly name = 'NetlinkTimeoutError';
  readonly code = 'ETIMEDOUT';
  constructor(readonly operation: string, readonly timeoutMs: number) {
    super(`${operation}: no answer from the kernel within ${timeoutMs} ms`);
  }
}

export class NetlinkClosedError extends Error {
  override readonly name = 'NetlinkClosedError';
  constructor(readonly operation: string) {
    super(`${operation}: netlink socket closed`);
  }
}

interface Pending {
  operation: string;
  dump: boolean;
  replies: NetlinkMessage[];
  resolve(m: NetlinkMessage[]): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
  /** The encoded request, wiped once answered (it may hold SA keys). */
  bytes: Uint8Array;
}

export interface NetlinkSocketOptions {
  /** Default per-request timeout (ms). */
  timeoutMs?: number;
  /** Names message types for errors ("XFRM_MSG_NEWSA"); numbers otherwise. */
  typeName?: (type: number) => string;
  /** First sequence number (tests pin it; default: derived from the clock like iproute2). */
  firstSeq?: number;
}

export class NetlinkRequestSocket implements NetlinkChannel {
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Set<(m: NetlinkMessage) => void>();
  private readonly errorListeners = new Set<(err: Error) => void>();
  private seq: number;
  private closed = false;
  private readonly timeoutMs: number;
  private readonly typeName: (type: number) => string;
  /** Answers that arrived after their request timed out (dropped). */
  lateReplies = 0;

  constructor(
    private readonly transport: NetlinkTransport,
    opts: NetlinkSocketOptions = {},
  ) {
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.typeName = opts.typeName ?? ((t) => `netlink message ${t}`);
    this.seq = (opts.firstSeq ?? Math.floor(Date.now() / 1000)) >>> 0 || 1;
    transport.onMessage((d) => this.receive(d));
    transport.onError((e) => this.emitError(e));
  }

  request(req: NetlinkRequest, opts?: RequestOptions): Promise<NetlinkMessage[]> {
    return this.start(req, NlmFlags.NLM_F_REQUEST | NlmFlags.NLM_F_ACK | (req.flags ?? 0), false, opts);
  }

  dump(req: NetlinkRequest, opts?: RequestOptions): Promise<NetlinkMessage[]> {
    return this.start(req, NlmFlags.NLM_F_REQUEST | NlmFlags.NLM_F_DUMP | (req.flags ?? 0), true, opts);
  }

  onEvent(listener: (m: NetlinkMessage) => void): () => void {
    this.eventListeners.add(listener);
    return () => this.eventListeners.delete(listener);
  }

  onError(listener: (err: Error) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [seq, p] of this.pending) {
      clearTimeout(p.timer);
      this.pending.delete(seq);
      p.bytes.fill(0);
      p.reject(new NetlinkClosedError(p.operation));
    }
    this.transport.close();
  }

  /** Requests still waiting for the kernel (for tests and diagnostics). */
  get inFlight(): number {
    return this.pending.size;
  }

  private nextSeq(): number {
    do {
      this.seq = (this.seq + 1) >>> 0;
    } while (this.seq === 0 || this.pending.has(this.seq));
    return this.seq;
  }

  private start(req: NetlinkRequest, flags: number, dump: boolean, opts?: RequestOptions): Promise<NetlinkMessage[]> {
    const operation = this.typeName(req.type);
    if (this.closed) return Promise.reject(new NetlinkClosedError(operation));
    const seq = this.nextSeq();
    const bytes = encodeMessage({ type: req.type, flags, seq, body: req.body, ...(req.attrs ? { attrs: req.attrs } : {}) });
    const timeoutMs = opts?.timeoutMs ?? this.timeoutMs;
    return new Promise<NetlinkMessage[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq);
        bytes.fill(0);
        reject(new NetlinkTimeoutError(operation, timeoutMs));
      }, timeoutMs);
      this.pending.set(seq, { operation, dump, replies: [], resolve, reject, timer, bytes });
      try {
        this.transport.send(bytes);
      } catch (err) {
        clearTimeout(timer);
        this.pending.delete(seq);
        bytes.fill(0);
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  }

  private receive(datagram: Uint8Array): void {
    let messages: NetlinkMessage[];
    try {
      messages = parseMessages(datagram);
    } catch (err) {
      this.emitError(err instanceof Error ? err : new Error(String(err)));
      return;
    }
    for (const m of messages) this.dispatch(m);
  }

  private dispatch(m: NetlinkMessage): void {
    // Answers are unicast to our port id with our sequence number; multicast notifications carry
    // pid 0 (kernel events) or the pid field of whichever request caused them.
    const p = m.pid === this.transport.portId ? this.pending.get(m.seq) : undefined;
    if (!p) {
      if (m.pid === this.transport.portId && m.seq !== 0 && (m.type === NlmsgType.NLMSG_ERROR || m.type === NlmsgType.NLMSG_DONE)) {
        this.lateReplies++;
        return;
      }
      for (const l of this.eventListeners) l(m);
      return;
    }
    if (m.type === NlmsgType.NLMSG_ERROR) {
      let ack;
      try {
        ack = parseError(m);
      } catch (err) {
        return this.settle(m.seq, p, err instanceof Error ? err : new Error(String(err)));
      }
      return this.settle(m.seq, p, ack.errno === 0 ? undefined : new NetlinkError(ack.errno, p.operation, ack.message));
    }
    if (m.type === NlmsgType.NLMSG_DONE) {
      // A dump's end; its payload is an int error (non-zero when the dump was aborted).
      const err = m.payload.length >= 4 ? -new DataView(m.payload.buffer, m.payload.byteOffset, 4).getInt32(0, true) : 0;
      return this.settle(m.seq, p, err > 0 ? new NetlinkError(err, p.operation) : undefined);
    }
    if (m.type === NlmsgType.NLMSG_NOOP) return;
    if (m.type === NlmsgType.NLMSG_OVERRUN) return this.settle(m.seq, p, new NetlinkError(osConstants.errno.ENOBUFS, p.operation, 'NLMSG_OVERRUN'));
    p.replies.push({ ...m, payload: m.payload.slice() });
    // A non-multipart reply to a dump is complete by itself.
    if (p.dump && !(m.flags & NlmFlags.NLM_F_MULTI)) this.settle(m.seq, p, undefined);
  }

  private settle(seq: number, p: Pending, err: Error | undefined): void {
    clearTimeout(p.timer);
    this.pending.delete(seq);
    // The kernel has answered, so it is done with the request: wipe the keys it may hold.
    p.bytes.fill(0);
    if (err) p.reject(err);
    else p.resolve(p.replies);
  }

  private emitError(err: Error): void {
    for (const l of this.errorListeners) l(err);
  }
}
