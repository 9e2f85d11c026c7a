// Anti-replay window (RFC 4303 §3.4.3) and ESN high-order bit inference (RFC 4303 Appendix
// A2.2): in-order, reordering within the window, duplicates, too old, far jumps, the 2^32
// boundary, window sizes up to 1024+.
import { describe, expect, it } from 'vitest';
import { MAX_REPLAY_WINDOW, REPLAY_DUPLICATE, REPLAY_STALE, ReplayWindow } from '../../../src/esp/replay.js';

/** check + accept, as EspSa does after a good ICV. */
function receive(w: ReplayWindow, seqLo: number): number {
  const seq = w.check(seqLo);
  if (seq > 0) w.accept(seq);
  return seq;
}

describe('ReplayWindow without ESN', () => {
  it('accepts in-order packets and rejects Seq# 0', () => {
    const w = new ReplayWindow(32, false);
    expect(w.check(0)).toBe(REPLAY_STALE);
    for (let s = 1; s <= 100; s++) expect(receive(w, s)).toBe(s);
    expect(w.top).toBe(100);
  });

  it('accepts reordering within the window once, rejects duplicates', () => {
    const w = new ReplayWindow(64, false);
    expect(receive(w, 10)).toBe(10);
    expect(receive(w, 8)).toBe(8);
    expect(receive(w, 9)).toBe(9);
    expect(receive(w, 8)).toBe(REPLAY_DUPLICATE);
    expect(receive(w, 10)).toBe(REPLAY_DUPLICATE);
    expect(receive(w, 1)).toBe(1);
    expect(w.top).toBe(10);
  });

  it('rejects Seq#s left of the window (T - W + 1 is the oldest accepted)', () => {
    const w = new ReplayWindow(32, false);
    receive(w, 100);
    expect(w.check(68)).toBe(REPLAY_STALE); // 100 - 32
    expect(w.check(69)).toBe(69); // 100 - 32 + 1
    expect(receive(w, 69)).toBe(69);
    expect(receive(w, 69)).toBe(REPLAY_DUPLICATE);
  });

  it('a far jump clears the window; bits of skipped Seq#s are not stale history', () => {
    const w = new ReplayWindow(64, false);
    for (let s = 1; s <= 64; s++) receive(w, s);
    expect(receive(w, 1000)).toBe(1000);
    expect(w.check(64)).toBe(REPLAY_STALE);
    // 1000 - 64 + 1 .. 999 were never seen: the ring bits of 1..64 must not leak into them.
    for (let s = 937; s < 1000; s++) expect(w.check(s), `seq ${s}`).toBe(s);
    // A jump smaller than the window clears exactly the slots it slides over.
    expect(receive(w, 1010)).toBe(1010);
    expect(w.check(1000)).toBe(REPLAY_DUPLICATE);
    for (let s = 1001; s < 1010; s++) expect(w.check(s)).toBe(s);
  });

  it('check() does not change the window (only accept() after the ICV does)', () => {
    const w = new ReplayWindow(32, false);
    receive(w, 5);
    expect(w.check(500)).toBe(500);
    expect(w.top).toBe(5);
    expect(w.check(4)).toBe(4);
  });

  it('supports large windows as a bitmap (1024, 4096) and rounds up to 32', () => {
    const w = new ReplayWindow(1024, false);
    receive(w, 5000);
    expect(w.check(5000 - 1023)).toBe(5000 - 1023);
    expect(w.check(5000 - 1024)).toBe(REPLAY_STALE);
    for (let s = 3977; s < 5000; s += 2) receive(w, s);
    for (let s = 3977; s < 5000; s++) expect(w.check(s)).toBe((s - 3977) % 2 === 0 ? REPLAY_DUPLICATE : s);
    expect(new ReplayWindow(MAX_REPLAY_WINDOW, false).size).toBe(4096);
    expect(new ReplayWindow(33, false).size).toBe(64);
    expect(() => new ReplayWindow(MAX_REPLAY_WINDOW + 1, false)).toThrow(RangeError);
  });

  it('window 0 disables replay protection (kernel semantics)', () => {
    const w = new ReplayWindow(0, false);
    expect(receive(w, 7)).toBe(7);
    expect(receive(w, 7)).toBe(7);
    expect(w.check(0)).toBe(REPLAY_STALE);
  });
});

describe('ReplayWindow with ESN (RFC 4303 Appendix A2.2)', () => {
  const TWO_32 = 0x1_0000_0000;

  it('starts in subspace 0 (Case B with Th = 0: nothing below)', () => {
    const w = new ReplayWindow(64, true);
    expect(w.check(1)).toBe(1);
    // Case B: Seql >= Tl - W + 1 (mod 2^32) belongs to subspace Th - 1 = -1, which does not exist.
    expect(w.check(0xffffffff)).toBe(REPLAY_STALE);
    expect(w.check(0xffffffc1)).toBe(REPLAY_STALE);
    expect(w.check(0xffffffc0)).toBe(0xffffffc0); // else-branch: subspace Th = 0, ahead of T
    expect(receive(w, 3)).toBe(3);
    expect(w.check(0xfffffff0)).toBe(REPLAY_STALE);
  });

  it('Case A: window within one subspace; a small Seql after a large T means the next subspace', () => {
    const w = new ReplayWindow(64, true);
    (w as unknown as { topSeq: number }).topSeq = 0xffff_fff0;
    expect(w.inferHigh(0xffffffc0)).toBe(0); // >= Tl - W + 1 → Th
    // Left of the window: A2.2 assumes the next subspace (Th + 1); the ICV, computed with those
    // high-order bits, is what rejects a real old packet.
    expect(w.check(0xffffffb0)).toBe(TWO_32 + 0xffffffb0);
    expect(w.inferHigh(5)).toBe(1);
    expect(receive(w, 5)).toBe(TWO_32 + 5);
    expect(w.top).toBe(TWO_32 + 5);
  });

  it('Case B: after the rollover the window spans both subspaces', () => {
    const w = new ReplayWindow(64, true);
    (w as unknown as { topSeq: number }).topSeq = 0xffff_fff0;
    receive(w, 0xfffffff5);
    receive(w, 2); // → 2^32 + 2, Tl = 2 < W - 1
    expect(w.top).toBe(TWO_32 + 2);
    expect(w.inferHigh(0xfffffff8)).toBe(0); // lower part of the window, previous subspace
    expect(receive(w, 0xfffffff8)).toBe(0xfffffff8);
    expect(receive(w, 0xfffffff5)).toBe(REPLAY_DUPLICATE);
    expect(receive(w, 1)).toBe(TWO_32 + 1);
    expect(receive(w, 1)).toBe(REPLAY_DUPLICATE);
    // Below the window's lower part: inferred as subspace Th (far ahead); the ICV decides.
    expect(w.check(0xffffff00)).toBe(TWO_32 + 0xffffff00);
  });

  it('a window of 0 still infers with 32 (ESN needs a window)', () => {
    expect(new ReplayWindow(0, true).size).toBe(32);
  });
});
