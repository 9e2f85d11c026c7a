// A small benchmark harness shared by the benches: warm-up, N timed runs of at least `minRunMs`,
// median/min/max ops per second. Results are consumed into a sink so that the JIT cannot drop the
// work. Benchmarks report numbers only; they never assert timings.

export interface BenchOptions {
  warmupMs?: number;
  runs?: number;
  minRunMs?: number;
}

export interface BenchResult {
  name: string;
  /** Median ops/s over the timed runs. */
  opsPerSec: number;
  min: number;
  max: number;
  usPerOp: number;
}

let sink = 0;
/** Consumes a result (bytes, number, anything) so the computation stays observable. */
export function consume(v: unknown): void {
  if (v instanceof Uint8Array) sink ^= v.length > 0 ? (v[0] ?? 0) : 1;
  else if (typeof v === 'number') sink ^= v | 0;
  else if (typeof v === 'bigint') sink ^= Number(v & 0xffn);
  else sink ^= v === undefined ? 0 : 1;
}
export function sinkValue(): number {
  return sink;
}

function runFor(fn: () => unknown, ms: number): { ops: number; elapsed: number } {
  const start = performance.now();
  let ops = 0;
  let now = start;
  do {
    consume(fn());
    ops++;
    now = performance.now();
  } while (now - start < ms);
  return { ops, elapsed: now - start };
}

export function bench(name: string, fn: () => unknown, opts: BenchOptions = {}): BenchResult {
  const { warmupMs = 250, runs = 5, minRunMs = 200 } = opts;
  runFor(fn, warmupMs);
  const rates: number[] = [];
  for (let i = 0; i < runs; i++) {
    const { ops, elapsed } = runFor(fn, minRunMs);
    rates.push((ops * 1000) / elapsed);
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  return { name, opsPerSec: median, min: rates[0] ?? 0, max: rates[rates.length - 1] ?? 0, usPerOp: 1e6 / median };
}

export function formatOps(v: number | undefined): string {
  if (v === undefined || !Number.isFinite(v)) return '–';
  if (v >= 100) return Math.round(v).toLocaleString('en-US');
  return v.toFixed(1);
}

export function formatUs(us: number): string {
  return us >= 1000 ? `${(us / 1000).toFixed(2)} ms` : `${us.toFixed(1)} µs`;
}

/** Renders rows as a Markdown table (right-aligned numeric columns). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => `| ${cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join(' | ')} |`;
  const sep = `|${widths.map((w, i) => (i === 0 ? '-'.repeat(w + 2) : `${'-'.repeat(w + 1)}:`)).join('|')}|`;
  return [line(header), sep, ...rows.map(line)].join('\n');
}
