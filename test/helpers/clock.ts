// A manual clock for exchange tests (the engine's Clock port, src/ike/ports.ts): time moves
// only when a test calls advance(), and timers due by then fire in due-time order.
import type { Clock } from '../../src/ike/ports.js';

interface Timer {
  id: number;
  due: number;
  fn: () => void;
}

export class FakeClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly timers = new Map<number, Timer>();

  constructor(start = 1_700_000_000_000) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  setTimer(delayMs: number, fn: () => void): () => void {
    const id = ++this.seq;
    this.timers.set(id, { id, due: this.t + Math.max(0, delayMs), fn });
    return () => {
      this.timers.delete(id);
    };
  }

  /** Timers still armed (cancelled ones are gone). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      let next: Timer | undefined;
      for (const tm of this.timers.values()) if (tm.due <= end && (!next || tm.due < next.due || (tm.due === next.due && tm.id < next.id))) next = tm;
      if (!next) break;
      this.timers.delete(next.id);
      this.t = next.due;
      next.fn();
    }
    this.t = end;
  }
}
