// The ports through which the IKE engine touches the world (architecture §11.6). Each has an
// in-memory twin for tests: the engine itself never opens a socket, reads a clock or a file.
import type { CredentialStore } from '../credentials/store.js';
import type { Rng } from '../crypto/random.js';
import type { Logger } from '../log/logger.js';
import type { Endpoint } from '../net/endpoint.js';
import type { Dataplane } from '../xfrm/dataplane.js';
import type { ChildEventInfo } from '../hooks/updown.js';

/** One IKE datagram, without the non-ESP marker of port 4500 (the transport strips and adds it). */
export interface Datagram {
  bytes: Uint8Array;
  local: Endpoint;
  remote: Endpoint;
}

export interface Transport {
  send(d: Datagram): void;
  /** Sends one NAT-T keepalive, the single byte 0xFF, from our NAT-T port (RFC 3948 §2.3). Optional: without it, no keepalives. */
  sendKeepalive?(local: Endpoint, remote: Endpoint): void;
}

export interface Clock {
  /** Milliseconds, monotonic enough for timers and ages. */
  now(): number;
  setTimer(delayMs: number, fn: () => void): () => void;
}

export interface EngineEvents {
  ikeUp?(info: { id: string; remoteId: string; vips: string[] }): void;
  ikeDown?(info: { id: string; reason: string }): void;
  /** A peer failed to authenticate (wrong PSK or password, untrusted certificate …). */
  authFailed?(info: { remote: string; reason: string }): void;
  /** A CHILD_SA was installed or removed (updown scripts hang off this). */
  child?(info: ChildEventInfo): void;
}

export interface EnginePorts {
  transport: Transport;
  clock: Clock;
  rng: Rng;
  dataplane: Dataplane;
  credentials: CredentialStore;
  log: Logger;
  events?: EngineEvents;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimer(delayMs, fn) {
    const t = setTimeout(fn, delayMs);
    t.unref?.();
    return () => clearTimeout(t);
  },
};
