// RFC 7383 §2.6 reassembly of IKE fragments. Each fragment is authenticated on its own before it
// is stored, so only the peer holding the keys can occupy the buffer; the buffer is bounded in
// fragment count and bytes per SA. Fragments of a message with a larger Total Fragments value
// replace the ones collected so far (§2.6: the peer re-fragmented with a smaller size).
// Across all SAs, a ReassemblyBudget bounds the bytes held: many authenticated peers each
// keeping a partial message must not add up to unbounded memory.

export const MAX_FRAGMENTS = 64;
export const MAX_REASSEMBLY_BYTES = 64 * 1024;
/** Bytes held in partial reassemblies across all SAs before the oldest one is dropped. */
export const MAX_GLOBAL_REASSEMBLY_BYTES = 8 * 1024 * 1024;

export interface Reassembly {
  messageId: number;
  total: number;
  firstInner: number;
  bytes: number;
  parts: (Uint8Array | undefined)[];
}

export type FragmentResult =
  | { kind: 'incomplete' }
  | { kind: 'complete'; firstInner: number; inner: Uint8Array }
  | { kind: 'rejected'; reason: string };

export interface Fragment {
  messageId: number;
  number: number;
  total: number;
  firstInner: number;
  /** Decrypted, unpadded content of this fragment. */
  data: Uint8Array;
}

/** Adds one verified fragment; `state` is the SA's current reassembly (replaced as needed). */
export function addFragment(state: Reassembly | undefined, f: Fragment): { state: Reassembly | undefined; result: FragmentResult } {
  if (f.total < 1 || f.total > MAX_FRAGMENTS) return { state, result: { kind: 'rejected', reason: `total fragments ${f.total} outside 1..${MAX_FRAGMENTS}` } };
  if (f.number < 1 || f.number > f.total) return { state, result: { kind: 'rejected', reason: `fragment ${f.number} of ${f.total}` } };
  if (f.number === 1 && f.firstInner === 0) return { state, result: { kind: 'rejected', reason: 'first fragment names no inner payload' } };
  let s = state;
  if (!s || s.messageId !== f.messageId || f.total > s.total) {
    s = { messageId: f.messageId, total: f.total, firstInner: 0, bytes: 0, parts: new Array(f.total).fill(undefined) };
  } else if (f.total < s.total) {
    return { state: s, result: { kind: 'rejected', reason: `stale fragment (total ${f.total} < ${s.total})` } };
  }
  if (s.parts[f.number - 1]) return { state: s, result: { kind: 'incomplete' } };
  if (s.bytes + f.data.length > MAX_REASSEMBLY_BYTES) {
    return { state: undefined, result: { kind: 'rejected', reason: `reassembly exceeds ${MAX_REASSEMBLY_BYTES} bytes` } };
  }
  s.parts[f.number - 1] = f.data;
  s.bytes += f.data.length;
  if (f.number === 1) s.firstInner = f.firstInner;
  if (s.parts.some((p) => p === undefined)) return { state: s, result: { kind: 'incomplete' } };
  const inner = new Uint8Array(s.bytes);
  let off = 0;
  for (const p of s.parts) {
    inner.set(p!, off);
    off += p!.length;
  }
  return { state: undefined, result: { kind: 'complete', firstInner: s.firstInner, inner } };
}

/**
 * The global bound on bytes held in reassembly. Each SA direction reports its current partial
 * reassembly after every fragment; when the total exceeds the limit, the reassemblies started
 * longest ago are dropped (their owners' evict callbacks clear them). A retransmission of a
 * dropped message starts over, so an honest peer only loses time.
 */
export class ReassemblyBudget {
  /** Insertion order is age order; `bytes` is what was counted (the state object grows in place). */
  private readonly held = new Map<string, { state: Reassembly; bytes: number; evict: () => void }>();
  private total = 0;

  constructor(readonly limit: number = MAX_GLOBAL_REASSEMBLY_BYTES) {}

  /** Bytes currently held across all owners. */
  get bytes(): number {
    return this.total;
  }

  /** Records `owner`'s current reassembly (undefined: none held any more). */
  update(owner: string, state: Reassembly | undefined, evict: () => void): void {
    const prev = this.held.get(owner);
    if (prev) this.total -= prev.bytes;
    if (!state) {
      this.held.delete(owner);
      return;
    }
    if (prev && prev.state === state) {
      // The same reassembly keeps its age.
      prev.bytes = state.bytes;
      prev.evict = evict;
    } else {
      // A new one (another message) is the youngest.
      this.held.delete(owner);
      this.held.set(owner, { state, bytes: state.bytes, evict });
    }
    this.total += state.bytes;
    for (const [key, entry] of this.held) {
      if (this.total <= this.limit) break;
      if (key === owner) continue;
      this.held.delete(key);
      this.total -= entry.bytes;
      entry.evict();
    }
  }

  /** Forgets every reassembly of owners whose key starts with `prefix` (an SA that is gone). */
  release(prefix: string): void {
    for (const [key, entry] of this.held) {
      if (!key.startsWith(prefix)) continue;
      this.held.delete(key);
      this.total -= entry.bytes;
    }
  }
}
