// What every exchange handler receives: the engine's ports and configuration, and the decoded,
// decrypted request. Handlers decide; the engine seals, sends and caches.
import type { CookieJar } from '../admission.js';
import type { IkeHeader } from '../codec/header.js';
import type { Payload, PayloadOf } from '../codec/payload.js';
import type { IkeEngine } from '../engine.js';
import type { Datagram, EnginePorts } from '../ports.js';
import type { GatewayConfig } from '../../policy/policy.js';
import type { PoolSet } from '../../policy/pool.js';

export interface EngineContext {
  config: GatewayConfig;
  ports: EnginePorts;
  pools: PoolSet;
  cookies: CookieJar;
  engine: IkeEngine;
}

/** A decrypted request inside an existing IKE_SA. */
export interface Inbound {
  datagram: Datagram;
  header: IkeHeader;
  /** The clear payloads, ending with the Encrypted (SK/SKF) payload they arrived in (checkRules needs it). */
  outer: Payload[];
  /** The decrypted inner payloads. */
  inner: Payload[];
  /** SHA-256 of the request datagram (fragment 1 for fragmented ones), for retransmit detection. */
  digest: Uint8Array;
}

export function findNotify(payloads: Payload[], type: number): PayloadOf<'notify'> | undefined {
  for (const p of payloads) if (p.kind === 'notify' && p.notify === type) return p;
  return undefined;
}

export function allOf<K extends Payload['kind']>(payloads: Payload[], kind: K): PayloadOf<K>[] {
  return payloads.filter((p): p is PayloadOf<K> => p.kind === kind);
}

export function firstOf<K extends Payload['kind']>(payloads: Payload[], kind: K): PayloadOf<K> | undefined {
  return payloads.find((p): p is PayloadOf<K> => p.kind === kind);
}
