// Reference numbers from the OpenSSL CLI on the same machine (`openssl speed -seconds 1 ALG`),
// parsed from its human-readable output. Missing algorithms or a missing CLI give no entry.
import { spawnSync } from 'node:child_process';

/** OpenSSL speed algorithm name -> pattern of its result line (the last number is op/s). */
const ALGORITHMS: Record<string, RegExp> = {
  ecdhx25519: /ecdh \(X25519\)\s+[\d.]+s\s+([\d.]+)/,
  ecdhx448: /ecdh \(X448\)\s+[\d.]+s\s+([\d.]+)/,
  ecdhp256: /ecdh \(nistp256\)\s+[\d.]+s\s+([\d.]+)/,
  ecdhp384: /ecdh \(nistp384\)\s+[\d.]+s\s+([\d.]+)/,
  ecdhp521: /ecdh \(nistp521\)\s+[\d.]+s\s+([\d.]+)/,
  ffdh2048: /2048 bits ffdh\s+[\d.]+s\s+([\d.]+)/,
  ffdh3072: /3072 bits ffdh\s+[\d.]+s\s+([\d.]+)/,
};

export type OpensslAlgorithm = keyof typeof ALGORITHMS;

/** One derive operation per second for each algorithm the local `openssl speed` supports. */
export function opensslSpeed(algs: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const alg of algs) {
    const pattern = ALGORITHMS[alg];
    if (!pattern) continue;
    const r = spawnSync('openssl', ['speed', '-seconds', '1', alg], { encoding: 'utf8', timeout: 30_000 });
    if (r.status !== 0 || typeof r.stdout !== 'string') continue;
    const m = pattern.exec(r.stdout);
    if (m?.[1]) out.set(alg, Number(m[1]));
  }
  return out;
}

export function opensslVersion(): string | undefined {
  const r = spawnSync('openssl', ['version'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}
