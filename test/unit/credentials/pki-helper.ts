// Test helper: makes foreign certificates with strongSwan's `pki` tool and the openssl CLI in
// a temporary directory, so the credential code is checked against other implementations'
// output rather than against its own.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export class Pki {
  readonly dir: string;
  readonly #conf: string;

  constructor() {
    this.dir = mkdtempSync(join(tmpdir(), 'ikegate-creds-'));
    this.#conf = join(this.dir, 'strongswan.conf');
    // Only the plugins pki needs: avoids TPM and other plugin warnings on stderr.
    writeFileSync(this.#conf, 'pki {\n  load = openssl pem pkcs1 pkcs8 x509 pubkey random nonce sha1 sha2 gmp\n}\n');
  }

  path(name: string): string {
    return join(this.dir, name);
  }

  pki(args: string[]): Buffer {
    return execFileSync('pki', args, { env: { ...process.env, STRONGSWAN_CONF: this.#conf }, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  openssl(args: string[], input?: Buffer | string): Buffer {
    return execFileSync('openssl', args, { input, stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** `pki --gen`; returns the key file path (PEM). */
  key(name: string, type: 'rsa' | 'ecdsa' | 'ed25519' = 'ecdsa', size?: number): string {
    const args = ['--gen', '--type', type, '--outform', 'pem'];
    if (size) args.push('--size', String(size));
    const file = this.path(`${name}.key`);
    writeFileSync(file, this.pki(args));
    return file;
  }

  /** Self-signed CA; returns the certificate file path (PEM). */
  selfCa(name: string, dn: string, keyFile: string, keyType: 'rsa' | 'ecdsa' | 'ed25519' = 'ecdsa', extra: string[] = []): string {
    const file = this.path(`${name}.pem`);
    writeFileSync(file, this.pki(['--self', '--ca', '--in', keyFile, '--type', keyType, '--dn', dn, '--outform', 'pem', ...extra]));
    return file;
  }

  /** `pki --issue` of `keyFile`'s public key by `caCert`/`caKey`; returns the certificate file (PEM). */
  issue(
    name: string,
    keyFile: string,
    caCert: string,
    caKey: string,
    dn: string,
    opts: { san?: string[]; ca?: boolean; flags?: string[]; lifetimeDays?: number; pathlen?: number } = {},
  ): string {
    const args = ['--issue', '--cacert', caCert, '--cakey', caKey, '--in', keyFile, '--type', 'priv', '--dn', dn, '--outform', 'pem'];
    for (const s of opts.san ?? []) args.push('--san', s);
    for (const f of opts.flags ?? []) args.push('--flag', f);
    if (opts.ca) args.push('--ca');
    if (opts.pathlen !== undefined) args.push('--pathlen', String(opts.pathlen));
    if (opts.lifetimeDays !== undefined) args.push('--lifetime', String(opts.lifetimeDays));
    const file = this.path(`${name}.pem`);
    writeFileSync(file, this.pki(args));
    return file;
  }

  read(file: string): Buffer {
    return readFileSync(file);
  }

  /** DER bytes of a PEM certificate file. */
  der(file: string): Uint8Array {
    return new Uint8Array(this.openssl(['x509', '-in', file, '-outform', 'DER']));
  }

  cleanup(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
