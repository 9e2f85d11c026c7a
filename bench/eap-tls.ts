// Cost of one full EAP-TLS exchange (RFC 5216 / RFC 9190) through createEapTlsServer, with the
// test peer (node:tls client) on the other side: TLS 1.2 and TLS 1.3, ECDSA P-256 certificates on
// both sides, default fragment size. The figure includes the peer's half of the work (its
// signature, key exchange and verification), so the server's own cost is roughly half of it.
// Async, so it uses its own timing loop in the harness's style and reports a BenchResult.
import { formatOps, formatUs, table, type BenchResult } from './harness.js';
import { systemRng } from '../src/crypto/random.js';
import { createEapTlsServer, type EapTlsOptions } from '../src/eap/tls/eap-tls.js';
import { EapTlsPki, testVerifier } from '../test/unit/eap/tls-helpers/certs.js';
import { EapTlsTestPeer, runEapTls } from '../test/unit/eap/tls-helpers/peer.js';

async function timeAsync(name: string, fn: () => Promise<void>, runs = 5, minRunMs = 500): Promise<BenchResult> {
  for (let i = 0; i < 5; i++) await fn(); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    let ops = 0;
    let now = start;
    do {
      await fn();
      ops++;
      now = performance.now();
    } while (now - start < minRunMs);
    rates.push((ops * 1000) / (now - start));
  }
  rates.sort((a, b) => a - b);
  const median = rates[Math.floor(rates.length / 2)] ?? 0;
  return { name, opsPerSec: median, min: rates[0] ?? 0, max: rates[rates.length - 1] ?? 0, usPerOp: 1e6 / median };
}

export async function runEapTlsBench(): Promise<void> {
  const pki = new EapTlsPki();
  try {
    const ca = pki.root('Bench Root');
    const srv = pki.issue(ca, 'gw.example.org', 'p256', ['DNS:gw.example.org'], 'serverAuth');
    const cli = pki.issue(ca, 'alice', 'p256', ['email:alice@example.org'], 'clientAuth');
    const opts: EapTlsOptions = { certChainPem: srv.certPem, keyPem: srv.keyPem, caPem: [ca.certPem], verifyPeer: testVerifier([ca.certPem]) };
    const results: BenchResult[] = [];
    for (const version of ['TLSv1.2', 'TLSv1.3'] as const) {
      const r = await timeAsync(`EAP-TLS ${version} ECDSA P-256`, async () => {
        const peer = new EapTlsTestPeer({ caPem: ca.certPem, certPem: cli.certPem, keyPem: cli.keyPem, minVersion: version, maxVersion: version });
        const { final } = await runEapTls(createEapTlsServer(opts, 'alice@example.org', systemRng), peer);
        peer.destroy();
        if (final.kind !== 'success') throw new Error(`bench handshake failed: ${final.kind === 'failure' ? final.reason : ''}`);
      });
      results.push(r);
      process.stderr.write(`  ${r.name}: ${formatOps(r.opsPerSec)} handshakes/s\n`);
    }
    console.log('');
    console.log(table(['exchange (server + test peer)', 'handshakes/s (median)', 'time/handshake', 'min–max'], results.map((r) => [r.name, formatOps(r.opsPerSec), formatUs(r.usPerOp), `${formatOps(r.min)}–${formatOps(r.max)}`])));
  } finally {
    pki.cleanup();
  }
}
