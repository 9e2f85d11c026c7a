// Benchmark entry point: `node dist/bench/run.js [filter]`. Runs the crypto benches whose
// "algorithm impl operation" text contains the filter (case-insensitive), runs `openssl speed`
// for the matching reference algorithms, and prints one Markdown table with ops/s, µs/op,
// node/noble ratio and ours/OpenSSL ratio. Never asserts timings.
import { bench, formatOps, formatUs, sinkValue, table, type BenchResult } from './harness.js';
import { cryptoBenches, type BenchCase } from './crypto.js';
import { eapBenches } from './eap.js';
import { opensslSpeed, opensslVersion } from './openssl.js';
import { espMain } from './esp.js';
import { runEapTlsBench } from './eap-tls.js';
import { runHandshakeBench } from './handshake.js';
import { runXfrmBench } from './xfrm.js';

function main(): void {
  if (process.argv[2] === 'esp') return espMain(process.argv[3]); // userspace ESP dataplane (bench/esp.ts)
  const filter = (process.argv[2] ?? '').toLowerCase();
  // `node dist-bench/bench/run.js eap-tls`: full EAP-TLS handshakes (async, own table).
  if (filter === 'eap-tls') {
    void runEapTlsBench();
    return;
  }
  // `node dist-bench/bench/run.js handshake`: ikegate vs strongSwan over UDP in namespaces (bench/handshake.ts).
  if (filter === 'handshake') {
    void runHandshakeBench();
    return;
  }
  // `node dist-bench/bench/run.js xfrm`: XFRM installs per second, ours vs `ip -batch` (bench/xfrm.ts).
  if (filter === 'xfrm') {
    void runXfrmBench();
    return;
  }
  const cases = [...cryptoBenches(), ...eapBenches()].filter((c) => `${c.algorithm} ${c.impl} ${c.operation}`.toLowerCase().includes(filter));
  if (cases.length === 0) {
    console.error(`no benchmark matches '${filter}'`);
    process.exitCode = 1;
    return;
  }
  console.log(`node ${process.version}, ${cases.length} benchmarks${filter ? ` matching '${filter}'` : ''}`);
  const results = new Map<BenchCase, BenchResult>();
  for (const c of cases) {
    const r = bench(`${c.algorithm} ${c.impl}`, c.run);
    results.set(c, r);
    process.stderr.write(`  ${c.algorithm} [${c.impl}] ${c.operation}: ${formatOps(r.opsPerSec)} ops/s\n`);
  }

  const opensslAlgs = [...new Set(cases.map((c) => c.openssl).filter((a): a is string => a !== undefined))];
  const ossl = opensslAlgs.length > 0 ? opensslSpeed(opensslAlgs) : new Map<string, number>();

  const rows: string[][] = [];
  for (const c of cases) {
    const r = results.get(c);
    if (!r) continue;
    const nodeTwin = c.impl === 'node' ? undefined : cases.find((x) => x.impl === 'node' && x.algorithm === c.algorithm && x.operation === c.operation);
    const nobleTwin = c.impl === 'node' ? cases.find((x) => x.impl !== 'node' && x.algorithm === c.algorithm && x.operation === c.operation) : undefined;
    let vsPureJs = '';
    if (nobleTwin) {
      const other = results.get(nobleTwin);
      if (other) vsPureJs = `${(r.opsPerSec / other.opsPerSec).toFixed(2)}×`;
    } else if (nodeTwin) {
      const other = results.get(nodeTwin);
      if (other) vsPureJs = `(node ${(other.opsPerSec / r.opsPerSec).toFixed(2)}×)`;
    }
    // OpenSSL reports derive operations; a keygen + derive exchange costs about two of them.
    const derive = c.openssl ? ossl.get(c.openssl) : undefined;
    const opensslExchange = derive !== undefined ? derive / 2 : undefined;
    rows.push([
      c.algorithm,
      c.impl,
      c.operation,
      formatOps(r.opsPerSec),
      formatUs(r.usPerOp),
      `${formatOps(r.min)}–${formatOps(r.max)}`,
      vsPureJs,
      opensslExchange !== undefined ? formatOps(opensslExchange) : '',
      opensslExchange !== undefined ? `${(r.opsPerSec / opensslExchange).toFixed(2)}` : '',
    ]);
  }
  console.log('');
  console.log(
    table(['algorithm', 'impl', 'operation', 'ops/s (median)', 'µs/op', 'min–max', 'node/pure-JS', 'OpenSSL exch/s (derive/2)', 'ours/OpenSSL'], rows),
  );
  const v = opensslVersion();
  if (opensslAlgs.length > 0) {
    console.log(`\nOpenSSL reference: ${v ?? 'openssl CLI not found'}; \`openssl speed -seconds 1\` derive op/s: ${[...ossl].map(([k, n]) => `${k} ${formatOps(n)}`).join(', ') || 'none'}`);
  }
  if (sinkValue() === 0x7fffffff) console.log('');
}

main();
