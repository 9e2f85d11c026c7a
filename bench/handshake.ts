// Handshake throughput, ikegate vs strongSwan: `npm run bench -- handshake`.
//
// Two network namespaces joined by one veth pair (ikg-hsbench-<pid>-gw 192.0.2.1, -cl
// 192.0.2.10): the responder runs in `gw`, the load generator (bench/handshake-load.ts) in `cl`.
// A veth rather than loopback so that each side has its own addresses and sockets exactly as
// in the interop tests; the generator is the same process, code and socket set for both
// responders, so the ratio compares the responders.
//
// Responders, each with the same swanctl.conf connection (quiet logging, no DoS protection so
// that 32 handshakes in flight from one address are not answered with COOKIEs or dropped):
//   ikegate    `node dist/daemon/cli.js run --config …`, dataplane = memory, log_level = warn,
//              cookie_threshold above the concurrency;
//   strongSwan charon 5.9 in a private mount namespace (`unshare --mount`, own /run), plugins
//              random nonce openssl kdf pem pkcs1 pkcs8 x509 pubkey constraints socket-default
//              vici kernel-netlink, dos_protection = no, cookie/block thresholds above the
//              concurrency, ikesa_table_size 4096 (the default is 1), all file logging off.
// Scenarios: PSK with aes256gcm16-prfsha256-x25519, PSK with the Windows default
// aes256-sha1-modp1024, and ECDSA-P256 certificates on both sides with aes256gcm16-prfsha256-
// ecp256 (crypto-costs.md scenario (c)). IKE_AUTH is childless (RFC 6023): no CHILD_SA, no
// kernel SA install, no CP.
//
// Per responder × scenario: start, wait until a handshake succeeds, one warm-up run, then RUNS
// runs of TOTAL handshakes (at most MAX_MS each) with CONCURRENCY in flight. Nothing is
// retransmitted: a lost handshake is a failure. The established IKE_SAs stay up until the run
// is over; the responder's RSS is read then (→ bytes per IKE_SA, rough: GC and allocator
// caches), and the generator deletes them all (INFORMATIONAL D, untimed) before the next run.
// The responder's CPU time (/proc/PID/stat, all threads) gives handshakes per responder
// CPU-second, which is what the per-core ceilings of crypto-costs.md §1 count and is much less
// sensitive to other load on the machine than wall-clock handshakes/s. With two or more CPUs
// the responder is pinned to CPU 1 and the generator to CPU 0 (strongSwan's thread pool would
// otherwise take both cores, node's JS runs on one): both numbers are per core.
//
// Environment: IKEGATE_BENCH_HS_TOTAL (default 1500), IKEGATE_BENCH_HS_RUNS (3),
// IKEGATE_BENCH_HS_CONCURRENCY (32), IKEGATE_BENCH_HS_MAX_MS (3000), IKEGATE_BENCH_NOPIN=1,
// IKEGATE_BENCH_HS_ONLY=<scenario key or responder>,… (subset), IKEGATE_BENCH_HS_DEBUG=1 (charon logs).
// Needs root, iproute2, util-linux and (for its rows) strongSwan; without them it says why
// and skips those rows. Never asserts timings.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { formatOps, table } from './harness.js';
import type { DeleteReport, RunReport, RunSpec } from './handshake-load.js';
import { CharonInstance } from '../test/interop/harness/charon.js';
import { cleanupLeftovers } from '../test/interop/harness/netns.js';
import { run, sleep, spawnTracked, type TrackedProcess } from '../test/interop/harness/proc.js';
import { CHARON_PATH, PLUGIN_DIR } from '../test/interop/harness/requirements.js';
import { TestPki } from '../test/helpers/pki.js';

const TAG = 'hsbench';
const GW = '192.0.2.1';
const CLIENT = '192.0.2.10';
const PSK = 'bench-psk correct horse battery staple';
const SERVER_ID = 'vpn.bench.example';
const CLIENT_ID = 'client.bench.example';
/** dist-bench/bench/ -> repository root. */
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const DAEMON_CLI = join(REPO_ROOT, 'dist', 'daemon', 'cli.js');
const LOAD_JS = fileURLToPath(new URL('./handshake-load.js', import.meta.url));

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v > 0 ? v : dflt;
};
const TOTAL = num('IKEGATE_BENCH_HS_TOTAL', 1500);
const RUNS = num('IKEGATE_BENCH_HS_RUNS', 3);
const CONCURRENCY = num('IKEGATE_BENCH_HS_CONCURRENCY', 32);
const MAX_MS = num('IKEGATE_BENCH_HS_MAX_MS', 3000);
const TIMEOUT_MS = 2000;
const WARMUP = 300;

type Responder = 'ikegate' | 'strongSwan';

interface Scenario {
  key: string;
  label: string;
  ike: string;
  auth: 'psk' | 'cert';
  /** Crypto-only ceiling per core from crypto-costs.md §1/§2 (best node:crypto path). */
  ceiling: number;
  ceilingNote: string;
}

const SCENARIOS: Scenario[] = [
  { key: 'psk-x25519', label: 'PSK, aes256gcm16-prfsha256-x25519', ike: 'aes256gcm16-prfsha256-x25519', auth: 'psk', ceiling: 5400, ceilingNote: '(a)' },
  // Not a §1 row: MODP-1024 keygen 109 µs + compute 103 µs (§2, 256-bit exponent) + (a)'s 82 µs symmetric work.
  { key: 'psk-modp1024', label: 'PSK, aes256-sha1-modp1024 (Windows default)', ike: 'aes256-sha1-modp1024', auth: 'psk', ceiling: 3400, ceilingNote: '≈, §2' },
  { key: 'ecdsa-p256', label: 'ECDSA-P256 certs both sides, aes256gcm16-prfsha256-ecp256', ike: 'aes256gcm16-prfsha256-ecp256', auth: 'cert', ceiling: 1860, ceilingNote: '(c)' },
];

interface Measured {
  report: RunReport;
  responderCpuMs: number;
  rssBeforeKb: number;
  rssAfterKb: number;
  deleted: DeleteReport;
}

interface Row {
  responder: Responder;
  scenario: Scenario;
  runs: Measured[];
  skipped?: string;
}

// ---- small helpers ---------------------------------------------------------------------------

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** utime + stime of all threads of PID, in milliseconds (clock ticks of 10 ms on Linux). */
function cpuMsOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // after the command: state(3) ppid … utime(14) stime(15) → indexes 11, 12
  return (Number(f[11]) + Number(f[12])) * 10;
}

function rssKbOf(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

function findTool(cmd: string): boolean {
  return ['/usr/sbin', '/usr/bin', '/sbin', '/bin', ...(process.env.PATH ?? '').split(':')].some((d) => d !== '' && existsSync(join(d, cmd)));
}

const log = (s: string): void => void process.stderr.write(`${s}\n`);

// ---- the load generator process --------------------------------------------------------------

class Generator {
  private readonly proc: ChildProcessWithoutNullStreams;
  private readonly pending: Array<(v: { ok: boolean; report?: unknown; error?: string }) => void> = [];
  private stderr = '';

  constructor(ns: string, cpu: number | undefined) {
    const argv = ['netns', 'exec', ns, ...(cpu !== undefined ? ['taskset', '-c', String(cpu)] : []), process.execPath, LOAD_JS];
    this.proc = spawn('ip', argv, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.proc.stderr.setEncoding('utf8').on('data', (d: string) => (this.stderr += d));
    createInterface({ input: this.proc.stdout }).on('line', (line) => {
      const next = this.pending.shift();
      try {
        next?.(JSON.parse(line) as { ok: boolean });
      } catch {
        next?.({ ok: false, error: `bad generator output: ${line}` });
      }
    });
    this.proc.on('exit', () => {
      for (const p of this.pending.splice(0)) p({ ok: false, error: `generator exited\n${this.stderr}` });
    });
  }

  private call<T>(cmd: object): Promise<T> {
    return new Promise((resolve, reject) => {
      this.pending.push((v) => (v.ok ? resolve(v.report as T) : reject(new Error(v.error))));
      this.proc.stdin.write(`${JSON.stringify(cmd)}\n`);
    });
  }

  run(spec: RunSpec): Promise<RunReport> {
    return this.call({ op: 'run', ...spec });
  }

  deleteAll(): Promise<DeleteReport> {
    return this.call({ op: 'delete' });
  }

  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.stdin.end(`${JSON.stringify({ op: 'exit' })}\n`);
    const exited = new Promise<void>((r) => this.proc.once('exit', () => r()));
    const t = setTimeout(() => this.proc.kill('SIGKILL'), 3000);
    await exited;
    clearTimeout(t);
  }
}

// ---- configuration -----------------------------------------------------------------------------

function connectionText(s: Scenario, extra: string[]): string {
  const auth =
    s.auth === 'psk'
      ? [`    local {`, `      auth = psk`, `      id = @${SERVER_ID}`, `    }`, `    remote {`, `      auth = psk`, `    }`]
      : [`    send_cert = always`, `    local {`, `      auth = pubkey`, `      certs = gw.pem`, `      id = ${SERVER_ID}`, `    }`, `    remote {`, `      auth = pubkey`, `    }`];
  // The secret has no ids: the clients send no IDr (as Windows does), and strongSwan looks the
  // key up for '%any' then, which a secret bound to the gateway's id does not match.
  return [
    'connections {',
    '  bench {',
    `    local_addrs = ${GW}`,
    `    proposals = ${s.ike}`,
    '    unique = no',
    ...extra.map((l) => `    ${l}`),
    ...auth,
    '  }',
    '}',
    ...(s.auth === 'psk' ? ['secrets {', '  ike-bench {', `    secret = "${PSK}"`, '  }', '}'] : []),
    '',
  ].join('\n');
}

interface Running {
  pid: number;
  stop(): Promise<void>;
  describe(): string;
}

async function startIkegate(dir: string, s: Scenario, cpu: number | undefined, gwNs: string): Promise<Running> {
  const conf = join(dir, 'ikegate.conf');
  mkdirSync(join(dir, 'state'), { recursive: true });
  writeFileSync(
    conf,
    [
      'ikegate {',
      `  listen = ${GW}`,
      `  state_dir = ${join(dir, 'state')}`,
      `  control_socket = ${join(dir, 'ikegate.sock')}`,
      '  log_level = warn',
      '  dataplane = memory',
      '  cookie_threshold = 100000',
      '}',
      connectionText(s, []),
    ].join('\n'),
  );
  const out = join(dir, `ikegate-${s.key}.log`);
  const proc: TrackedProcess = spawnTracked(
    `ikegate@${gwNs}`,
    ['ip', 'netns', 'exec', gwNs, ...(cpu !== undefined ? ['taskset', '-c', String(cpu)] : []), process.execPath, DAEMON_CLI, 'run', '--config', conf],
    { logFile: out },
  );
  return {
    pid: proc.pid,
    stop: async () => void (await proc.stop(5000)),
    describe: () => (existsSync(out) ? readFileSync(out, 'utf8').slice(-3000) : ''),
  };
}

async function startCharon(dir: string, s: Scenario, cpu: number | undefined, gwNs: string): Promise<Running> {
  const conf = join(dir, 'swanctl-bench.conf');
  writeFileSync(conf, connectionText(s, ['childless = allow']));
  const charon = new CharonInstance({
    ns: gwNs,
    dir: join(dir, `charon-${s.key}`),
    swanctlDir: dir,
    logLevels: process.env.IKEGATE_BENCH_HS_DEBUG === '1' ? { default: 1, ike: 2, cfg: 2 } : { default: -1, ike: -1, cfg: 0, knl: -1, enc: -1, net: -1, lib: 0, dmn: 0 },
  });
  await charon.start({
    charonSettings: {
      load: 'random nonce openssl kdf pem pkcs1 pkcs8 x509 pubkey constraints socket-default vici kernel-netlink',
      dos_protection: false,
      cookie_threshold: 100000,
      cookie_threshold_ip: 100000,
      block_threshold: 100000,
      ikesa_table_size: 4096,
      ikesa_table_segments: 16,
      install_routes: false,
      install_virtual_ip: false,
    },
  });
  const pid = charon.pid;
  if (pid === undefined) throw new Error('charon has no pid');
  if (cpu !== undefined) {
    const r = await run(['taskset', '-a', '-p', '-c', String(cpu), String(pid)], { check: false, timeoutMs: 5000 });
    if (r.code !== 0) log(`  could not pin charon to CPU ${cpu}: ${r.stderr.trim()}`);
  }
  const loaded = await charon.swanctl('--load-all', ['--noprompt', '--file', conf], { check: false });
  if (loaded.code !== 0) {
    await charon.stop();
    throw new Error(`swanctl --load-all failed:\n${loaded.stdout}${loaded.stderr}`);
  }
  return { pid, stop: () => charon.stop(), describe: () => charon.log().slice(-3000) };
}

// ---- the bench -----------------------------------------------------------------------------------

interface Topo {
  gw: string;
  cl: string;
  workDir: string;
}

async function buildTopo(): Promise<Topo> {
  await cleanupLeftovers(TAG);
  const prefix = `ikg-${TAG}-${process.pid}`;
  const workDir = `/tmp/${prefix}`;
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const topo = { gw: `${prefix}-gw`, cl: `${prefix}-cl`, workDir };
  const ip = (args: string[]): Promise<unknown> => run(['ip', ...args], { timeoutMs: 10_000 });
  for (const ns of [topo.gw, topo.cl]) {
    await ip(['netns', 'add', ns]);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }
  await ip(['link', 'add', 'eth0', 'netns', topo.gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', topo.cl]);
  await ip(['-n', topo.gw, 'addr', 'add', `${GW}/24`, 'dev', 'eth0']);
  await ip(['-n', topo.cl, 'addr', 'add', `${CLIENT}/24`, 'dev', 'eth0']);
  await ip(['-n', topo.gw, 'link', 'set', 'eth0', 'up']);
  await ip(['-n', topo.cl, 'link', 'set', 'eth0', 'up']);
  return topo;
}

async function destroyTopo(t: Topo): Promise<void> {
  for (const ns of [t.cl, t.gw]) {
    const pids = await run(['ip', 'netns', 'pids', ns], { check: false, timeoutMs: 10_000 });
    for (const p of pids.stdout.split(/\s+/).filter((x) => /^\d+$/.test(x))) {
      try {
        process.kill(Number(p), 'SIGKILL');
      } catch {
        // gone
      }
    }
    await run(['ip', 'netns', 'del', ns], { check: false, timeoutMs: 10_000 });
  }
  rmSync(t.workDir, { recursive: true, force: true });
}

/** Client certificate and key for the cert scenario; gateway credentials into dir (swanctl layout). */
function makePki(dir: string): { certFile: string; keyFile: string } {
  const pki = new TestPki();
  try {
    const ca = pki.root('ca', '/O=ikegate bench/CN=Bench Root', 'p256');
    const gw = pki.issue('gw', `/O=ikegate bench/CN=${SERVER_ID}`, 'p256', ca, { san: [`DNS:${SERVER_ID}`] });
    const client = pki.issue('client', `/O=ikegate bench/CN=${CLIENT_ID}`, 'p256', ca, { san: [`DNS:${CLIENT_ID}`] });
    for (const sub of ['x509', 'x509ca', 'private']) mkdirSync(join(dir, sub), { recursive: true });
    copyFileSync(ca.certFile, join(dir, 'x509ca', 'ca.pem'));
    copyFileSync(gw.certFile, join(dir, 'x509', 'gw.pem'));
    copyFileSync(gw.keyFile, join(dir, 'private', 'gw.key'));
    copyFileSync(client.certFile, join(dir, 'client.pem'));
    copyFileSync(client.keyFile, join(dir, 'client.key'));
    return { certFile: join(dir, 'client.pem'), keyFile: join(dir, 'client.key') };
  } finally {
    pki.cleanup();
  }
}

async function measure(
  gen: Generator,
  responder: Running,
  spec: Omit<RunSpec, 'total' | 'maxMs' | 'concurrency'>,
  name: string,
): Promise<Measured[]> {
  // Ready when one handshake goes through (the daemon's start-up time is not measured).
  let ready = false;
  let last = '';
  for (let i = 0; i < 40 && !ready; i++) {
    const r = await gen.run({ ...spec, total: 1, concurrency: 1, maxMs: 1000, timeoutMs: 500 });
    ready = r.ok === 1;
    last = Object.keys(r.reasons).join(', ');
    if (!ready) await sleep(250);
  }
  if (!ready) throw new Error(`${name}: no handshake succeeded within ~30 s (last: ${last})\n${responder.describe()}`);
  const base = { ...spec, concurrency: CONCURRENCY };
  await gen.run({ ...base, total: WARMUP, maxMs: Math.min(MAX_MS, 2000) });
  await gen.deleteAll();
  const out: Measured[] = [];
  for (let i = 0; i < RUNS; i++) {
    await sleep(100);
    const rssBeforeKb = rssKbOf(responder.pid);
    const cpu0 = cpuMsOf(responder.pid);
    const report = await gen.run({ ...base, total: TOTAL, maxMs: MAX_MS });
    const responderCpuMs = cpuMsOf(responder.pid) - cpu0;
    const rssAfterKb = rssKbOf(responder.pid);
    const deleted = await gen.deleteAll();
    out.push({ report, responderCpuMs, rssBeforeKb, rssAfterKb, deleted });
    const reasons = Object.entries(report.reasons).map(([k, v]) => `${k} ×${v}`).join(', ');
    log(
      `  ${name} run ${i + 1}: ${report.ok}/${report.started} ok in ${report.elapsedMs.toFixed(0)} ms = ${formatOps(report.handshakesPerSec)}/s, ` +
        `responder CPU ${responderCpuMs} ms, generator CPU ${report.cpuMs.toFixed(0)} ms, p50 ${report.p50Ms.toFixed(1)} ms p99 ${report.p99Ms.toFixed(1)} ms` +
        `${reasons ? `; failures: ${reasons}` : ''}; deleted ${deleted.deleted}${deleted.failed ? ` (${deleted.failed} delete failures)` : ''}`,
    );
  }
  return out;
}

function render(rows: Row[], pinned: boolean): void {
  const byScenario = (s: Scenario, r: Responder): Row | undefined => rows.find((x) => x.scenario === s && x.responder === r && !x.skipped);
  const hsPerSec = (row: Row): number => median(row.runs.map((m) => m.report.handshakesPerSec));
  const hsPerCpuS = (row: Row): number => median(row.runs.map((m) => (m.responderCpuMs > 0 ? (m.report.ok * 1000) / m.responderCpuMs : NaN)));
  const out: string[][] = [];
  for (const row of rows) {
    const s = row.scenario;
    if (row.skipped) {
      out.push([row.responder, s.label, `skipped: ${row.skipped}`, '', '', '', '', '', '', '']);
      continue;
    }
    const rates = row.runs.map((m) => m.report.handshakesPerSec);
    const failed = row.runs.reduce((a, m) => a + m.report.failed, 0);
    const started = row.runs.reduce((a, m) => a + m.report.started, 0);
    const util = median(row.runs.map((m) => (100 * m.responderCpuMs) / m.report.elapsedMs));
    const genUtil = median(row.runs.map((m) => (100 * m.report.cpuMs) / m.report.elapsedMs));
    const cpuRate = hsPerCpuS(row);
    let ratio = '';
    if (row.responder === 'ikegate') {
      const ref = byScenario(s, 'strongSwan');
      if (ref) ratio = `${(hsPerSec(row) / hsPerSec(ref)).toFixed(2)} / ${(cpuRate / hsPerCpuS(ref)).toFixed(2)}`;
    }
    out.push([
      row.responder,
      s.label,
      formatOps(hsPerSec(row)),
      `${formatOps(Math.min(...rates))}–${formatOps(Math.max(...rates))}`,
      `${failed}/${started}`,
      `${util.toFixed(0)} %`,
      formatOps(cpuRate),
      `${genUtil.toFixed(0)} %`,
      ratio,
      row.responder === 'ikegate' ? `${formatOps(s.ceiling)} ${s.ceilingNote} → ${((100 * cpuRate) / s.ceiling).toFixed(0)} %` : '',
    ]);
  }
  console.log('');
  console.log(
    table(
      ['responder', 'scenario', 'handshakes/s (median)', 'min–max', 'failed', 'responder CPU (1 core = 100 %)', 'handshakes per responder CPU-s', 'generator CPU', 'ikegate/strongSwan (wall / per CPU-s)', 'crypto-only ceiling/core (crypto-costs.md §1) → reached'],
      out,
    ),
  );
  const mem: string[][] = [];
  for (const row of rows) {
    if (row.skipped) continue;
    const perSa = median(row.runs.map((m) => ((m.rssAfterKb - m.rssBeforeKb) * 1024) / Math.max(1, m.report.ok)));
    mem.push([
      row.responder,
      row.scenario.label,
      `${(median(row.runs.map((m) => m.rssBeforeKb)) / 1024).toFixed(1)} MiB`,
      `${(median(row.runs.map((m) => m.rssAfterKb)) / 1024).toFixed(1)} MiB`,
      formatOps(median(row.runs.map((m) => m.report.ok))),
      `${formatOps(perSa)} B`,
    ]);
  }
  if (mem.length > 0) {
    console.log('');
    console.log(table(['responder', 'scenario', 'RSS before run', 'RSS with the run\'s IKE_SAs', 'IKE_SAs held', '≈ RSS per IKE_SA'], mem));
  }
  console.log(
    `\n${CONCURRENCY} handshakes in flight (one UDP source port each), ${TOTAL} per run (≤ ${MAX_MS} ms), median of ${RUNS} runs after a ${WARMUP}-handshake warm-up; ` +
      `no retransmission (timeout ${TIMEOUT_MS} ms = failure); childless IKE_AUTH (RFC 6023); IKE_SAs deleted after each run.\n` +
      `${pinned ? 'Responder pinned to CPU 1, generator to CPU 0' : 'No CPU pinning'}; responder CPU = utime+stime of all its threads (10 ms ticks). ` +
      `Wall-clock handshakes/s depends on other load on the machine (${cpus().length} CPUs, load average at the end: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}); ` +
      `handshakes per responder CPU-second is the steadier figure. RSS per IKE_SA is rough (GC, allocator caches).`,
  );
}

export async function runHandshakeBench(): Promise<void> {
  const why: string[] = [];
  if (process.platform !== 'linux') why.push(`needs Linux (this is ${process.platform})`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) why.push('needs root (network namespaces)');
  for (const t of ['ip', 'unshare']) if (!findTool(t)) why.push(`needs ${t}`);
  if (why.length > 0) {
    console.log(`handshake bench skipped: ${why.join('; ')}`);
    return;
  }
  const skipIkegate = existsSync(DAEMON_CLI) ? undefined : `ikegate is not built (${DAEMON_CLI}; run \`npm run build\`)`;
  const missingSwan = [
    ...(existsSync(CHARON_PATH) ? [] : [CHARON_PATH]),
    ...(findTool('swanctl') ? [] : ['swanctl']),
    ...['openssl', 'kdf', 'vici', 'socket-default', 'kernel-netlink', 'x509', 'pkcs8'].filter((p) => !existsSync(join(PLUGIN_DIR, `libstrongswan-${p}.so`))).map((p) => `plugin ${p}`),
  ];
  const skipSwan = missingSwan.length > 0 ? `strongSwan missing (${missingSwan.join(', ')}; scripts/test-deps.sh installs it)` : undefined;
  const skipCert = findTool('openssl') ? undefined : 'no openssl CLI for the test PKI';
  const pin = cpus().length >= 2 && process.env.IKEGATE_BENCH_NOPIN !== '1' && findTool('taskset');
  const genCpu = pin ? 0 : undefined;
  const respCpu = pin ? 1 : undefined;

  let topo: Topo | undefined;
  let gen: Generator | undefined;
  let current: Running | undefined;
  const cleanup = async (): Promise<void> => {
    await current?.stop().catch(() => undefined);
    current = undefined;
    await gen?.stop().catch(() => undefined);
    gen = undefined;
    if (topo) await destroyTopo(topo);
    topo = undefined;
  };
  const onSignal = (): void => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const rows: Row[] = [];
  const t0 = Date.now();
  try {
    topo = await buildTopo();
    const credDir = join(topo.workDir, 'gw');
    mkdirSync(credDir, { recursive: true });
    const client = skipCert ? undefined : makePki(credDir);
    gen = new Generator(topo.cl, genCpu);
    log(`handshake bench: ${topo.gw} ⇄ ${topo.cl}, ${CONCURRENCY} in flight, ${TOTAL} × ${RUNS} runs per row${pin ? ', responder on CPU 1, generator on CPU 0' : ''}`);
    const only = (process.env.IKEGATE_BENCH_HS_ONLY ?? '').split(',').filter((x) => x !== '');
    for (const s of SCENARIOS) {
      for (const responder of ['ikegate', 'strongSwan'] as const) {
        if (only.length > 0 && !only.includes(s.key) && !only.includes(responder)) continue;
        const skip = (responder === 'ikegate' ? skipIkegate : skipSwan) ?? (s.auth === 'cert' ? skipCert : undefined);
        if (skip) {
          rows.push({ responder, scenario: s, runs: [], skipped: skip });
          continue;
        }
        const spec: Omit<RunSpec, 'total' | 'maxMs' | 'concurrency'> = {
          target: GW,
          local: CLIENT,
          ike: s.ike,
          auth: s.auth === 'psk' ? { kind: 'psk', psk: PSK } : { kind: 'cert', certFile: client!.certFile, keyFile: client!.keyFile, id: CLIENT_ID },
          timeoutMs: TIMEOUT_MS,
          basePort: 20000,
        };
        try {
          current = responder === 'ikegate' ? await startIkegate(credDir, s, respCpu, topo.gw) : await startCharon(credDir, s, respCpu, topo.gw);
          const runs = await measure(gen, current, spec, `${responder} ${s.key}`);
          rows.push({ responder, scenario: s, runs });
        } catch (e) {
          log(`  ${responder} ${s.key} failed: ${(e as Error).message}`);
          rows.push({ responder, scenario: s, runs: [], skipped: `error: ${(e as Error).message.split('\n')[0] ?? ''}` });
        } finally {
          await current?.stop();
          current = undefined;
        }
      }
    }
  } finally {
    await cleanup();
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  log(`handshake bench took ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  render(rows, Boolean(pin));
  if (skipIkegate || skipSwan) console.log(`Skipped rows: ${[skipIkegate, skipSwan].filter(Boolean).join('; ')}`);
}
