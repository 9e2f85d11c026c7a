// Test certificates for EAP-TLS, made with the openssl CLI in a temporary directory: a root CA,
// a gateway (server) certificate, RSA and ECDSA client certificates, and a client certificate from
// a CA the gateway does not trust. Plus a small verifyPeer built on node's X509Certificate
// (issuer signature, validity, identity in CN or subjectAltName) standing in for the credential store.
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EapTlsOptions } from '../../../../src/eap/tls/eap-tls.js';

export type KeyKind = 'p256' | 'rsa2048';

export interface Pem {
  certPem: string;
  keyPem: string;
}

export class EapTlsPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'ikegate-eaptls-'));
  #n = 0;

  #run(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  #key(kind: KeyKind): string {
    const file = join(this.dir, `k${++this.#n}.key`);
    const algo = kind === 'p256' ? ['-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256'] : ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048'];
    this.#run(['genpkey', ...algo, '-out', file]);
    return file;
  }

  root(cn: string, kind: KeyKind = 'p256'): Pem & { certFile: string; keyFile: string } {
    const keyFile = this.#key(kind);
    const certFile = join(this.dir, `c${++this.#n}.pem`);
    const ext = join(this.dir, `e${this.#n}.cnf`);
    writeFileSync(ext, '[req]\ndistinguished_name=dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
    this.#run(['req', '-x509', '-new', '-key', keyFile, '-subj', `/O=ikegate test/CN=${cn}`, '-days', '3', '-sha256', '-config', ext, '-extensions', 'v3', '-out', certFile]);
    return { certFile, keyFile, certPem: readFileSync(certFile, 'latin1'), keyPem: readFileSync(keyFile, 'latin1') };
  }

  /** An end-entity certificate issued by `ca`, with subjectAltNames (e.g. "email:alice@example.org"). */
  issue(ca: { certFile: string; keyFile: string }, cn: string, kind: KeyKind, san: string[], eku: 'serverAuth' | 'clientAuth'): Pem {
    const keyFile = this.#key(kind);
    const csr = join(this.dir, `r${++this.#n}.csr`);
    const certFile = join(this.dir, `c${this.#n}.pem`);
    const ext = join(this.dir, `e${this.#n}.cnf`);
    writeFileSync(ext, `basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature${kind === 'rsa2048' ? ',keyEncipherment' : ''}\nextendedKeyUsage=${eku}\nsubjectAltName=${san.join(',')}\n`);
    this.#run(['req', '-new', '-key', keyFile, '-subj', `/O=ikegate test/CN=${cn}`, '-out', csr]);
    this.#run(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', String(1000 + this.#n), '-days', '2', '-sha256', '-extfile', ext, '-out', certFile]);
    return { certPem: readFileSync(certFile, 'latin1'), keyPem: readFileSync(keyFile, 'latin1') };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A verifyPeer for tests: the leaf must be signed by one of `anchorsPem` (directly), be valid at
 * `now()`, and carry the EAP identity as CN, email or DNS subjectAltName.
 */
export function testVerifier(anchorsPem: string[], now: () => Date = () => new Date()): EapTlsOptions['verifyPeer'] {
  const anchors = anchorsPem.map((p) => new X509Certificate(p));
  return async (certsDer, identity) => {
    const der = certsDer[0];
    if (!der) return { ok: false, reason: 'no certificate' };
    const leaf = new X509Certificate(der);
    const subject = leaf.subject.split('\n').join(', ');
    const issuer = anchors.find((a) => leaf.checkIssued(a) && leaf.verify(a.publicKey));
    if (!issuer) return { ok: false, reason: `issuer '${leaf.issuer.split('\n').join(', ')}' is not a trusted CA` };
    const t = now().getTime();
    if (t < Date.parse(leaf.validFrom) || t > Date.parse(leaf.validTo)) return { ok: false, reason: `certificate expired or not yet valid (${leaf.validFrom} .. ${leaf.validTo})` };
    const names = [`CN=${identity}`, `email:${identity}`, `DNS:${identity}`];
    const hay = `${leaf.subject}\n${leaf.subjectAltName ?? ''}`.split(/\n|, /);
    if (!names.some((n) => hay.includes(n))) return { ok: false, reason: `identity '${identity}' not in certificate` };
    return { ok: true, subject };
  };
}
