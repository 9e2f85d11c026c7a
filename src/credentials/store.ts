// Credential store: own certificates and private keys, trust anchors, and the checks made on
// a peer's certificates (RFC 7296 §2.15, §3.6–3.7; RFC 4945 §3, §5). Loads a swanctl-style
// directory (x509/, x509ca/, private/, rsa/, ecdsa/, pkcs8/ — PEM or DER). Lookups that may
// later move into a separate "keys" process (architecture §9.4, §11.9) return promises or
// plain data; private keys are parsed once into KeyObjects (crypto-costs §3.4).
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { readFile, readdir, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { ConfigError } from '../ike/errors.js';
import type { IkeIdentity, SecretConfig } from '../policy/policy.js';
import { toHex } from '../crypto/bytes.js';
import { verifyChain } from './chain.js';
import { certificateMatchesIdentity, identitiesOf, identityText } from './match.js';
import { formatName, namesEqual } from './names.js';
import { findSharedKey } from './psk.js';
import { CertificateError, isValidAt, looksLikePem, parseCertificate, readPemBlocks, type Certificate } from './x509.js';

export interface LocalCredential {
  cert: Certificate;
  /** Intermediates we know, leaf excluded, up to but excluding a self-signed root. */
  chain: Certificate[];
  privateKey: KeyObject;
  /** What the certificate proves, subject DN first (see identitiesOf). */
  identities: IkeIdentity[];
}

export type PeerVerdict = { ok: true; cert: Certificate; publicKey: KeyObject; subject: string } | { ok: false; reason: string };

interface LocalEntry {
  cred: LocalCredential;
  /** keyIds (hex) of every CA above the leaf, trust anchor included: matched against CERTREQ. */
  issuerKeyIds: string[];
}

interface AnchorEntry {
  cert: Certificate;
  file: string;
}

/** Bounded cache of parsed certificates by SHA-256 of their DER, so that returning peers
 *  cost neither a parse nor a key import (crypto-costs §3.6). */
export class CertificateCache {
  readonly #map = new Map<string, Certificate>();
  constructor(readonly max = 4096) {}

  get(der: Uint8Array): Certificate {
    const key = createHash('sha256').update(der).digest('base64');
    const hit = this.#map.get(key);
    if (hit) {
      // Refresh: Map iteration order is insertion order, so this makes eviction LRU.
      this.#map.delete(key);
      this.#map.set(key, hit);
      return hit;
    }
    const cert = parseCertificate(der);
    this.#map.set(key, cert);
    if (this.#map.size > this.max) this.#map.delete(this.#map.keys().next().value!);
    return cert;
  }

  get size(): number {
    return this.#map.size;
  }
}

export interface MemoryCredentials {
  anchors?: Certificate[];
  /** Own credentials; `chain` may be omitted and is then built from `intermediates`. */
  credentials?: { cert: Certificate; privateKey: KeyObject; chain?: Certificate[] }[];
  intermediates?: Certificate[];
}

const KEY_DIRS = ['private', 'rsa', 'ecdsa', 'pkcs8'] as const;
const PASSPHRASE_KINDS = new Set<SecretConfig['kind']>(['private', 'rsa', 'ecdsa', 'pkcs8']);

export class CredentialStore {
  readonly #locals: LocalEntry[] = [];
  readonly #anchors: AnchorEntry[] = [];
  readonly #intermediates: Certificate[] = [];
  readonly #cache = new CertificateCache();
  /** Non-fatal findings of the last load, for the daemon to log at start-up. */
  readonly warnings: string[] = [];

  private constructor() {}

  /** An empty store (PSK/EAP-only gateways, tests). */
  static empty(): CredentialStore {
    return new CredentialStore();
  }

  /** Builds a store from already parsed objects (tests, and the bootstrap path). */
  static fromMemory(m: MemoryCredentials, now = new Date()): CredentialStore {
    const s = new CredentialStore();
    for (const a of m.anchors ?? []) s.#anchors.push({ cert: a, file: '' });
    s.#intermediates.push(...(m.intermediates ?? []));
    for (const c of m.credentials ?? []) s.#addLocal(c.cert, c.privateKey, now, c.chain);
    return s;
  }

  /**
   * Loads `<dir>/{x509,x509ca,private,rsa,ecdsa,pkcs8}`. Passphrases of encrypted keys come
   * from `private-x { file = …, secret = … }` entries of `secrets`. Any problem that would
   * leave the gateway without a credential it was given is a ConfigError naming the file.
   */
  static async load(dir: string, secrets: readonly SecretConfig[] = [], now = new Date()): Promise<CredentialStore> {
    const s = new CredentialStore();
    const own: { cert: Certificate; file: string }[] = [];
    for (const file of await listFiles(join(dir, 'x509'))) {
      for (const cert of await loadCertificates(file)) own.push({ cert, file });
    }
    for (const file of await listFiles(join(dir, 'x509ca'))) {
      for (const cert of await loadCertificates(file)) {
        if (!cert.isCa) s.warnings.push(`${file}: '${cert.subjectText}' is not a CA certificate; trusted as an end-entity anchor only`);
        if (!isValidAt(cert, now)) s.warnings.push(`${file}: CA certificate '${cert.subjectText}' is not valid now (until ${cert.notAfter.toISOString()})`);
        s.#anchors.push({ cert, file });
      }
    }

    const keys: { key: KeyObject; file: string; spki: string }[] = [];
    for (const sub of KEY_DIRS) {
      for (const file of await listFiles(join(dir, sub))) {
        for (const key of await loadPrivateKeys(file, dir, secrets)) keys.push({ key, file, spki: spkiHexOfKey(createPublicKey(key)) });
      }
    }

    // Pair keys and certificates by public key (normalised through node's SPKI encoder so
    // that e.g. compressed EC points in a certificate still match).
    const bySpki = new Map<string, { cert: Certificate; own: boolean }[]>();
    const addCert = (cert: Certificate, isOwn: boolean, file: string): void => {
      let spki: string;
      try {
        spki = spkiHexOfKey(cert.publicKey);
      } catch (e) {
        throw new ConfigError(`certificate '${cert.subjectText}' has an unusable public key: ${(e as Error).message}`, file);
      }
      const list = bySpki.get(spki) ?? [];
      list.push({ cert, own: isOwn });
      bySpki.set(spki, list);
    };
    for (const o of own) addCert(o.cert, true, o.file);
    for (const a of s.#anchors) addCert(a.cert, false, a.file);

    const keyOf = new Map<Certificate, KeyObject>();
    for (const k of keys) {
      const certs = bySpki.get(k.spki);
      if (!certs) throw new ConfigError('private key has no matching certificate in x509/ or x509ca/', k.file);
      // A key that only belongs to a trust anchor (e.g. our own bootstrap CA) is not used for IKE.
      for (const c of certs) if (c.own && !keyOf.has(c.cert)) keyOf.set(c.cert, k.key);
    }
    // Intermediates first, so that every local credential's chain can be built from them.
    for (const o of own) {
      if (keyOf.has(o.cert)) continue;
      if (o.cert.isCa) s.#intermediates.push(o.cert);
      else s.warnings.push(`${o.file}: no private key for '${o.cert.subjectText}'; not used as a local credential`);
    }
    for (const o of own) {
      const key = keyOf.get(o.cert);
      if (key) s.#addLocal(o.cert, key, now);
    }
    return s;
  }

  #addLocal(cert: Certificate, privateKey: KeyObject, now: Date, givenChain?: Certificate[]): void {
    let chain: Certificate[];
    let issuerKeyIds: string[];
    const anchors = this.#anchors.map((a) => a.cert);
    const r = verifyChain(cert.der, this.#intermediates.map((c) => c.der), anchors, now, { parse: (d) => this.#cache.get(d) });
    if (givenChain) {
      chain = givenChain;
      issuerKeyIds = [...givenChain.map((c) => toHex(c.keyId)), ...(r.ok ? r.path.slice(1).map((c) => toHex(c.keyId)) : [])];
    } else if (r.ok) {
      const above = r.path.slice(1);
      chain = above.filter((c, i) => !(i === above.length - 1 && c.selfIssued));
      issuerKeyIds = above.map((c) => toHex(c.keyId));
    } else {
      this.warnings.push(`own certificate '${cert.subjectText}' does not verify against the loaded CAs: ${r.reason}`);
      // Still send what we can link by name: the peer may trust a CA we do not have.
      chain = [];
      let cur = cert;
      for (let i = 0; i < 8; i++) {
        const next = this.#intermediates.find((c) => !chain.includes(c) && c !== cur && namesEqual(c.subjectDer, cur.issuerDer));
        if (!next || next.selfIssued) break;
        chain.push(next);
        cur = next;
      }
      issuerKeyIds = chain.map((c) => toHex(c.keyId));
      const root = anchors.find((a) => namesEqual(a.subjectDer, cur.issuerDer));
      if (root) issuerKeyIds.push(toHex(root.keyId));
    }
    if (!isValidAt(cert, now)) this.warnings.push(`own certificate '${cert.subjectText}' is not valid now (${cert.notBefore.toISOString()} – ${cert.notAfter.toISOString()})`);
    this.#locals.push({ cred: { cert, chain, privateKey, identities: identitiesOf(cert) }, issuerKeyIds });
  }

  /** All own credentials, in load order. */
  localCredentials(): LocalCredential[] {
    return this.#locals.map((l) => l.cred);
  }

  /**
   * The credential to authenticate with. `preferredId` (the IDr a client asked for) narrows
   * the choice when some certificate proves it; CERTREQ key ids then pick a certificate whose
   * chain the peer trusts. Windows sends dozens of unknown CA hashes and Apple none at all
   * (field-facts §2.1.3, §2.2), so neither narrowing may ever leave us without a credential.
   */
  localCredential(preferredId?: IkeIdentity, certreqKeyIds?: readonly Uint8Array[], now = new Date()): LocalCredential | undefined {
    let cands = this.#locals;
    if (cands.length === 0) return undefined;
    if (preferredId) {
      const m = cands.filter((l) => certificateMatchesIdentity(l.cred.cert, preferredId));
      if (m.length > 0) cands = m;
    }
    const valid = cands.filter((l) => isValidAt(l.cred.cert, now));
    if (valid.length > 0) cands = valid;
    if (certreqKeyIds && certreqKeyIds.length > 0) {
      const wanted = new Set(certreqKeyIds.map(toHex));
      const m = cands.find((l) => l.issuerKeyIds.some((k) => wanted.has(k)));
      if (m) return m.cred;
    }
    return cands[0]!.cred;
  }

  /**
   * Trust anchors, optionally restricted by a connection's `cacerts` list: entries name a
   * file in x509ca/ (base name or path) or a CA subject DN ("C=CH, O=Org, CN=Root").
   */
  trustAnchors(cacertFilter?: readonly string[]): Certificate[] {
    if (!cacertFilter || cacertFilter.length === 0) return this.#anchors.map((a) => a.cert);
    const norm = (t: string): string => t.replace(/\s+/g, '').toLowerCase();
    return this.#anchors
      .filter((a) =>
        cacertFilter.some(
          (f) =>
            (a.file !== '' && (f === a.file || f === basename(a.file) || resolve(f) === resolve(a.file) || a.file.endsWith(`/${f}`))) ||
            norm(f) === norm(formatName(a.cert.subjectDer)),
        ),
      )
      .map((a) => a.cert);
  }

  /** keyIds of our trust anchors for our CERTREQ payload (RFC 7296 §3.7). */
  caKeyIds(cacertFilter?: readonly string[]): Uint8Array[] {
    return this.trustAnchors(cacertFilter).map((c) => c.keyId);
  }

  /**
   * Checks a peer's CERT payloads (leaf first, RFC 7296 §3.6) against our trust anchors and
   * that the leaf proves the identity the peer claimed in IDi (RFC 4945 §3.1).
   */
  async verifyPeer(certsDer: readonly Uint8Array[], claimed: IkeIdentity, cacertFilter?: readonly string[], now = new Date()): Promise<PeerVerdict> {
    const [leaf, ...rest] = certsDer;
    if (!leaf) return { ok: false, reason: 'peer sent no certificate' };
    const anchors = this.trustAnchors(cacertFilter);
    if (anchors.length === 0)
      return {
        ok: false,
        reason: cacertFilter?.length ? `none of the configured CAs (${cacertFilter.join(', ')}) is loaded` : 'no trusted CA certificates are loaded (x509ca/)',
      };
    const r = verifyChain(leaf, rest, anchors, now, { parse: (d) => this.#cache.get(d) });
    if (!r.ok) return r;
    if (!certificateMatchesIdentity(r.leaf, claimed))
      return { ok: false, reason: `certificate '${r.leaf.subjectText}' does not contain identity '${identityText(claimed)}'` };
    try {
      return { ok: true, cert: r.leaf, publicKey: r.leaf.publicKey, subject: r.leaf.subjectText };
    } catch (e) {
      return { ok: false, reason: `certificate '${r.leaf.subjectText}': ${(e as Error).message}` };
    }
  }

  /** The `ike` pre-shared key for these identities (strongSwan best-match rule, see psk.ts). */
  sharedKey(local: IkeIdentity | undefined, remote: IkeIdentity, secrets: readonly SecretConfig[]): Uint8Array | undefined {
    return findSharedKey(local, remote, secrets)?.secret;
  }
}

function spkiHexOfKey(pub: KeyObject): string {
  return (pub.export({ type: 'spki', format: 'der' }) as Buffer).toString('hex');
}

async function listFiles(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw new ConfigError(`cannot read directory: ${(e as Error).message}`, dir);
  }
  const out: string[] = [];
  for (const n of names.sort()) {
    if (n.startsWith('.')) continue;
    const p = join(dir, n);
    try {
      if ((await stat(p)).isFile()) out.push(p);
    } catch (e) {
      throw new ConfigError(`cannot read file: ${(e as Error).message}`, p);
    }
  }
  return out;
}

async function readBytes(file: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(file));
  } catch (e) {
    throw new ConfigError(`cannot read file: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, file);
  }
}

async function loadCertificates(file: string): Promise<Certificate[]> {
  const bytes = await readBytes(file);
  try {
    if (looksLikePem(bytes)) {
      const blocks = readPemBlocks(Buffer.from(bytes).toString('latin1')).filter((b) => b.label === 'CERTIFICATE' || b.label === 'X509 CERTIFICATE');
      if (blocks.length === 0) throw new CertificateError('no CERTIFICATE block in PEM file');
      return blocks.map((b) => parseCertificate(b.der));
    }
    return [parseCertificate(bytes)];
  } catch (e) {
    throw new ConfigError(`cannot parse certificate: ${(e as Error).message}`, file);
  }
}

/** The passphrase configured for `file` (matched by absolute path, path below `dir`, or base name). */
function passphraseFor(file: string, dir: string, secrets: readonly SecretConfig[]): Buffer | undefined {
  const abs = resolve(file);
  for (const s of secrets) {
    if (!PASSPHRASE_KINDS.has(s.kind) || !s.file || !s.secret) continue;
    const f = s.file;
    const hit =
      (isAbsolute(f) && resolve(f) === abs) ||
      resolve(dir, f) === abs ||
      KEY_DIRS.some((d) => resolve(dir, d, f) === abs) ||
      (!f.includes('/') && basename(file) === f) ||
      relative(dir, abs) === f;
    if (hit) return Buffer.from(s.secret);
  }
  return undefined;
}

const SUPPORTED_CURVES = new Set(['prime256v1', 'secp384r1', 'secp521r1']);

function checkKeyType(key: KeyObject, file: string): KeyObject {
  const t = key.asymmetricKeyType;
  if (t === 'rsa' || t === 'ed25519') return key;
  if (t === 'ec' && SUPPORTED_CURVES.has(key.asymmetricKeyDetails?.namedCurve ?? '')) return key;
  throw new ConfigError(`unsupported private key type ${t}${t === 'ec' ? ` (${key.asymmetricKeyDetails?.namedCurve})` : ''}`, file);
}

function keyError(e: unknown, file: string, hadPassphrase: boolean): ConfigError {
  const err = e as NodeJS.ErrnoException;
  if (err.code === 'ERR_MISSING_PASSPHRASE')
    return new ConfigError('private key is encrypted; configure its passphrase as secrets { private-<name> { file = …, secret = … } }', file);
  if (hadPassphrase && /decrypt|bad password|mac verify|passphrase/i.test(err.message))
    return new ConfigError('wrong passphrase for encrypted private key', file);
  return new ConfigError(`cannot parse private key: ${err.message}`, file);
}

async function loadPrivateKeys(file: string, dir: string, secrets: readonly SecretConfig[]): Promise<KeyObject[]> {
  const bytes = await readBytes(file);
  const passphrase = passphraseFor(file, dir, secrets);
  if (looksLikePem(bytes)) {
    const blocks = readPemBlocks(Buffer.from(bytes).toString('latin1')).filter((b) => b.label.endsWith('PRIVATE KEY'));
    if (blocks.length === 0) throw new ConfigError('no PRIVATE KEY block in PEM file', file);
    return blocks.map((b) => {
      try {
        return checkKeyType(createPrivateKey({ key: b.text, format: 'pem', ...(passphrase ? { passphrase } : {}) }), file);
      } catch (e) {
        if (e instanceof ConfigError) throw e;
        // An encrypted block without a configured passphrase: node may report a decoder error
        // instead of ERR_MISSING_PASSPHRASE for some formats.
        if (!passphrase && (b.label === 'ENCRYPTED PRIVATE KEY' || b.headers['Proc-Type']?.includes('ENCRYPTED')))
          throw new ConfigError('private key is encrypted; configure its passphrase as secrets { private-<name> { file = …, secret = … } }', file);
        throw keyError(e, file, passphrase !== undefined);
      }
    });
  }
  // DER: try the unencrypted encodings swanctl accepts, then encrypted PKCS#8.
  const buf = Buffer.from(bytes);
  for (const type of ['pkcs8', 'pkcs1', 'sec1'] as const) {
    try {
      return [checkKeyType(createPrivateKey({ key: buf, format: 'der', type }), file)];
    } catch (e) {
      if (e instanceof ConfigError) throw e;
    }
  }
  try {
    return [checkKeyType(createPrivateKey({ key: buf, format: 'der', type: 'pkcs8', passphrase: passphrase ?? '' }), file)];
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    if (!passphrase) throw new ConfigError('cannot parse private key (if it is encrypted, configure its passphrase in secrets)', file);
    throw keyError(e, file, true);
  }
}
