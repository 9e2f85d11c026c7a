// Test PKI made with strongSwan's `pki` tool: a CA, the gateway certificate, client
// certificates (RSA and/or ECDSA), and optionally a second, untrusted CA with clients of its
// own. Writes swanctl-layout credential directories (x509/, x509ca/, private/).
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from './proc.js';

export type KeyType = 'rsa' | 'ecdsa';

export const GATEWAY_ID = 'gw.example.org';

export interface PkiClientSpec {
  /** File-name stem, e.g. "client-rsa". */
  name: string;
  /** dNSName SAN and CN; used as the IKE identity. */
  id: string;
  type: KeyType;
  /** Issue this client's certificate from the second, untrusted CA. */
  untrusted?: boolean;
  /**
   * Further subjectAltNames (pki --san syntax: "user@example.org" becomes an rfc822Name, an
   * IP address an iPAddress, anything else a dNSName), e.g. the EAP identity of an EAP-TLS
   * user when it differs from id.
   */
  extraSans?: string[];
  /**
   * Issue the certificate through this many intermediate CAs (root -> im1 -> … -> client). The
   * intermediates go only to the client (x509ca/), so the gateway learns them from CERT payloads.
   */
  intermediates?: number;
}

export interface PkiOptions {
  /** Directory for the PKI's own files (keys, certs). Created if missing. */
  dir: string;
  /** Key type of the CA (RSA-3072 or ECDSA P-256). */
  caType: KeyType;
  /** Key type of the gateway; defaults to caType. */
  gatewayType?: KeyType;
  /** dNSName of the gateway certificate (default gw.example.org). */
  gatewayId?: string;
  /** IP addresses added as iPAddress SANs of the gateway certificate. */
  gatewayIps: string[];
  clients: PkiClientSpec[];
  /** RSA modulus size (default 3072). */
  rsaBits?: number;
}

export interface IssuedCert {
  name: string;
  id: string;
  type: KeyType;
  untrusted: boolean;
  /** Paths to the PEM certificate and PEM private key. */
  cert: string;
  key: string;
  /** Intermediate CA certificates (PEM paths), issuer of the end entity first. */
  chain: string[];
}

export interface Pki {
  dir: string;
  caCert: string;
  /** Set when any client is untrusted. */
  untrustedCaCert: string | undefined;
  gateway: IssuedCert;
  clients: Record<string, IssuedCert>;
  /** Gateway credential dir: x509/server.pem, x509ca/ca.pem, private/server.key. */
  writeGatewayCredDir(dir: string): void;
  /** Client credential dir: x509/<name>.pem, x509ca/ca.pem (the trusted CA), private/<name>.key. */
  writeClientCredDir(name: string, dir: string): void;
  /** Trust-only credential dir: just x509ca/ca.pem (an EAP-MSCHAPv2 client verifying the gateway). */
  writeTrustDir(dir: string): void;
}

/** Writes a strongswan.conf that makes `pki` load only what it needs (no TPM warnings). */
function writePkiConf(dir: string): string {
  const path = join(dir, 'pki-strongswan.conf');
  writeFileSync(
    path,
    'pki {\n  load = random nonce openssl pem pkcs1 pkcs8 x509 pubkey\n}\n',
  );
  return path;
}

export async function createPki(opts: PkiOptions): Promise<Pki> {
  const dir = opts.dir;
  mkdirSync(dir, { recursive: true });
  const conf = writePkiConf(dir);
  const env = { STRONGSWAN_CONF: conf };
  const rsaBits = String(opts.rsaBits ?? 3072);
  const pki = async (args: string[], out: string): Promise<void> => {
    const r = await run(['pki', ...args], { env, timeoutMs: 60_000 });
    writeFileSync(out, r.stdout);
  };
  const genKey = async (type: KeyType, out: string): Promise<void> => {
    await pki(['--gen', '--type', type, '--size', type === 'rsa' ? rsaBits : '256', '--outform', 'pem'], out);
  };
  const selfSigned = async (stem: string, type: KeyType, cn: string): Promise<string> => {
    const key = join(dir, `${stem}.key`);
    const cert = join(dir, `${stem}.pem`);
    await genKey(type, key);
    await pki(
      ['--self', '--ca', '--lifetime', '30', '--in', key, '--type', type, '--dn', `C=XX, O=ikegate interop, CN=${cn}`, '--outform', 'pem'],
      cert,
    );
    return cert;
  };
  const issue = async (
    stem: string,
    type: KeyType,
    id: string,
    caStem: string,
    extra: string[],
  ): Promise<{ cert: string; key: string }> => {
    const key = join(dir, `${stem}.key`);
    const pub = join(dir, `${stem}.pub`);
    const cert = join(dir, `${stem}.pem`);
    await genKey(type, key);
    await pki(['--pub', '--in', key, '--outform', 'pem'], pub);
    await pki(
      [
        '--issue', '--lifetime', '30', '--in', pub, '--type', 'pub',
        '--cacert', join(dir, `${caStem}.pem`), '--cakey', join(dir, `${caStem}.key`),
        '--dn', `C=XX, O=ikegate interop, CN=${id}`, '--san', id, ...extra, '--outform', 'pem',
      ],
      cert,
    );
    return { cert, key };
  };

  const caCert = await selfSigned('ca', opts.caType, 'ikegate interop CA');
  const needUntrusted = opts.clients.some((c) => c.untrusted);
  const untrustedCaCert = needUntrusted ? await selfSigned('untrusted-ca', 'ecdsa', 'untrusted interop CA') : undefined;

  const gwId = opts.gatewayId ?? GATEWAY_ID;
  const gwType = opts.gatewayType ?? opts.caType;
  const gwFiles = await issue('server', gwType, gwId, 'ca', [
    ...opts.gatewayIps.flatMap((a) => ['--san', a]),
    '--flag', 'serverAuth', '--flag', 'ikeIntermediate',
  ]);
  const gateway: IssuedCert = { name: 'server', id: gwId, type: gwType, untrusted: false, chain: [], ...gwFiles };

  const clients: Record<string, IssuedCert> = {};
  await Promise.all(
    opts.clients.map(async (c) => {
      let issuer = c.untrusted ? 'untrusted-ca' : 'ca';
      const chain: string[] = [];
      for (let i = 1; i <= (c.intermediates ?? 0); i++) {
        const stem = `${c.name}-im${i}`;
        const im = await issue(stem, c.type, `${stem}.ca.example.org`, issuer, ['--ca']);
        chain.unshift(im.cert);
        issuer = stem;
      }
      // clientAuth EKU + SAN = id: what an EAP-TLS server (strongSwan, Windows NPS) checks
      const files = await issue(c.name, c.type, c.id, issuer, [
        ...(c.extraSans ?? []).flatMap((san) => ['--san', san]),
        '--flag', 'clientAuth',
      ]);
      clients[c.name] = { name: c.name, id: c.id, type: c.type, untrusted: c.untrusted ?? false, chain, ...files };
    }),
  );

  const layout = (credDir: string): void => {
    for (const sub of ['x509', 'x509ca', 'private']) mkdirSync(join(credDir, sub), { recursive: true });
  };
  return {
    dir,
    caCert,
    untrustedCaCert,
    gateway,
    clients,
    writeGatewayCredDir(credDir) {
      layout(credDir);
      copyFileSync(gateway.cert, join(credDir, 'x509', 'server.pem'));
      copyFileSync(gateway.key, join(credDir, 'private', 'server.key'));
      copyFileSync(caCert, join(credDir, 'x509ca', 'ca.pem'));
    },
    writeClientCredDir(name, credDir) {
      const c = clients[name];
      if (!c) throw new Error(`no client certificate named ${name}`);
      layout(credDir);
      copyFileSync(c.cert, join(credDir, 'x509', `${name}.pem`));
      copyFileSync(c.key, join(credDir, 'private', `${name}.key`));
      copyFileSync(caCert, join(credDir, 'x509ca', 'ca.pem'));
      c.chain.forEach((im, i) => copyFileSync(im, join(credDir, 'x509ca', `${name}-im${i + 1}.pem`)));
    },
    writeTrustDir(credDir) {
      layout(credDir);
      copyFileSync(caCert, join(credDir, 'x509ca', 'ca.pem'));
    },
  };
}
