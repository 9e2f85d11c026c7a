// A TLS server endpoint without a socket: `node:tls` (OpenSSL) runs over an in-memory duplex, so
// EAP-TLS (RFC 5216 §2.1, RFC 9190 §2.1) can carry its records inside EAP messages. TLS records
// from the peer go in with `feed()`, the records OpenSSL produces come out with `takeOutput()`.
// Keying material comes from the TLS exporter (RFC 5705; RFC 8446 §7.5). No sockets, no timers.
import { X509Certificate, constants as cryptoConstants, createHash } from 'node:crypto';
import { Duplex } from 'node:stream';
import { TLSSocket, createSecureContext, type DetailedPeerCertificate, type SecureContext } from 'node:tls';

export type TlsMaxVersion = 'TLSv1.2' | 'TLSv1.3';

export interface TlsServerCredentials {
  /** Our certificate followed by its intermediates (PEM). */
  certChainPem: string;
  /** Its private key (PEM). */
  keyPem: string;
  /** Trust anchors for client certificates; their names go into CertificateRequest. */
  caPem: readonly string[];
  maxVersion?: TlsMaxVersion;
}

export type TlsPipeState = 'handshaking' | 'established' | 'failed' | 'closed';

/**
 * Secure contexts are costly to build (PEM parsing, key import) and immutable once built: one per
 * credential set, shared by every EAP-TLS exchange that uses it. Keyed by a SHA-256 digest of the
 * inputs (callers build a fresh options object per IKE_AUTH), bounded, oldest evicted first.
 */
const contexts = new Map<string, SecureContext>();
const MAX_CONTEXTS = 32;

export function serverContext(creds: TlsServerCredentials): SecureContext {
  const h = createHash('sha256');
  for (const part of [creds.maxVersion ?? 'TLSv1.3', creds.certChainPem, creds.keyPem, ...creds.caPem]) h.update(part).update('\0');
  const id = h.digest('hex');
  let ctx = contexts.get(id);
  if (!ctx) {
    ctx = createSecureContext({
      cert: creds.certChainPem,
      key: creds.keyPem,
      // `ca` both verifies (we ignore node's verdict, see below) and lists the accepted CAs in
      // CertificateRequest (certificate_authorities, RFC 5246 §7.4.4 / RFC 8446 §4.2.4).
      ca: [...creds.caPem],
      minVersion: 'TLSv1.2',
      maxVersion: creds.maxVersion ?? 'TLSv1.3',
      // No resumption (RFC 9190 §5.7 leaves it optional; we do not offer it): no stateless tickets
      // in TLS 1.2. OpenSSL still sends TLS 1.3 NewSessionTickets, but with SSL_OP_NO_TICKET they
      // are stateful and node's server keeps no internal session cache, so they never resume.
      secureOptions: cryptoConstants.SSL_OP_NO_TICKET,
    });
    if (contexts.size >= MAX_CONTEXTS) contexts.delete(contexts.keys().next().value as string);
    contexts.set(id, ctx);
  }
  return ctx;
}

/** Event-loop turns without any TLS activity after which a fed flight counts as fully processed. */
const QUIET_TURNS = 3;
/** Upper bound on turns spent waiting for OpenSSL to settle (it runs synchronously; this is a guard). */
const MAX_SETTLE_TURNS = 200;

const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

export class TlsServerPipe {
  #state: TlsPipeState = 'handshaking';
  #error: Error | undefined;
  /** Bumped by every event (output, handshake done, error, data), so `settle` sees progress. */
  #activity = 0;
  #out: Buffer[] = [];
  #appData: Buffer[] = [];
  readonly #wire: Duplex;
  readonly #tls: TLSSocket;

  constructor(creds: TlsServerCredentials) {
    this.#wire = new Duplex({
      read: () => {},
      write: (chunk: Buffer, _enc, cb) => {
        this.#out.push(Buffer.from(chunk));
        this.#activity++;
        cb();
      },
      final: (cb) => cb(),
    });
    this.#tls = new TLSSocket(this.#wire, {
      isServer: true,
      secureContext: serverContext(creds),
      requestCert: true,
      // We judge the client certificate ourselves (EapTlsOptions.verifyPeer) after the handshake.
      rejectUnauthorized: false,
    });
    this.#tls.on('secure', () => {
      if (this.#state === 'handshaking') this.#state = 'established';
      this.#activity++;
    });
    this.#tls.on('data', (d: Buffer) => {
      this.#appData.push(d);
      this.#activity++;
    });
    this.#tls.on('error', (e: Error) => {
      if (this.#state !== 'closed') this.#state = 'failed';
      this.#error ??= e;
      this.#activity++;
    });
    this.#tls.on('close', () => {
      this.#activity++;
    });
    this.#wire.on('error', () => {});
  }

  get state(): TlsPipeState {
    return this.#state;
  }

  /** The error that ended the handshake. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** One line for logs and failure reasons: "tlsv1 alert unknown ca (ERR_SSL_TLSV1_ALERT_UNKNOWN_CA)". */
  get errorText(): string | undefined {
    const e = this.#error as (Error & { reason?: unknown; code?: unknown }) | undefined;
    if (!e) return undefined;
    const code = typeof e.code === 'string' ? ` (${e.code})` : '';
    if (typeof e.reason === 'string' && e.reason) return `${e.reason}${code}`;
    return `${e.message.split('\n')[0] ?? 'unknown error'}${code}`;
  }

  /** Hands TLS records from the peer to OpenSSL and waits until it has answered them. */
  async feed(records: Uint8Array): Promise<void> {
    if (this.#state === 'closed' || this.#state === 'failed') return;
    if (records.length > 0) this.#wire.push(Buffer.from(records.buffer, records.byteOffset, records.byteLength));
    await this.#settle();
  }

  /** Sends application data (RFC 9190 §2.5: the one-byte protected success indication). */
  async writeApplicationData(data: Uint8Array): Promise<void> {
    if (this.#state !== 'established') throw new Error(`cannot write application data in state ${this.#state}`);
    this.#tls.write(Buffer.from(data));
    await this.#settle();
  }

  /** Everything OpenSSL wrote since the last call (whole TLS records, concatenated). */
  takeOutput(): Uint8Array {
    const out = this.#out.length === 1 ? this.#out[0] : Buffer.concat(this.#out);
    this.#out = [];
    return out ? new Uint8Array(out.buffer, out.byteOffset, out.byteLength) : new Uint8Array(0);
  }

  /** Application data received from the peer (nothing is expected in EAP-TLS). */
  takeApplicationData(): Uint8Array {
    const d = Buffer.concat(this.#appData);
    this.#appData = [];
    return new Uint8Array(d);
  }

  /** Negotiated protocol ('TLSv1.2', 'TLSv1.3') once established. */
  get protocol(): string | undefined {
    return this.#tls.getProtocol() ?? undefined;
  }

  get cipher(): string | undefined {
    return this.#tls.getCipher()?.standardName;
  }

  /**
   * The client's certificate chain, leaf first, as DER. node rebuilds the chain from what the client
   * sent (and may append the matching trust anchor from `ca`); the walk stops at a self-issued
   * certificate or a repeat. Empty when the client sent no certificate.
   */
  peerChainDer(): Uint8Array[] {
    const chain: Uint8Array[] = [];
    const seen = new Set<string>();
    let cert: DetailedPeerCertificate | undefined = this.#tls.getPeerCertificate(true);
    while (cert && cert.raw && chain.length < 16) {
      const fp = cert.fingerprint256;
      if (seen.has(fp)) break;
      seen.add(fp);
      chain.push(new Uint8Array(cert.raw));
      const next: DetailedPeerCertificate | undefined = cert.issuerCertificate;
      if (!next || next === cert) break;
      cert = next;
    }
    return chain;
  }

  /** The leaf's subject in one line ("CN=alice, O=Example"), for messages and logs. */
  static subjectOf(der: Uint8Array): string {
    try {
      return new X509Certificate(der).subject.split('\n').join(', ');
    } catch {
      return '(unparsable certificate)';
    }
  }

  /** RFC 5705 exporter; `context` undefined means "no context" (TLS 1.2 EAP-TLS, RFC 5216 §2.3). */
  exportKeyingMaterial(length: number, label: string, context?: Uint8Array): Uint8Array {
    if (this.#state !== 'established') throw new Error(`no keying material in state ${this.#state}`);
    // @types/node declares `context` as required; node itself treats a missing one as "no context"
    // (SSL_export_keying_material with use_context = 0), which is what RFC 5216 needs.
    const km =
      context === undefined
        ? (this.#tls.exportKeyingMaterial as (length: number, label: string) => Buffer).call(this.#tls, length, label)
        : this.#tls.exportKeyingMaterial(length, label, Buffer.from(context));
    return new Uint8Array(km.buffer, km.byteOffset, km.byteLength);
  }

  /** Tears the TLS state down without sending anything; idempotent. */
  destroy(): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#out = [];
    this.#appData = [];
    this.#tls.destroy();
    this.#wire.destroy();
  }

  /** Waits until OpenSSL has gone quiet: a few event-loop turns in a row with no new activity. */
  async #settle(): Promise<void> {
    let last = this.#activity;
    let quiet = 0;
    for (let i = 0; i < MAX_SETTLE_TURNS && quiet < QUIET_TURNS; i++) {
      await nextTurn();
      if (this.#activity === last) quiet++;
      else {
        last = this.#activity;
        quiet = 0;
      }
    }
  }
}
