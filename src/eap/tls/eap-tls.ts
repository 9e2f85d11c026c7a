// EAP-TLS server (EAP Type 13): RFC 5216 (TLS 1.2) and RFC 9190 (TLS 1.3), run inside IKEv2's
// IKE_AUTH (RFC 7296 §2.16). TLS itself is node:tls over an in-memory pipe (tls-pipe.ts); this file
// does the EAP-TLS framing (§3.1), fragmentation both ways (§2.1.5), the client certificate policy
// check and the MSK (RFC 5216 §2.3, RFC 9190 §2.3).
//
// TLS 1.2 (RFC 5216 §2.1.1)                     TLS 1.3 (RFC 9190 §2.1.1)
//   <- Request  (S)                               <- Request  (S)
//   -> Response ClientHello                       -> Response ClientHello
//   <- Request  ServerHello … ServerHelloDone     <- Request  ServerHello … Finished
//   -> Response Certificate … Finished            -> Response Certificate, CertificateVerify, Finished
//   <- Request  ChangeCipherSpec, Finished        <- Request  [NewSessionTicket], AppData 0x00 (§2.5)
//   -> Response (empty)                           -> Response (empty)
//   <- Success                                    <- Success
//
// Our final flight leaves only after verifyPeer accepted the client certificate: in TLS 1.2 it
// holds our Finished, in TLS 1.3 the protected success indication.
import { EapCode, EapType } from '../../ike/constants.js';
import { wipe } from '../../crypto/bytes.js';
import type { Rng } from '../../crypto/random.js';
import type { Logger } from '../../log/logger.js';
import type { EapPacket } from '../packet.js';
import type { EapServerMethod, EapStep } from '../method.js';
import { EapTlsFlag, EapTlsFramingError, Fragmenter, Reassembler, decodeEapTlsData, encodeEapTlsData } from './fragments.js';
import { TlsServerPipe } from './tls-pipe.js';

export interface EapTlsOptions {
  /** Our server certificate + intermediates (PEM). */
  certChainPem: string;
  /** Its private key (PEM). */
  keyPem: string;
  /** Trust anchors for client certificates. */
  caPem: string[];
  /** Our own policy check after TLS: chain + identity match (the lead passes the credential store's verifier). */
  verifyPeer(certsDer: Uint8Array[], eapIdentity: string): Promise<{ ok: true; subject: string } | { ok: false; reason: string }>;
  /** Default: TLS 1.3 allowed (negotiated down to 1.2 for older clients). */
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** Max EAP-TLS data per EAP packet, default 1024 (strongSwan uses 1024). */
  fragmentSize?: number;
  log?: Logger;
}

const DEFAULT_FRAGMENT_SIZE = 1024;
const MIN_FRAGMENT_SIZE = 64;
const MAX_FRAGMENT_SIZE = 16384;
/** Largest reassembled TLS message we accept from the peer (a flight with a long chain is ~10 KiB). */
const MAX_MESSAGE = 64 * 1024;
/** All TLS data a peer may send over the whole exchange. */
const MAX_TOTAL_IN = 128 * 1024;
/** Responses processed before we give up (strongSwan's max_message_count is 32 at 1024 bytes). */
const MAX_ROUNDS = 128;

/** RFC 5216 §2.3: MSK = TLS-PRF-128(master_secret, "client EAP encryption", client.random ‖ server.random)[0..63]. */
const TLS12_MSK_LABEL = 'client EAP encryption';
/** RFC 9190 §2.3: Key_Material = TLS-Exporter("EXPORTER_EAP_TLS_Key_Material", Type-Code, 128). */
const TLS13_KEY_MATERIAL_LABEL = 'EXPORTER_EAP_TLS_Key_Material';
const MSK_LEN = 64;
/** RFC 9190 §2.5: one octet of application data, 0x00. */
const PROTECTED_SUCCESS_INDICATION = Uint8Array.of(0x00);

type Phase =
  /** Waiting for the ClientHello (after our Start) or for the next client flight. */
  | 'handshake'
  /** Our final flight is out (TLS 1.2 Finished / TLS 1.3 success indication); waiting for the empty ack. */
  | 'final'
  /** A TLS alert is out; whatever comes back ends the method with `failReason`. */
  | 'alert'
  | 'done';

class EapTlsServer implements EapServerMethod {
  readonly type = EapType.TLS;
  readonly name = 'EAP-TLS';

  readonly #opts: EapTlsOptions;
  readonly #identity: string;
  readonly #log: Logger | undefined;
  readonly #pipe: TlsServerPipe;
  readonly #in = new Reassembler(MAX_MESSAGE);
  readonly #out: Fragmenter;
  #phase: Phase = 'handshake';
  #started = false;
  #rounds = 0;
  #totalIn = 0;
  #msk: Uint8Array | undefined;
  #subject = '';
  #failReason = '';

  constructor(opts: EapTlsOptions, identity: string) {
    this.#opts = opts;
    this.#identity = identity;
    this.#log = opts.log;
    const fragmentSize = opts.fragmentSize ?? DEFAULT_FRAGMENT_SIZE;
    if (!Number.isInteger(fragmentSize) || fragmentSize < MIN_FRAGMENT_SIZE || fragmentSize > MAX_FRAGMENT_SIZE)
      throw new RangeError(`EAP-TLS fragmentSize ${fragmentSize} outside ${MIN_FRAGMENT_SIZE}..${MAX_FRAGMENT_SIZE}`);
    this.#out = new Fragmenter(fragmentSize);
    this.#pipe = new TlsServerPipe(opts);
  }

  start(identifier: number): EapPacket {
    this.#started = true;
    // RFC 5216 §3.1: the EAP-TLS Start is a Request with only the S flag and no data.
    return this.#request(identifier, encodeEapTlsData(EapTlsFlag.S, new Uint8Array(0)));
  }

  async process(response: EapPacket): Promise<EapStep> {
    if (this.#phase === 'done') return { kind: 'failure', reason: 'EAP-TLS method already finished' };
    try {
      return await this.#process(response);
    } catch (e) {
      // Framing violations end here; anything else is a bug, but the peer must still get a Failure.
      const reason = e instanceof EapTlsFramingError ? e.message : `internal error: ${(e as Error).message}`;
      return this.#fail(reason);
    }
  }

  close(): void {
    this.#phase = 'done';
    this.#pipe.destroy();
    wipe(this.#msk);
    this.#msk = undefined;
  }

  async #process(response: EapPacket): Promise<EapStep> {
    if (!this.#started) return this.#fail('Response before the EAP-TLS Start');
    if (response.code !== EapCode.RESPONSE || response.type !== EapType.TLS) return this.#fail(`unexpected EAP code ${response.code} type ${String(response.type)}`);
    if (++this.#rounds > MAX_ROUNDS) return this.#fail(`more than ${MAX_ROUNDS} EAP-TLS messages`);
    const frame = decodeEapTlsData(response.data);
    if (frame.flags & EapTlsFlag.S) return this.#fail('peer sent the S (start) flag');
    const next = (response.identifier + 1) & 0xff;

    // An empty Response (no L, no M, no data) acknowledges our last Request.
    const isAck = frame.data.length === 0 && !(frame.flags & (EapTlsFlag.M | EapTlsFlag.L)) && !this.#in.inProgress;
    if (this.#out.pending) {
      if (!isAck) return this.#fail('peer sent data while our fragments were pending (expected an empty acknowledgement)');
      return { kind: 'request', packet: this.#request(next, this.#out.next()) };
    }
    if (this.#phase === 'alert') return this.#fail(this.#failReason);
    if (this.#phase === 'final') {
      if (isAck) return this.#succeed();
      // The peer answered our last flight with TLS data: most likely an alert about it.
      await this.#feed(frame.data);
      const why = this.#pipe.errorText ?? 'peer sent TLS data instead of the final acknowledgement';
      return this.#fail(why);
    }
    if (isAck) return this.#fail('unexpected empty EAP-TLS Response during the handshake');

    this.#totalIn += frame.data.length;
    if (this.#totalIn > MAX_TOTAL_IN) return this.#fail(`peer sent more than ${MAX_TOTAL_IN} bytes of TLS data`);
    const message = this.#in.add(frame);
    // RFC 5216 §3.2: acknowledge every fragment but the last with an empty Request.
    if (!message) return { kind: 'request', packet: this.#request(next, encodeEapTlsData(0, new Uint8Array(0))) };
    return this.#handshake(message, next);
  }

  async #handshake(message: Uint8Array, next: number): Promise<EapStep> {
    await this.#feed(message);
    const state = this.#pipe.state;
    if (state === 'failed') return this.#tlsFailed(next);
    if (state === 'established') return this.#established(next);
    if (state !== 'handshaking') return this.#fail(`TLS state ${state}`);
    const flight = this.#pipe.takeOutput();
    if (flight.length === 0) return this.#fail('TLS handshake stalled: no reply to the peer\'s TLS data');
    return this.#send(flight, next);
  }

  async #established(next: number): Promise<EapStep> {
    const pipe = this.#pipe;
    const version = pipe.protocol;
    const cipher = pipe.cipher;
    this.#log?.info({ eap: 'EAP-TLS', tlsVersion: version, cipher }, 'EAP-TLS handshake complete');
    if (version !== 'TLSv1.2' && version !== 'TLSv1.3') return this.#fail(`unsupported TLS version ${String(version)}`);

    const chain = pipe.peerChainDer();
    const leaf = chain[0];
    if (!leaf) return this.#fail('client sent no certificate');
    const subject = TlsServerPipe.subjectOf(leaf);
    let verdict: Awaited<ReturnType<EapTlsOptions['verifyPeer']>>;
    try {
      verdict = await this.#opts.verifyPeer(chain, this.#identity);
    } catch (e) {
      return this.#fail(`client certificate '${subject}' could not be checked: ${(e as Error).message}`);
    }
    if (!verdict.ok) return this.#fail(`client certificate '${subject}' rejected: ${verdict.reason}`);
    this.#subject = verdict.subject;
    if (this.#phase === 'done') return this.#fail('EAP-TLS method closed during verification');

    if (version === 'TLSv1.3') {
      const km = pipe.exportKeyingMaterial(128, TLS13_KEY_MATERIAL_LABEL, Uint8Array.of(EapType.TLS));
      this.#msk = km.slice(0, MSK_LEN);
      wipe(km);
      // RFC 9190 §2.5: after the client's Finished (and our verdict on its certificate) the
      // server commits to sending no more handshake messages with one octet of application data.
      await pipe.writeApplicationData(PROTECTED_SUCCESS_INDICATION);
    } else {
      const km = pipe.exportKeyingMaterial(MSK_LEN, TLS12_MSK_LABEL);
      this.#msk = km.slice();
      wipe(km);
    }
    if (pipe.state !== 'established') return this.#tlsFailed(next);
    // TLS 1.2: our ChangeCipherSpec + Finished; TLS 1.3: NewSessionTicket(s) + the indication.
    const flight = pipe.takeOutput();
    if (flight.length === 0) return this.#fail('TLS produced no final flight');
    this.#log?.info({ eap: 'EAP-TLS', subject: this.#subject }, 'EAP-TLS client certificate accepted');
    this.#phase = 'final';
    return this.#send(flight, next);
  }

  /** The handshake failed in OpenSSL; forward its alert (if any) before giving up (RFC 5216 §2.1.3). */
  #tlsFailed(next: number): EapStep {
    const reason = `TLS handshake failed: ${this.#pipe.errorText ?? 'unknown error'}`;
    const alert = this.#pipe.takeOutput();
    if (alert.length === 0) return this.#fail(reason);
    this.#log?.info({ eap: 'EAP-TLS', reason }, 'EAP-TLS sending TLS alert');
    this.#failReason = reason;
    this.#phase = 'alert';
    return this.#send(alert, next);
  }

  #send(flight: Uint8Array, next: number): EapStep {
    this.#out.load(flight);
    return { kind: 'request', packet: this.#request(next, this.#out.next()) };
  }

  async #feed(data: Uint8Array): Promise<void> {
    await this.#pipe.feed(data);
    if (this.#pipe.takeApplicationData().length > 0 && this.#pipe.state === 'established')
      this.#log?.debug({ eap: 'EAP-TLS' }, 'EAP-TLS peer sent application data; ignored');
  }

  #succeed(): EapStep {
    const msk = this.#msk;
    this.#msk = undefined;
    this.#phase = 'done';
    this.#pipe.destroy();
    if (!msk) return { kind: 'failure', reason: 'no MSK derived' };
    return { kind: 'success', msk, identity: this.#identity || this.#subject };
  }

  #fail(reason: string): EapStep {
    this.#log?.info({ eap: 'EAP-TLS', reason }, 'EAP-TLS failed');
    this.close();
    return { kind: 'failure', reason };
  }

  #request(identifier: number, typeData: Uint8Array): EapPacket {
    return { code: EapCode.REQUEST, identifier, type: EapType.TLS, data: typeData };
  }
}

/**
 * An EAP-TLS server for one EAP conversation. `identity` is the EAP identity the peer claimed
 * (verifyPeer checks it against the certificate). `rng` is accepted for the method interface; the
 * TLS randomness comes from OpenSSL.
 */
export function createEapTlsServer(opts: EapTlsOptions, identity: string, rng: Rng): EapServerMethod {
  void rng;
  return new EapTlsServer(opts, identity);
}
