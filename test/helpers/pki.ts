// Test certificates made with the openssl CLI in a temporary directory (never in the source
// tree): RSA or ECDSA keys, a root CA, optional intermediate CAs and end-entity certificates
// with subjectAltNames, as a real deployment would have them.
import { execFileSync } from 'node:child_process';
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CredentialStore, type LocalCredential } from '../../src/credentials/store.js';
import { parseCertificate, type Certificate } from '../../src/credentials/x509.js';

export type KeySpec = 'rsa2048' | 'rsa3072' | 'p256' | 'p384';

export interface Issued {
  name: string;
  certFile: string;
  keyFile: string;
  cert: Certificate;
  key: KeyObject;
}

let serial = 1000;

export class TestPki {
  readonly dir = mkdtempSync(join(tmpdir(), 'ikegate-exchange-pki-'));

  private run(args: string[]): void {
    execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  }

  private key(name: string, spec: KeySpec): string {
    const file = join(this.dir, `${name}.key`);
    const algo =
      spec === 'rsa2048' ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048']
      : spec === 'rsa3072' ? ['-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:3072']
      : ['-algorithm', 'EC', '-pkeyopt', `ec_paramgen_curve:${spec === 'p256' ? 'P-256' : 'P-384'}`];
    this.run(['genpkey', ...algo, '-out', file]);
    return file;
  }

  private load(name: string, certFile: string, keyFile: string): Issued {
    return { name, certFile, keyFile, cert: parseCertificate(readFileSync(certFile, 'latin1')), key: createPrivateKey(readFileSync(keyFile, 'latin1')) };
  }

  /** A self-signed root CA. `subject` in openssl form, e.g. "/C=CH/O=Test/CN=Test Root". */
  root(name: string, subject: string, spec: KeySpec): Issued {
    const keyFile = this.key(name, spec);
    const certFile = join(this.dir, `${name}.pem`);
    // The [v3] section of reqConfig() holds the CA extensions.
    this.run(['req', '-x509', '-new', '-key', keyFile, '-subj', subject, '-days', '30', '-sha256', '-config', this.reqConfig(), '-extensions', 'v3', '-out', certFile]);
    return this.load(name, certFile, keyFile);
  }

  /** A certificate for a new key, issued by `issuer`; `ca` makes an intermediate CA. */
  issue(name: string, subject: string, spec: KeySpec, issuer: Issued, o: { san?: string[]; ca?: boolean; eku?: string[] } = {}): Issued {
    const keyFile = this.key(name, spec);
    const csr = join(this.dir, `${name}.csr`);
    const certFile = join(this.dir, `${name}.pem`);
    this.run(['req', '-new', '-key', keyFile, '-subj', subject, '-config', this.reqConfig(), '-out', csr]);
    const lines = o.ca
      ? ['basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign']
      : ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature'];
    lines.push('subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid');
    if (o.san?.length) lines.push(`subjectAltName=${o.san.join(',')}`);
    if (o.eku?.length) lines.push(`extendedKeyUsage=${o.eku.join(',')}`);
    const ext = this.extFile(name, lines);
    this.run(['x509', '-req', '-in', csr, '-CA', issuer.certFile, '-CAkey', issuer.keyFile, '-set_serial', String(serial++), '-days', '30', '-sha256', '-extfile', ext.file, '-extensions', 'v3', '-out', certFile]);
    return this.load(name, certFile, keyFile);
  }

  private reqConfig(): string {
    const file = join(this.dir, 'req.cnf');
    writeFileSync(file, '[req]\ndistinguished_name = dn\n[dn]\n[v3]\nbasicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n');
    return file;
  }

  private extFile(name: string, lines: string[]): { file: string } {
    const file = join(this.dir, `${name}.ext`);
    writeFileSync(file, `[v3]\n${lines.join('\n')}\n`);
    return { file };
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The client side's credential (certificate, chain to send, private key) for signAuth. */
export function clientCredential(leaf: Issued, chain: Issued[] = []): LocalCredential {
  const store = CredentialStore.fromMemory({ credentials: [{ cert: leaf.cert, privateKey: leaf.key, chain: chain.map((c) => c.cert) }] });
  const cred = store.localCredentials()[0];
  if (!cred) throw new Error('no credential');
  return cred;
}

/** The gateway's store: its own certificate(s) with chains and the CAs it trusts. */
export function gatewayStore(o: { own: { leaf: Issued; chain?: Issued[] }[]; anchors: Issued[] }): CredentialStore {
  return CredentialStore.fromMemory({
    anchors: o.anchors.map((a) => a.cert),
    credentials: o.own.map((c) => ({ cert: c.leaf.cert, privateKey: c.leaf.key, chain: (c.chain ?? []).map((x) => x.cert) })),
  });
}
