// The dataplane port: what the IKE engine asks of the packet path for every CHILD_SA
// (after strongSwan's kernel_ipsec.h). Plain data only, so src/xfrm never imports src/ike;
// implementations: memory (tests, dry runs), XFRM netlink, userspace ESP.
import type { KernelAlgorithm } from '../crypto/suite.js';

export interface SaId {
  src: string;
  dst: string;
  spi: number;
  proto: 'esp';
}

export interface SaSpec {
  id: SaId;
  reqid: number;
  mode: 'tunnel' | 'transport';
  direction: 'in' | 'out';
  enc: { alg: KernelAlgorithm; key: Uint8Array };
  integ?: { alg: KernelAlgorithm; key: Uint8Array };
  /** UDP encapsulation ports (RFC 3948) when NAT was detected. */
  encap?: { sport: number; dport: number };
  replayWindow: number;
  esn: boolean;
  lifetime: { softBytes?: number; hardBytes?: number; softSeconds?: number; hardSeconds?: number };
}

export interface Selector {
  /** CIDR text of the local and remote sides, one family. */
  local: string;
  remote: string;
  protocol: number; // 0 = any
  localPorts?: [number, number];
  remotePorts?: [number, number];
}

export interface PolicySpec {
  selector: Selector;
  direction: 'in' | 'out' | 'fwd';
  reqid: number;
  mode: 'tunnel' | 'transport';
  /** Tunnel end points (outer addresses). */
  tunnel: { src: string; dst: string };
  priority: number;
}

export interface RouteSpec {
  destination: string; // the client's virtual IP as /32 or /128
  /** 0: the dataplane's own table (XfrmDataplane: routing_table, default 220; userspace: main). */
  table: number;
  /**
   * Route it along the path to the peer's outer address: the dataplane looks the next hop up
   * (strongSwan's get_nexthop). A dataplane that routes into its own device may ignore it.
   */
  via?: { peer: string };
}

export interface SaUsage {
  bytes: number;
  packets: number;
  lastUse?: number; // ms since epoch
}

export type DataplaneEvent =
  | { kind: 'expire'; id: SaId; hard: boolean }
  | { kind: 'acquire'; reqid: number };

/**
 * A CHILD_SA moving to new outer addresses (MOBIKE, RFC 4555 §3.5; NAT mapping changes, RFC 7296
 * §2.23). SPIs, keys and selectors stay; only the tunnel end points change.
 */
export interface MigrateSpec {
  reqid: number;
  /** Outer addresses before and after (local = this gateway). */
  from: { local: string; remote: string };
  to: { local: string; remote: string };
}

export interface Dataplane {
  readonly name: string;
  /**
   * True when the dataplane can only carry ESP inside UDP (a userspace dataplane has no raw ESP
   * socket): the engine then forces UDP encapsulation, as strongSwan's kernel-libipsec does.
   */
  readonly requiresUdpEncapsulation?: boolean;
  /** Allocates an inbound SPI that is unused for this destination. */
  allocateSpi(dst: string): Promise<number>;
  installSa(sa: SaSpec): Promise<void>;
  deleteSa(id: SaId): Promise<void>;
  querySa(id: SaId): Promise<SaUsage | undefined>;
  installPolicy(p: PolicySpec): Promise<void>;
  deletePolicy(p: PolicySpec): Promise<void>;
  /** Reference-counted per (table, destination): each installRoute() needs its deleteRoute(). */
  installRoute(r: RouteSpec): Promise<void>;
  deleteRoute(r: RouteSpec): Promise<void>;
  /**
   * Moves the SAs and policies of CHILD_SA `reqid` to new outer addresses in place (XFRM_MSG_MIGRATE).
   * Optional: without it, or when UDP encapsulation ports change too, the engine deletes and
   * re-installs the SAs and policies with the same SPIs and keys.
   */
  migrate?(m: MigrateSpec): Promise<void>;
  onEvent(listener: (e: DataplaneEvent) => void): () => void;
  close(): Promise<void>;
}
