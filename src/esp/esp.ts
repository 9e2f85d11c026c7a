// ESP packets (RFC 4303 §2) and their processing per SA: outbound sealing with a 64-bit
// sequence counter that never wraps (§3.3.3), inbound opening in the order of §3.4: Seq#
// pre-check against the anti-replay window (§3.4.3), ICV verification (§3.4.4), only then the
// window update, then the padding check (§2.4) and Next Header. Only the packet — the UDP
// header of ESP-in-UDP (RFC 3948 §2.1) is the socket's, and the outer IP header the kernel's.
//
//  RFC 4303 §2.1, Figure 1: Top-Level Format of an ESP Packet
//   0                   1                   2                   3
//   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ----
//  |               Security Parameters Index (SPI)                 | ^Int.
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//  |                      Sequence Number                          | |ered
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ | ----
//  |                    Payload Data* (variable)                   | |   ^
//  ~                                                               ~ |   |
//  |                                                               | |Conf.
//  +               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |Cov-
//  |               |     Padding (0-255 bytes)                     | |ered*
//  +-+-+-+-+-+-+-+-+               +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ |   |
//  |                               |  Pad Length   | Next Header   | v   v
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+ ------
//  |         Integrity Check Value-ICV   (variable)                |
//  ~                                                               ~
//  |                                                               |
//  +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//  * The Payload Data starts with the IV when the transform uses an explicit one (§2.3).
import type { EspTransform } from './ciphers.js';
import { REPLAY_DUPLICATE, ReplayWindow } from './replay.js';

export const ESP_HEADER_LENGTH = 8;
/** Next Header values of tunnel mode (IANA protocol numbers): IP-in-IP and IPv6. */
export const NEXT_HEADER_IPV4 = 4;
export const NEXT_HEADER_IPV6 = 41;
/** RFC 4303 §2.6: a dummy packet, to be discarded silently. */
export const NEXT_HEADER_NONE = 59;

const TWO_32 = 0x1_0000_0000;
/** Without ESN the 32-bit Seq# is the whole counter (§2.2). */
export const MAX_SEQ_32 = 0xffff_ffff;
/** With ESN the counter is 64 bits; as JS numbers we stop at 2^53 - 1 (see replay.ts). */
export const MAX_SEQ_ESN = Number.MAX_SAFE_INTEGER;

export interface EspHeader {
  spi: number;
  /** The 32 bits on the wire (the low-order half with ESN). */
  seqLo: number;
}

/** SPI and Seq# of a received ESP packet, or undefined if it cannot even hold them. */
export function readEspHeader(packet: Uint8Array): EspHeader | undefined {
  if (packet.length < ESP_HEADER_LENGTH) return undefined;
  const v = new DataView(packet.buffer, packet.byteOffset, ESP_HEADER_LENGTH);
  return { spi: v.getUint32(0), seqLo: v.getUint32(4) };
}

/**
 * RFC 4303 §2.4: Payload ‖ Padding ‖ Pad Length ‖ Next Header, padded to the transform's block
 * size (at least 4 bytes, so the ICV is 4-byte aligned), with the default padding 1, 2, 3, …
 */
export function padPayload(payload: Uint8Array, nextHeader: number, blockSize: number): Buffer {
  const need = payload.length + 2;
  const total = Math.ceil(need / blockSize) * blockSize;
  const padLength = total - need;
  const pt = Buffer.allocUnsafe(total);
  pt.set(payload, 0);
  for (let i = 1; i <= padLength; i++) pt[payload.length + i - 1] = i;
  pt[total - 2] = padLength;
  pt[total - 1] = nextHeader;
  return pt;
}

/** Builds one ESP packet: header, then what the transform makes of the padded payload. */
export function sealEsp(
  t: EspTransform,
  spi: number,
  seq: number,
  esn: boolean,
  nextHeader: number,
  payload: Uint8Array,
  iv?: Uint8Array,
): Buffer {
  const pt = padPayload(payload, nextHeader, t.blockSize);
  const out = Buffer.allocUnsafe(ESP_HEADER_LENGTH + t.ivLength + pt.length + t.icvLength);
  out.writeUInt32BE(spi >>> 0, 0);
  out.writeUInt32BE(seq % TWO_32, 4);
  t.seal(out, pt, seq, esn ? Math.floor(seq / TWO_32) : undefined, iv);
  return out;
}

export type OpenFailure = 'length' | 'icv' | 'padding';

export type OpenResult = { ok: true; nextHeader: number; payload: Buffer } | { ok: false; reason: OpenFailure };

/**
 * Verifies and decrypts one ESP packet with the given high-order Seq# bits (ESN) and checks
 * the padding. No replay processing: EspSa.open() does that around this.
 */
export function openEsp(t: EspTransform, packet: Uint8Array, seqHi: number | undefined): OpenResult {
  const buf = Buffer.isBuffer(packet) ? packet : Buffer.from(packet.buffer, packet.byteOffset, packet.length);
  const ctLength = buf.length - ESP_HEADER_LENGTH - t.ivLength - t.icvLength;
  // At least Pad Length and Next Header, and whole cipher blocks (§2.4, §3.4.2).
  if (ctLength < t.blockSize || ctLength % t.blockSize !== 0) return { ok: false, reason: 'length' };
  const pt = t.open(buf, seqHi);
  if (!pt) return { ok: false, reason: 'icv' };
  const padLength = pt[pt.length - 2] as number;
  const nextHeader = pt[pt.length - 1] as number;
  const payloadLength = pt.length - 2 - padLength;
  if (payloadLength < 0) return { ok: false, reason: 'padding' };
  // §2.4: padding bytes are 1, 2, 3, … ; the receiver SHOULD inspect them.
  for (let i = 1; i <= padLength; i++) {
    if (pt[payloadLength + i - 1] !== i) return { ok: false, reason: 'padding' };
  }
  return { ok: true, nextHeader, payload: pt.subarray(0, payloadLength) };
}

export type SaOpenFailure = OpenFailure | 'replay' | 'stale';

export type SaOpenResult = { ok: true; seq: number; nextHeader: number; payload: Buffer } | { ok: false; reason: SaOpenFailure };

/** The usage counters of one SA (what querySa reports). */
export interface EspUsage {
  bytes: number;
  packets: number;
  lastUse: number | undefined;
}

/** One ESP SA, one direction: the transform, the sequence counter or the replay window, usage. */
export class EspSa {
  readonly usage: EspUsage = { bytes: 0, packets: 0, lastUse: undefined };
  private nextSeq = 1;
  private readonly replay: ReplayWindow | undefined;
  /** The largest sequence number this SA may send. */
  readonly maxSeq: number;

  constructor(
    readonly spi: number,
    readonly direction: 'in' | 'out',
    readonly transform: EspTransform,
    readonly esn: boolean,
    replayWindow: number,
  ) {
    this.maxSeq = esn ? MAX_SEQ_ESN : MAX_SEQ_32;
    this.replay = direction === 'in' ? new ReplayWindow(replayWindow, esn) : undefined;
  }

  /** Sequence numbers this outbound SA can still send. */
  get seqRemaining(): number {
    return this.maxSeq - this.nextSeq + 1;
  }

  /** The last sequence number sent (outbound) or the top of the replay window (inbound). */
  get lastSeq(): number {
    return this.replay ? this.replay.top : this.nextSeq - 1;
  }

  /**
   * Protects one inner packet. Returns undefined once the counter is exhausted: §3.3.3 forbids
   * cycling it, so the SA must be replaced (the dataplane reports a hard expire).
   */
  seal(nextHeader: number, payload: Uint8Array, now = Date.now(), iv?: Uint8Array): Buffer | undefined {
    if (this.nextSeq > this.maxSeq) return undefined;
    const seq = this.nextSeq++;
    const out = sealEsp(this.transform, this.spi, seq, this.esn, nextHeader, payload, iv);
    this.usage.bytes += payload.length;
    this.usage.packets++;
    this.usage.lastUse = now;
    return out;
  }

  /** RFC 4303 §3.4: replay pre-check, ICV, window update, padding. */
  open(packet: Uint8Array, now = Date.now()): SaOpenResult {
    const header = readEspHeader(packet);
    if (!header) return { ok: false, reason: 'length' };
    const replay = this.replay as ReplayWindow;
    const seq = replay.check(header.seqLo);
    if (seq < 0) return { ok: false, reason: seq === REPLAY_DUPLICATE ? 'replay' : 'stale' };
    const r = openEsp(this.transform, packet, this.esn ? Math.floor(seq / TWO_32) : undefined);
    if (!r.ok) {
      // A bad pad after a good ICV still came from the peer: the Seq# is used up.
      if (r.reason === 'padding') replay.accept(seq);
      return r;
    }
    replay.accept(seq);
    this.usage.bytes += r.payload.length;
    this.usage.packets++;
    this.usage.lastUse = now;
    return { ok: true, seq, nextHeader: r.nextHeader, payload: r.payload };
  }

  wipe(): void {
    this.transform.wipe();
  }
}
