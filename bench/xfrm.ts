// XFRM installs per second through the kernel dataplane (issue 4): policy triplets (out/in/fwd
// of one road-warrior CHILD_SA, 0.0.0.0/0 <-> VIP/32) installed and deleted through XfrmDataplane
// over netlink, next to iproute2 doing the same policies in one `ip -batch` (the reference: a C
// client sending one request per policy and waiting for each ACK, as we do). SA pairs and whole
// CHILD_SAs (ALLOCSPI, inbound UPDSA, outbound NEWSA, 3 policies, and their deletion) need a
// kernel with ESP: they are measured only when the ESP probe (src/xfrm/esp-probe.ts) passes.
//
// Everything runs in a private network namespace (root): Node cannot setns(), so the bench
// re-runs this file under `ip netns exec`. Run: `npm run bench -- xfrm`. Numbers only.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatOps, formatUs, table } from './harness.js';
import type { PolicySpec, SaSpec } from '../src/xfrm/dataplane.js';
import { probeKernelEsp } from '../src/xfrm/esp-probe.js';
import { XfrmDataplane, type NativeNetlink } from '../src/xfrm/xfrm-dataplane.js';

/** Repo root, from dist-bench/bench/xfrm.js (the addon is not copied into dist-bench). */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ADDON = join(ROOT, 'native/build/Release/ikegate.node');
const GW = '192.0.2.1';
const CLIENT = '198.51.100.7';
/**
 * CHILD_SAs per timed round (IKEGATE_BENCH_XFRM_N overrides it, e.g. smaller under QEMU TCG),
 * rounds per measurement (median reported).
 */
const BATCH = Number(process.env.IKEGATE_BENCH_XFRM_N) > 0 ? Number(process.env.IKEGATE_BENCH_XFRM_N) : 1000;
const ROUNDS = 5;
/** Requests in flight for the pipelined rows (the netlink socket answers them in order). */
const PIPELINE = 32;

interface Row {
  what: string;
  /** CHILD_SAs (triplets / pairs) per second, median of the rounds. */
  ours: number;
  reference?: number;
  note?: string;
}

const vip = (i: number) => `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`;

function triplet(i: number): PolicySpec[] {
  return (['out', 'in', 'fwd'] as const).map((direction) => ({
    selector: { local: '0.0.0.0/0', remote: `${vip(i)}/32`, protocol: 0 },
    direction,
    reqid: i + 1,
    mode: 'tunnel' as const,
    tunnel: direction === 'out' ? { src: GW, dst: CLIENT } : { src: CLIENT, dst: GW },
    priority: 0,
  }));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}

/** Runs `fn(i)` for i in [0, n) with at most `width` in flight. */
async function pooled(n: number, width: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: Math.min(width, n) }, worker));
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = performance.now();
  await fn();
  return performance.now() - t;
}

/** The iproute2 reference: the same policies (same priorities) as one `ip -batch` each way. */
function ipBatchRates(dp: XfrmDataplane, dir: string): { add: number; del: number; startMs: number } {
  const add: string[] = [];
  const del: string[] = [];
  for (let i = 0; i < BATCH; i++) {
    for (const p of triplet(i)) {
      const [src, dst] = p.direction === 'out' ? [p.selector.local, p.selector.remote] : [p.selector.remote, p.selector.local];
      const prio = dp.policyPriority(p, 32);
      add.push(`xfrm policy add src ${src} dst ${dst} dir ${p.direction} priority ${prio} tmpl src ${p.tunnel.src} dst ${p.tunnel.dst} proto esp reqid ${p.reqid} mode tunnel`);
      del.push(`xfrm policy delete src ${src} dst ${dst} dir ${p.direction}`);
    }
  }
  writeFileSync(join(dir, 'add'), `${add.join('\n')}\n`);
  writeFileSync(join(dir, 'del'), `${del.join('\n')}\n`);
  writeFileSync(join(dir, 'empty'), '');
  const run = (f: string) => {
    const t = performance.now();
    execFileSync('ip', ['-batch', join(dir, f)], { stdio: 'pipe' });
    return performance.now() - t;
  };
  // Process start-up of `ip` is not netlink work: measured on an empty batch and subtracted.
  const startMs = median(Array.from({ length: 5 }, () => run('empty')));
  const adds: number[] = [];
  const dels: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    adds.push((BATCH * 1000) / Math.max(run('add') - startMs, 0.001));
    dels.push((BATCH * 1000) / Math.max(run('del') - startMs, 0.001));
  }
  return { add: median(adds), del: median(dels), startMs };
}

async function policyRows(dp: XfrmDataplane, dir: string): Promise<Row[]> {
  const specs = Array.from({ length: BATCH }, (_, i) => triplet(i));
  const round = async (width: number) => {
    const install = await timed(() =>
      pooled(BATCH, width, async (i) => {
        for (const p of specs[i]!) await dp.installPolicy(p);
      }),
    );
    const remove = await timed(() =>
      pooled(BATCH, width, async (i) => {
        for (const p of specs[i]!) await dp.deletePolicy(p);
      }),
    );
    return { install: (BATCH * 1000) / install, remove: (BATCH * 1000) / remove };
  };
  await round(1); // warm-up: JIT, kernel hash tables grown
  const seq = [];
  for (let r = 0; r < ROUNDS; r++) seq.push(await round(1));
  const par = [];
  for (let r = 0; r < ROUNDS; r++) par.push(await round(PIPELINE));
  const ref = ipBatchRates(dp, dir);
  const note = `${BATCH} triplets a round, median of ${ROUNDS}; ip start-up ${ref.startMs.toFixed(1)} ms subtracted`;
  return [
    { what: 'policy triplet install (one at a time, as the engine)', ours: median(seq.map((x) => x.install)), reference: ref.add, note },
    { what: 'policy triplet delete (one at a time)', ours: median(seq.map((x) => x.remove)), reference: ref.del },
    { what: `policy triplet install (${PIPELINE} CHILD_SAs in flight)`, ours: median(par.map((x) => x.install)), reference: ref.add },
    { what: `policy triplet delete (${PIPELINE} in flight)`, ours: median(par.map((x) => x.remove)), reference: ref.del },
  ];
}

function saPair(spiIn: number, spiOut: number, reqid: number): { inbound: SaSpec; outbound: SaSpec } {
  const base = {
    reqid,
    mode: 'tunnel' as const,
    enc: { alg: { family: 'aead' as const, name: 'rfc4106(gcm(aes))', icvBits: 128 }, key: new Uint8Array(36).fill(7) },
    replayWindow: 32,
    esn: false,
    lifetime: { softSeconds: 3000, hardSeconds: 3600 },
  };
  return {
    inbound: { ...base, id: { src: CLIENT, dst: GW, spi: spiIn, proto: 'esp' }, direction: 'in' },
    outbound: { ...base, id: { src: GW, dst: CLIENT, spi: spiOut, proto: 'esp' }, direction: 'out' },
  };
}

async function saRows(dp: XfrmDataplane): Promise<Row[]> {
  const n = BATCH;
  const pairRound = async (withPolicies: boolean) => {
    const made: { inbound: SaSpec; outbound: SaSpec; policies: PolicySpec[] }[] = [];
    const install = await timed(async () => {
      for (let i = 0; i < n; i++) {
        const spiIn = await dp.allocateSpi(GW);
        const pair = saPair(spiIn, 0xd000_0000 + i, i + 1);
        await dp.installSa(pair.inbound);
        await dp.installSa(pair.outbound);
        const policies = withPolicies ? triplet(i) : [];
        for (const p of policies) await dp.installPolicy(p);
        made.push({ ...pair, policies });
      }
    });
    const remove = await timed(async () => {
      for (const m of made) {
        for (const p of m.policies) await dp.deletePolicy(p);
        await dp.deleteSa(m.inbound.id);
        await dp.deleteSa(m.outbound.id);
      }
    });
    return { install: (n * 1000) / install, remove: (n * 1000) / remove };
  };
  await pairRound(true);
  const pairs = [];
  const whole = [];
  for (let r = 0; r < ROUNDS; r++) pairs.push(await pairRound(false));
  for (let r = 0; r < ROUNDS; r++) whole.push(await pairRound(true));
  return [
    { what: 'SA pair install (ALLOCSPI + UPDSA in + NEWSA out, AES-GCM)', ours: median(pairs.map((x) => x.install)) },
    { what: 'SA pair delete', ours: median(pairs.map((x) => x.remove)) },
    { what: 'whole CHILD_SA install (SA pair + policy triplet)', ours: median(whole.map((x) => x.install)) },
    { what: 'whole CHILD_SA delete', ours: median(whole.map((x) => x.remove)) },
  ];
}

/** Inside the namespace: measures and prints one JSON line. */
async function inside(): Promise<void> {
  const native = createRequire(import.meta.url)(ADDON) as NativeNetlink;
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const dp = XfrmDataplane.open(native, {}, 30_000);
  const dir = mkdtempSync(join(tmpdir(), 'ikg-xfrm-bench-'));
  try {
    // As the daemon: road-warrior policies hash (0/0 <-> VIP/32) instead of the inexact list.
    await dp.setPolicyHashThresholds({ ipv4: { lbits: 0, rbits: 32 } });
    const rows = await policyRows(dp, dir);
    const probe = await probeKernelEsp(dp);
    const sa = probe.ok ? await saRows(dp) : [];
    const kernel = execFileSync('uname', ['-r'], { encoding: 'utf8' }).trim();
    process.stdout.write(`${JSON.stringify({ kernel, rows: [...rows, ...sa], esp: probe.ok ? 'yes' : probe.reason })}\n`);
  } finally {
    await dp.close().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function runXfrmBench(): Promise<void> {
  if (process.platform !== 'linux') return void console.log('xfrm bench: skipped, XFRM is Linux only');
  if (process.getuid?.() !== 0) return void console.log('xfrm bench: skipped, needs root (it creates a network namespace and installs XFRM policies)');
  const ns = `ikg-bench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  let out: { kernel: string; rows: Row[]; esp: string };
  try {
    const text = execFileSync('ip', ['netns', 'exec', ns, process.execPath, fileURLToPath(import.meta.url), '--inside'], { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
    out = JSON.parse(text.trim().split('\n').pop() ?? '{}') as typeof out;
  } finally {
    execFileSync('ip', ['netns', 'del', ns]);
  }
  console.log(`node ${process.version}, kernel ${out.kernel}, XFRM through XfrmDataplane (netlink, one request per message, each ACKed) in a private namespace; CHILD_SAs per second`);
  console.log('');
  console.log(
    table(
      ['operation', 'ikegate /s', 'µs each', 'ip -batch /s', 'ikegate/ip'],
      out.rows.map((r) => [
        r.what,
        formatOps(r.ours),
        formatUs(1e6 / r.ours),
        r.reference !== undefined ? formatOps(r.reference) : '',
        r.reference !== undefined ? `${(r.ours / r.reference).toFixed(2)}` : '',
      ]),
    ),
  );
  const notes = out.rows.map((r) => r.note).filter(Boolean);
  if (notes.length > 0) console.log(`\n${notes.join('; ')}; ip -batch sends the same policies (same priorities) one request each.`);
  if (out.esp !== 'yes') console.log(`\nSA pairs and whole CHILD_SAs not measured: this kernel refuses ESP states (${out.esp}). Run it in a kernel with esp4 (e.g. the QEMU guest of test/vm).`);
}

if (process.argv[2] === '--inside' && process.argv[1] === fileURLToPath(import.meta.url)) {
  inside().catch((e: unknown) => {
    console.error(e);
    process.exitCode = 1;
  });
}
