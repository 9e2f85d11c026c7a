// Shared helpers for the XFRM tests: hex, a scripted fake netlink channel.
import type { NetlinkMessage, NlAttr } from '../../../src/xfrm/netlink/message.js';
import { encodeMessage, NlmFlags } from '../../../src/xfrm/netlink/message.js';
import type { NetlinkChannel, NetlinkRequest } from '../../../src/xfrm/netlink/socket.js';

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
export const unhex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));

/** The bytes after the 16-byte nlmsghdr that a request would carry (family header + attributes). */
export function payloadOf(type: number, body: Uint8Array, attrs: readonly NlAttr[] = []): string {
  return hex(encodeMessage({ type, flags: 0, seq: 0, body, attrs }).subarray(16));
}

export interface Recorded {
  kind: 'request' | 'dump';
  type: number;
  flags: number;
  /** Family header + attributes as the kernel would see them. */
  payload: string;
  body: Uint8Array;
  attrs: NlAttr[];
}

/** A NetlinkChannel that records every request and answers from a script. */
export class FakeChannel implements NetlinkChannel {
  readonly sent: Recorded[] = [];
  closed = false;
  private readonly listeners = new Set<(m: NetlinkMessage) => void>();
  constructor(public answer: (r: Recorded) => NetlinkMessage[] | Error = () => []) {}

  private record(kind: Recorded['kind'], req: NetlinkRequest): Recorded {
    // Copy: the dataplane wipes key material after the request settles.
    const attrs = (req.attrs ?? []).map((a) => ({ type: a.type, value: a.value.slice() }));
    const body = req.body.slice();
    const r: Recorded = { kind, type: req.type, flags: req.flags ?? 0, body, attrs, payload: payloadOf(req.type, body, attrs) };
    this.sent.push(r);
    return r;
  }

  async request(req: NetlinkRequest): Promise<NetlinkMessage[]> {
    const a = this.answer(this.record('request', req));
    if (a instanceof Error) throw a;
    return a;
  }

  async dump(req: NetlinkRequest): Promise<NetlinkMessage[]> {
    const a = this.answer(this.record('dump', req));
    if (a instanceof Error) throw a;
    return a;
  }

  onEvent(listener: (m: NetlinkMessage) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onError(): () => void {
    return () => undefined;
  }

  emit(m: NetlinkMessage): void {
    for (const l of this.listeners) l(m);
  }

  close(): void {
    this.closed = true;
  }
}

/** A kernel-style message (as parseMessages returns it) from a family header and attributes. */
export function kernelMessage(type: number, body: Uint8Array, attrs: readonly NlAttr[] = [], seq = 0, pid = 0): NetlinkMessage {
  const bytes = encodeMessage({ type, flags: NlmFlags.NLM_F_MULTI, seq, pid, body, attrs });
  return { type, flags: NlmFlags.NLM_F_MULTI, seq, pid, payload: bytes.subarray(16) };
}
