// ESP anti-replay window (RFC 4303 §3.4.3) with Extended Sequence Numbers (RFC 4303
// Appendix A): a sliding window of W sequence numbers ending at the highest authenticated one,
// kept as a ring bitmap of W bits (W a multiple of 32, up to MAX_REPLAY_WINDOW).
//
//        T - W + 1                                   T (top: highest authenticated Seq#)
//   ─────────┬─────────────────────────────────────────┬──────────▶ Seq#
//    too old │      inside: accept once (bit per Seq#) │  new: accept, slide the window
//
// Usage per inbound packet, in the order §3.4.3 prescribes: `check(seqLo)` before the ICV is
// verified (cheap rejection of duplicates, and with ESN the inferred high-order bits that the
// ICV covers), then `accept(seq)` only after the ICV verified — so a forged packet can never
// move the window.
//
// Sequence numbers are JS numbers: exact up to 2^53 - 1, which an ESN SA cannot reach in
// practice (285 years at 10^6 packets/s); esp.ts stops an SA's sender there rather than wrap.

export const MAX_REPLAY_WINDOW = 4096;

/** check() results that are not a sequence number. */
export const REPLAY_DUPLICATE = -1;
export const REPLAY_STALE = -2;

const TWO_32 = 0x1_0000_0000;

export class ReplayWindow {
  /** Window size W in packets (0: anti-replay disabled, only meaningful without ESN). */
  readonly size: number;
  private readonly bits: Uint32Array;
  /** T: the highest sequence number authenticated so far (0 before the first packet). */
  private topSeq = 0;

  /**
   * @param size requested window (SaSpec.replayWindow); rounded up to a multiple of 32. With ESN a
   *   window is required to infer the high-order bits (Appendix A2.2), so 0 becomes 32 there.
   */
  constructor(
    size: number,
    readonly esn: boolean,
  ) {
    if (!Number.isInteger(size) || size < 0 || size > MAX_REPLAY_WINDOW) {
      throw new RangeError(`replay window ${size} out of range 0..${MAX_REPLAY_WINDOW}`);
    }
    let w = Math.ceil(size / 32) * 32;
    if (w === 0 && esn) w = 32;
    this.size = w;
    this.bits = new Uint32Array(w / 32);
  }

  /** The highest authenticated sequence number (full 64-bit value with ESN). */
  get top(): number {
    return this.topSeq;
  }

  /**
   * RFC 4303 Appendix A2.2: the high-order 32 bits the sender most likely used for `seqLo`,
   * from the current window. May be -1 ("before the first subspace"), which check() rejects.
   */
  inferHigh(seqLo: number): number {
    if (!this.esn) return 0;
    const w = this.size;
    const tl = this.topSeq % TWO_32;
    const th = Math.floor(this.topSeq / TWO_32);
    if (tl >= w - 1) {
      // Case A: the window lies within one sequence number subspace.
      return seqLo >= tl - w + 1 ? th : th + 1;
    }
    // Case B: the window spans two subspaces; its lower part is at the end of subspace Th - 1.
    return seqLo >= tl - w + 1 + TWO_32 ? th - 1 : th;
  }

  /**
   * Pre-ICV check of a received Seq# (the 32 bits on the wire). Returns the full sequence
   * number to authenticate (≥ 1), REPLAY_DUPLICATE, or REPLAY_STALE (left of the window, or 0).
   */
  check(seqLo: number): number {
    const hi = this.inferHigh(seqLo);
    if (hi < 0) return REPLAY_STALE;
    const seq = hi * TWO_32 + seqLo;
    // §3.4.3: the first packet sent on an SA has Seq# 1, so 0 is never valid.
    if (seq === 0) return REPLAY_STALE;
    if (this.size === 0 || seq > this.topSeq) return seq;
    if (seq + this.size <= this.topSeq) return REPLAY_STALE;
    return this.testBit(seq) ? REPLAY_DUPLICATE : seq;
  }

  /** Records an authenticated sequence number (call only after the ICV verified). */
  accept(seq: number): void {
    if (this.size === 0) {
      if (seq > this.topSeq) this.topSeq = seq;
      return;
    }
    if (seq > this.topSeq) {
      const diff = seq - this.topSeq;
      if (diff >= this.size) {
        this.bits.fill(0);
      } else {
        // Clear the bits of the Seq#s the window slides over (they become "not yet seen").
        for (let s = this.topSeq + 1; s < seq; s++) this.clearBit(s);
      }
      this.topSeq = seq;
    } else if (seq + this.size <= this.topSeq) {
      return; // left the window while the ICV was checked: nothing to record
    }
    this.setBit(seq);
  }

  private index(seq: number): number {
    return seq % this.size;
  }

  private testBit(seq: number): boolean {
    const i = this.index(seq);
    return (((this.bits[i >>> 5] as number) >>> (i & 31)) & 1) === 1;
  }

  private setBit(seq: number): void {
    const i = this.index(seq);
    this.bits[i >>> 5] = (this.bits[i >>> 5] as number) | (1 << (i & 31));
  }

  private clearBit(seq: number): void {
    const i = this.index(seq);
    this.bits[i >>> 5] = (this.bits[i >>> 5] as number) & ~(1 << (i & 31));
  }
}
