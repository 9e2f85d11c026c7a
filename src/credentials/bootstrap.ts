// First-start credentials: a private CA and a server certificate that the native Windows and
// Apple IKEv2 clients accept (field-facts §2.1.5, §2.2): EKU serverAuth + IKE Intermediate
// (1.3.6.1.5.5.8.2.2), keyUsage digitalSignature, every hostname as SAN dNSName and every
// address as both dNSName and iPAddress, CN = first hostname. Certificates are RFC 5280 v3,
// built and signed with pkijs over node's WebCrypto. Default keys are ECDSA P-256
// (crypto-costs §2: 31 µs per signature against 754 µs for RSA-2048).
import { createHash, createPrivateKey, webcrypto } from 'node:crypto';
import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import * as asn1js from 'asn1js';
import { ConfigError } from '../ike/errors.js';
import { checkSignature } from './chain.js';
import { parseIp } from '../net/address.js';
import { ensurePkijsEngine, pkijs } from './pkijs-engine.js';
import { EKU, encodePem, parseCertificate, readPemBlocks, type Certificate } from './x509.js';

export type BootstrapKeyType = 'ecdsa-p256' | 'rsa-3072';

export interface BootstrapOptions {
  hostnames: string[];
  addresses: string[];
  keyType?: BootstrapKeyType;
  /** For tests: the time "now". */
  now?: Date;
}

export interface BootstrapResult {
  caCertPath: string;
  serverCertPath: string;
  /** "AB:CD:…" as `openssl x509 -fingerprint -sha256` prints it, for pinning in client profiles. */
  caFingerprintSha256: string;
  created: boolean;
}

export interface IssuedClientCertificate {
  certPem: string;
  keyPem: string;
  caCertPem: string;
}

const DAY = 86_400_000;
const CA_DAYS = 3650;
/** Below Apple's 825-day ceiling for TLS server certificates, in case it is applied to IKE too. */
const SERVER_DAYS = 800;
const CLIENT_DAYS = 730;
const RENEW_BEFORE_DAYS = 30;

const paths = (stateDir: string) => {
  const base = join(stateDir, 'swanctl');
  return {
    base,
    caCert: join(base, 'x509ca', 'ikegate-ca.pem'),
    caKey: join(base, 'private', 'ikegate-ca.key'),
    serverCert: join(base, 'x509', 'server.pem'),
    serverKey: join(base, 'private', 'server.key'),
  };
};

const subtle = webcrypto.subtle;
type CryptoKey = webcrypto.CryptoKey;
type PkijsKey = Parameters<pkijs.Certificate['sign']>[0];

function keyAlgorithm(kind: BootstrapKeyType): webcrypto.EcKeyGenParams | webcrypto.RsaHashedKeyGenParams {
  return kind === 'ecdsa-p256'
    ? { name: 'ECDSA', namedCurve: 'P-256' }
    : { name: 'RSASSA-PKCS1-v1_5', modulusLength: 3072, publicExponent: new Uint8Array([1, 0, 1]), hash: 'SHA-256' };
}

async function generateKeyPair(kind: BootstrapKeyType): Promise<webcrypto.CryptoKeyPair> {
  return (await subtle.generateKey(keyAlgorithm(kind), true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
}

async function privateKeyPem(key: CryptoKey): Promise<string> {
  return encodePem('PRIVATE KEY', await subtle.exportKey('pkcs8', key));
}

/** Imports a PKCS#8 PEM private key for pkijs signing; its algorithm is read from the key. */
async function importSigningKey(keyPem: string, file: string): Promise<CryptoKey> {
  let ko;
  try {
    ko = createPrivateKey(keyPem);
  } catch (e) {
    throw new ConfigError(`cannot read CA private key: ${(e as Error).message}`, file);
  }
  const der = ko.export({ type: 'pkcs8', format: 'der' });
  if (ko.asymmetricKeyType === 'ec') {
    const curve = { prime256v1: 'P-256', secp384r1: 'P-384', secp521r1: 'P-521' }[ko.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new ConfigError('unsupported CA key curve', file);
    return subtle.importKey('pkcs8', der, { name: 'ECDSA', namedCurve: curve }, false, ['sign']);
  }
  if (ko.asymmetricKeyType === 'rsa') return subtle.importKey('pkcs8', der, { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' }, false, ['sign']);
  throw new ConfigError(`unsupported CA key type ${ko.asymmetricKeyType}`, file);
}

function name(attrs: [string, string][]): pkijs.RelativeDistinguishedNames {
  return new pkijs.RelativeDistinguishedNames({
    typesAndValues: attrs.map(([type, value]) => new pkijs.AttributeTypeAndValue({ type, value: new asn1js.Utf8String({ value }) })),
  });
}

function ext(extnID: string, critical: boolean, value: { toBER(sizeOnly?: boolean): ArrayBuffer }): pkijs.Extension {
  return new pkijs.Extension({ extnID, critical, extnValue: value.toBER(false) });
}

/** keyUsage BIT STRING with the given bit numbers set (RFC 5280 §4.2.1.3). */
function keyUsage(bits: number[]): asn1js.BitString {
  const max = Math.max(...bits);
  const bytes = new Uint8Array(Math.floor(max / 8) + 1);
  for (const b of bits) bytes[Math.floor(b / 8)]! |= 0x80 >> b % 8;
  return new asn1js.BitString({ valueHex: bytes, unusedBits: 7 - (max % 8) });
}

function time(d: Date): pkijs.Time {
  // RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050.
  return new pkijs.Time({ type: d.getUTCFullYear() >= 2050 ? 1 : 0, value: d });
}

function randomSerial(): asn1js.Integer {
  const b = new Uint8Array(webcrypto.getRandomValues(new Uint8Array(16)));
  b[0] = (b[0]! & 0x7f) | 0x40; // positive, and no leading zero octet to strip
  return new asn1js.Integer({ valueHex: b });
}

interface IssueParams {
  subject: [string, string][];
  issuer: pkijs.RelativeDistinguishedNames | 'self';
  publicKey: CryptoKey;
  signingKey: CryptoKey;
  /** subjectKeyIdentifier of the issuer, for authorityKeyIdentifier. */
  issuerSki?: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  ca: boolean;
  ekus?: string[];
  san?: { dns?: string[]; ip?: Uint8Array[]; email?: string[] };
}

async function issue(p: IssueParams): Promise<Uint8Array> {
  ensurePkijsEngine();
  const cert = new pkijs.Certificate();
  cert.version = 2;
  cert.serialNumber = randomSerial();
  cert.subject = name(p.subject);
  cert.issuer = p.issuer === 'self' ? name(p.subject) : p.issuer;
  cert.notBefore = time(p.notBefore);
  cert.notAfter = time(p.notAfter);
  await cert.subjectPublicKeyInfo.importKey(p.publicKey as unknown as PkijsKey);
  // subjectKeyIdentifier: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1).
  const ski = new Uint8Array(createHash('sha1').update(cert.subjectPublicKeyInfo.subjectPublicKey.valueBlock.valueHexView).digest());
  const exts: pkijs.Extension[] = [
    ext('2.5.29.19', true, new pkijs.BasicConstraints(p.ca ? { cA: true, pathLenConstraint: 0 } : {}).toSchema()),
    ext('2.5.29.15', true, keyUsage(p.ca ? [5, 6] : [0])), // keyCertSign+cRLSign | digitalSignature
    ext('2.5.29.14', false, new asn1js.OctetString({ valueHex: ski })),
  ];
  const aki = p.issuer === 'self' ? ski : p.issuerSki;
  if (aki) exts.push(ext('2.5.29.35', false, new pkijs.AuthorityKeyIdentifier({ keyIdentifier: new asn1js.OctetString({ valueHex: aki }) }).toSchema()));
  if (p.ekus?.length) exts.push(ext('2.5.29.37', false, new pkijs.ExtKeyUsage({ keyPurposes: p.ekus }).toSchema()));
  if (p.san) {
    const names: pkijs.GeneralName[] = [
      ...(p.san.dns ?? []).map((d) => new pkijs.GeneralName({ type: 2, value: d })),
      ...(p.san.email ?? []).map((e) => new pkijs.GeneralName({ type: 1, value: e })),
      ...(p.san.ip ?? []).map((ip) => new pkijs.GeneralName({ type: 7, value: new asn1js.OctetString({ valueHex: ip }) })),
    ];
    if (names.length) exts.push(ext('2.5.29.17', false, new pkijs.AltName({ altNames: names }).toSchema()));
  }
  cert.extensions = exts;
  await cert.sign(p.signingKey as unknown as PkijsKey, 'SHA-256');
  return new Uint8Array(cert.toSchema(true).toBER(false));
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/** Writes via a temporary file and rename, so a crash never leaves half a key behind. */
async function writeAtomic(file: string, data: string, mode: number, dirMode: number): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: dirMode });
  const tmp = `${file}.tmp-${process.pid}`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, file);
}

function fingerprint(der: Uint8Array): string {
  return createHash('sha256').update(der).digest('hex').toUpperCase().match(/../g)!.join(':');
}

async function readCert(file: string): Promise<Certificate> {
  try {
    return parseCertificate(await readFile(file, 'latin1'));
  } catch (e) {
    throw new ConfigError(`cannot read certificate: ${(e as Error).message}`, file);
  }
}

/** The server certificate still fits: signed by this CA, long enough valid, covering every name. */
function serverCertFits(server: Certificate, ca: Certificate, opts: BootstrapOptions, now: Date): boolean {
  if (server.notAfter.getTime() - now.getTime() < RENEW_BEFORE_DAYS * DAY) return false;
  if (checkSignature(server, ca) !== undefined) return false;
  const dns = new Set(server.sans.dns.map((d) => d.toLowerCase()));
  if (!opts.hostnames.every((h) => dns.has(h.toLowerCase()))) return false;
  return opts.addresses.every((a) => {
    const b = parseIp(a);
    return dns.has(a.toLowerCase()) && b !== undefined && server.sans.ip.some((ip) => Buffer.compare(ip, b) === 0);
  });
}

/**
 * Creates (first start) or reuses `<stateDir>/swanctl/{x509ca/ikegate-ca.pem,
 * private/ikegate-ca.key, x509/server.pem, private/server.key}`. The server certificate is
 * re-issued when missing, within 30 days of expiry, or when it no longer lists every
 * requested hostname/address; the CA is never replaced while both its files exist.
 */
export async function ensureDefaultCredentials(stateDir: string, opts: BootstrapOptions): Promise<BootstrapResult> {
  const p = paths(stateDir);
  const now = opts.now ?? new Date();
  const kind = opts.keyType ?? 'ecdsa-p256';
  for (const a of opts.addresses) if (!parseIp(a)) throw new ConfigError(`not an IP address: ${a}`);
  const cn = opts.hostnames[0] ?? opts.addresses[0];
  if (!cn) throw new ConfigError('bootstrap needs at least one hostname or address for the server certificate');
  let created = false;

  const [haveCaCert, haveCaKey] = [await exists(p.caCert), await exists(p.caKey)];
  if (haveCaCert !== haveCaKey)
    throw new ConfigError(`found ${haveCaCert ? p.caCert : p.caKey} without ${haveCaCert ? p.caKey : p.caCert}; refusing to replace a CA half-way`);

  let ca: Certificate;
  let caKey: CryptoKey;
  if (haveCaCert) {
    ca = await readCert(p.caCert);
    caKey = await importSigningKey(await readFile(p.caKey, 'latin1'), p.caKey);
  } else {
    const pair = await generateKeyPair(kind);
    const der = await issue({
      subject: [
        ['2.5.4.10', 'ikegate'],
        ['2.5.4.3', `ikegate CA ${cn}`],
      ],
      issuer: 'self',
      publicKey: pair.publicKey,
      signingKey: pair.privateKey,
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + CA_DAYS * DAY),
      ca: true,
    });
    await writeAtomic(p.caKey, await privateKeyPem(pair.privateKey), 0o600, 0o700);
    await writeAtomic(p.caCert, encodePem('CERTIFICATE', der), 0o644, 0o755);
    ca = parseCertificate(der);
    caKey = pair.privateKey;
    created = true;
  }

  let fits = false;
  if (!created && (await exists(p.serverCert)) && (await exists(p.serverKey))) {
    fits = serverCertFits(await readCert(p.serverCert), ca, opts, now);
  }
  if (!fits) {
    const pair = await generateKeyPair(kind);
    const ips = opts.addresses.map((a) => parseIp(a)!);
    const der = await issue({
      subject: [['2.5.4.3', cn]],
      issuer: await caSubject(ca),
      issuerSki: ca.subjectKeyIdentifier,
      publicKey: pair.publicKey,
      signingKey: caKey,
      notBefore: new Date(now.getTime() - 3600_000),
      notAfter: new Date(now.getTime() + SERVER_DAYS * DAY),
      ca: false,
      ekus: [EKU.serverAuth, EKU.ikeIntermediate],
      // Windows matches an IP-address server only against dNSName; RFC-minded clients use iPAddress.
      san: { dns: [...opts.hostnames, ...opts.addresses], ip: ips },
    });
    await writeAtomic(p.serverKey, await privateKeyPem(pair.privateKey), 0o600, 0o700);
    await writeAtomic(p.serverCert, encodePem('CERTIFICATE', der), 0o644, 0o755);
    created = true;
  }
  return { caCertPath: p.caCert, serverCertPath: p.serverCert, caFingerprintSha256: fingerprint(ca.der), created };
}

/** The CA's subject as pkijs needs it for an issuer field (byte-identical to the CA's DER). */
async function caSubject(ca: Certificate): Promise<pkijs.RelativeDistinguishedNames> {
  ensurePkijsEngine();
  const asn = asn1js.fromBER(new Uint8Array(ca.subjectDer));
  return new pkijs.RelativeDistinguishedNames({ schema: asn.result });
}

/**
 * Issues a client certificate from the bootstrap CA (backs `ikegate cert issue`): EKU
 * clientAuth + IKE Intermediate (helps Windows choose the right machine certificate,
 * field-facts §2.1.3), SAN rfc822Name when `name` is an email address, else dNSName.
 * PKCS#12 is not produced: node has no PKCS#12 writer.
 */
export async function issueClientCertificate(
  stateDir: string,
  opts: { name: string; keyType?: BootstrapKeyType; now?: Date },
): Promise<IssuedClientCertificate> {
  const p = paths(stateDir);
  if (!(await exists(p.caCert)) || !(await exists(p.caKey))) throw new ConfigError('no ikegate CA yet; start the daemon once (or run bootstrap) first', p.caCert);
  if (!opts.name || /[\u0000-\u001f\u007f]/.test(opts.name)) throw new ConfigError(`unsuitable certificate name '${opts.name}'`);
  const now = opts.now ?? new Date();
  const caPem = await readFile(p.caCert, 'latin1');
  const ca = await readCert(p.caCert);
  const caKey = await importSigningKey(await readFile(p.caKey, 'latin1'), p.caKey);
  const pair = await generateKeyPair(opts.keyType ?? 'ecdsa-p256');
  const isEmail = opts.name.includes('@');
  const der = await issue({
    subject: [['2.5.4.3', opts.name]],
    issuer: await caSubject(ca),
    issuerSki: ca.subjectKeyIdentifier,
    publicKey: pair.publicKey,
    signingKey: caKey,
    notBefore: new Date(now.getTime() - 3600_000),
    notAfter: new Date(now.getTime() + CLIENT_DAYS * DAY),
    ca: false,
    ekus: [EKU.clientAuth, EKU.ikeIntermediate],
    san: isEmail ? { email: [opts.name] } : { dns: [opts.name] },
  });
  const caBlock = readPemBlocks(caPem)[0];
  return { certPem: encodePem('CERTIFICATE', der), keyPem: await privateKeyPem(pair.privateKey), caCertPem: caBlock ? encodePem('CERTIFICATE', caBlock.der) : caPem };
}
