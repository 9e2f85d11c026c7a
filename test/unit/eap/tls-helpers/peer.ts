// Test-side EAP-TLS peer (RFC 5216 §2.1, RFC 9190 §2.1): node:tls as the TLS client over its own
// in-memory duplex, with EAP-TLS framing, fragmentation of its own flights (M/L flags) and acks of
// the server's fragments. It is written independently of src/eap/tls so that framing bugs on one
// side are not mirrored on the other. Also used by bench/eap-tls.ts.
import { Duplex } from 'node:stream';
import { connect, type TLSSocket } from 'node:tls';
import type { EapPacket } from '../../../../src/eap/packet.js';
import type { EapServerMethod, EapStep } from '../../../../src/eap/method.js';

const REQUEST = 1;
const RESPONSE = 2;
const TYPE_TLS = 13;
const F_L = 0x80;
const F_M = 0x40;
const F_S = 0x20;

export interface PeerOptions {
  /** Client certificate chain (PEM); omit for a client without certificate. */
  certPem?: string;
  keyPem?: string;
  /** CA for the server certificate. */
  caPem: string;
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** TLS bytes per EAP-TLS Response; default 1024. */
  fragmentSize?: number;
  /**
   * Answer the server's first flight with a fatal unknown_ca alert (RFC 8446 §6.2), as a client
   * that distrusts the server certificate does. (node's own client would just hang up: it checks
   * the server certificate only after the TLS handshake, without sending an alert.)
   */
  rejectServerWithAlert?: boolean;
  /** Receives NSS key log lines (test-only: lets a test recompute the MSK independently). */
  onKeylog?: (line: string) => void;
}

export interface PeerStats {
  /** EAP-TLS Requests with M set that the peer received (server fragments). */
  serverFragments: number;
  /** Responses with M set that the peer sent (its own fragments). */
  peerFragments: number;
  /** Empty Requests received while the peer was sending fragments (server acks). */
  serverAcks: number;
  requests: number;
  /** Bytes of TLS data the server sent, in order (for parsing ServerHello in tests). */
  serverTls: Uint8Array[];
}

export class EapTlsTestPeer {
  readonly stats: PeerStats = { serverFragments: 0, peerFragments: 0, serverAcks: 0, requests: 0, serverTls: [] };
  /** Application data received from the server (RFC 9190 §2.5 indication: [0x00]). */
  appData: Uint8Array[] = [];
  #out: Buffer[] = [];
  #activity = 0;
  #inbox: Uint8Array[] = [];
  #inExpected: number | undefined;
  #pendingOut: Uint8Array | undefined;
  #pendingOff = 0;
  #secure = false;
  #error: Error | undefined;
  readonly #wire: Duplex;
  readonly tls: TLSSocket;
  readonly #fragmentSize: number;
  readonly #rejectServer: boolean;

  constructor(o: PeerOptions) {
    this.#fragmentSize = o.fragmentSize ?? 1024;
    this.#rejectServer = o.rejectServerWithAlert ?? false;
    this.#wire = new Duplex({
      read: () => {},
      write: (chunk: Buffer, _e, cb) => {
        this.#out.push(Buffer.from(chunk));
        this.#activity++;
        cb();
      },
    });
    this.#wire.on('error', () => {});
    this.tls = connect({
      socket: this.#wire,
      ca: o.caPem,
      ...(o.certPem ? { cert: o.certPem } : {}),
      ...(o.keyPem ? { key: o.keyPem } : {}),
      minVersion: o.minVersion ?? 'TLSv1.2',
      maxVersion: o.maxVersion ?? 'TLSv1.3',
      checkServerIdentity: () => undefined,
    });
    this.tls.on('secureConnect', () => {
      this.#secure = true;
      this.#activity++;
    });
    this.tls.on('data', (d: Buffer) => {
      this.appData.push(new Uint8Array(d));
      this.#activity++;
    });
    this.tls.on('error', (e: Error) => {
      this.#error ??= e;
      this.#activity++;
    });
    if (o.onKeylog) {
      const cb = o.onKeylog;
      this.tls.on('keylog', (line: Buffer) => cb(line.toString('latin1').trim()));
    }
  }

  get secure(): boolean {
    return this.#secure;
  }
  get error(): Error | undefined {
    return this.#error;
  }
  get protocol(): string | null {
    return this.tls.getProtocol();
  }

  /** The MSK as the peer computes it (RFC 5216 §2.3 / RFC 9190 §2.3). */
  msk(): Uint8Array {
    const v = this.tls.getProtocol();
    if (v === 'TLSv1.3') return new Uint8Array(this.tls.exportKeyingMaterial(128, 'EXPORTER_EAP_TLS_Key_Material', Buffer.of(13)).subarray(0, 64));
    const noContext = this.tls.exportKeyingMaterial as (length: number, label: string) => Buffer;
    return new Uint8Array(noContext.call(this.tls, 64, 'client EAP encryption'));
  }

  /** Answers one EAP-Request/EAP-TLS with the Response. */
  async handle(req: EapPacket): Promise<EapPacket> {
    if (req.code !== REQUEST || req.type !== TYPE_TLS) throw new Error(`peer: not an EAP-TLS request: code ${req.code} type ${String(req.type)}`);
    this.stats.requests++;
    const flags = req.data[0] ?? 0;
    let off = 1;
    let total: number | undefined;
    if (flags & F_L) {
      total = new DataView(req.data.buffer, req.data.byteOffset + 1, 4).getUint32(0);
      off = 5;
    }
    const data = req.data.subarray(off);
    const reply = (typeData: Uint8Array): EapPacket => ({ code: RESPONSE, identifier: req.identifier, type: TYPE_TLS, data: typeData });

    if (flags & F_S) {
      // EAP-TLS Start: answer with the ClientHello (the TLS client wrote it on connect).
      await this.#settle();
      return reply(this.#loadAndNext(this.#take()));
    }
    if (this.#pendingOut) {
      if (data.length !== 0 || flags & F_M) throw new Error('peer: server sent data while our fragments were pending');
      this.stats.serverAcks++;
      return reply(this.#nextFragment());
    }
    if (data.length === 0 && !(flags & F_M)) throw new Error('peer: unexpected empty request');
    if (total !== undefined && this.#inbox.length === 0) this.#inExpected = total;
    this.#inbox.push(data.slice());
    this.stats.serverTls.push(data.slice());
    if (flags & F_M) {
      this.stats.serverFragments++;
      return reply(Uint8Array.of(0)); // RFC 5216 §3.1: ack = EAP-TLS Response with no data
    }
    const message = Buffer.concat(this.#inbox);
    if (this.#inExpected !== undefined && message.length !== this.#inExpected) throw new Error(`peer: reassembled ${message.length} != announced ${this.#inExpected}`);
    this.#inbox = [];
    this.#inExpected = undefined;
    if (this.#rejectServer) {
      this.#take();
      // Alert record: type 21, legacy version 3.3, length 2, fatal(2) unknown_ca(48).
      return reply(this.#loadAndNext(Uint8Array.of(21, 3, 3, 0, 2, 2, 48)));
    }
    this.#wire.push(message);
    await this.#settle();
    const out = this.#take();
    if (out.length === 0) return reply(Uint8Array.of(0)); // nothing to say: the final empty Response
    return reply(this.#loadAndNext(out));
  }

  destroy(): void {
    this.tls.destroy();
    this.#wire.destroy();
  }

  #take(): Uint8Array {
    const b = Buffer.concat(this.#out);
    this.#out = [];
    return new Uint8Array(b);
  }

  #loadAndNext(message: Uint8Array): Uint8Array {
    this.#pendingOut = message;
    this.#pendingOff = 0;
    return this.#nextFragment();
  }

  #nextFragment(): Uint8Array {
    const msg = this.#pendingOut;
    if (!msg) throw new Error('peer: nothing pending');
    const first = this.#pendingOff === 0;
    const end = Math.min(msg.length, this.#pendingOff + this.#fragmentSize);
    const more = end < msg.length;
    const body = msg.subarray(this.#pendingOff, end);
    this.#pendingOff = end;
    if (!more) this.#pendingOut = undefined;
    else this.stats.peerFragments++;
    const head = first ? 5 : 1;
    const out = new Uint8Array(head + body.length);
    out[0] = (more ? F_M : 0) | (first ? F_L : 0);
    if (first) new DataView(out.buffer).setUint32(1, msg.length);
    out.set(body, head);
    return out;
  }

  async #settle(): Promise<void> {
    let last = this.#activity;
    let quiet = 0;
    for (let i = 0; i < 200 && quiet < 3; i++) {
      await new Promise<void>((r) => setImmediate(r));
      if (this.#activity === last) quiet++;
      else {
        last = this.#activity;
        quiet = 0;
      }
    }
  }
}

export interface RunResult {
  final: EapStep;
  rounds: number;
}

/** Drives server and peer to the end: start → (Request → Response → process)* → success/failure. */
export async function runEapTls(server: EapServerMethod, peer: EapTlsTestPeer, firstIdentifier = 7, maxRounds = 400): Promise<RunResult> {
  let req = await server.start(firstIdentifier);
  for (let rounds = 1; rounds <= maxRounds; rounds++) {
    const resp = await peer.handle(req);
    const step = await server.process(resp);
    if (step.kind !== 'request') return { final: step, rounds };
    req = step.packet;
  }
  throw new Error('EAP-TLS did not finish');
}
