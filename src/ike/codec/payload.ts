// The decoded form of every IKEv2 payload (RFC 7296 §3.2–3.16, RFC 7383 §2.5 for SKF).
// Plain data; codecs live in ./payloads/, one file per payload. Unknown payload types are
// kept raw so that messages round-trip and critical ones can be answered (RFC 7296 §2.5).

export interface TransformAttribute {
  type: number;
  /** TV format (AF=1) carries a 16-bit value; TLV (AF=0) carries bytes. */
  value: number | Uint8Array;
}

export interface Transform {
  type: number;
  id: number;
  attributes: TransformAttribute[];
}

export interface Proposal {
  /** Proposal number as sent; responses echo the number of the accepted proposal. */
  num: number;
  protocol: number;
  spi: Uint8Array;
  transforms: Transform[];
}

export interface TrafficSelector {
  tsType: number; // TsType
  ipProtocol: number; // 0 = any
  startPort: number;
  endPort: number;
  startAddr: Uint8Array; // 4 or 16 bytes
  endAddr: Uint8Array;
}

export interface CpAttribute {
  type: number;
  value: Uint8Array; // may be empty (a request for a value)
}

export type Payload =
  | { kind: 'sa'; critical: boolean; proposals: Proposal[] }
  | { kind: 'ke'; critical: boolean; group: number; data: Uint8Array }
  | { kind: 'idi' | 'idr'; critical: boolean; idType: number; data: Uint8Array }
  | { kind: 'cert'; critical: boolean; encoding: number; data: Uint8Array }
  | { kind: 'certreq'; critical: boolean; encoding: number; data: Uint8Array }
  | { kind: 'auth'; critical: boolean; method: number; data: Uint8Array }
  | { kind: 'nonce'; critical: boolean; nonce: Uint8Array }
  | { kind: 'notify'; critical: boolean; protocol: number; spi: Uint8Array; notify: number; data: Uint8Array }
  | { kind: 'delete'; critical: boolean; protocol: number; spiSize: number; spis: Uint8Array[] }
  | { kind: 'vendor'; critical: boolean; data: Uint8Array }
  | { kind: 'tsi' | 'tsr'; critical: boolean; selectors: TrafficSelector[] }
  | { kind: 'cp'; critical: boolean; cfgType: number; attributes: CpAttribute[] }
  | { kind: 'eap'; critical: boolean; data: Uint8Array } // the whole EAP packet (RFC 3748)
  /** Encrypted payload: `firstInner` is the Next Payload field (type of the first inner payload). */
  | { kind: 'sk'; critical: boolean; firstInner: number; body: Uint8Array }
  | { kind: 'skf'; critical: boolean; firstInner: number; fragmentNumber: number; totalFragments: number; body: Uint8Array }
  | { kind: 'unknown'; critical: boolean; type: number; body: Uint8Array };

export type PayloadKind = Payload['kind'];
/** The payload shape(s) of kind K (an intersection, so the shared 'idi' | 'idr' member narrows too). */
export type PayloadOf<K extends PayloadKind> = Payload & { kind: K };
