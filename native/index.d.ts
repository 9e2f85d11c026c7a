// Typed surface of the ikegate native addon (native/src/addon.cc): only what Node lacks —
// a netlink socket driven by the libuv loop, the socket options IKE needs on its UDP sockets,
// and a TUN device. Every failure throws an Error with `code` (e.g. 'EPERM') and `errno`.

export interface NativeError extends Error {
  code: string;
  errno: number;
  syscall: string;
}

export declare class NetlinkSocket {
  /** protocol: NETLINK_ROUTE (0) or NETLINK_XFRM (6); groups: multicast group bitmask to join at bind. */
  constructor(protocol: number, groups?: number);
  /** The port id the kernel assigned (nl_pid), for matching nlmsg_pid. */
  readonly portId: number;
  /** Sends one or more netlink messages to the kernel (pid 0). Never blocks. */
  send(message: Uint8Array): void;
  /** Called with each datagram read from the socket (may hold several netlink messages). */
  onMessage(callback: (datagram: Buffer) => void): void;
  /** Called when reading fails (e.g. ENOBUFS: the receive buffer overflowed and events were lost). */
  onError(callback: (error: NativeError) => void): void;
  /** Joins a multicast group after construction (NETLINK_ADD_MEMBERSHIP). */
  addMembership(group: number): void;
  close(): void;
}

export declare class TunDevice {
  /** Opens /dev/net/tun as IFF_TUN | IFF_NO_PI with the given name ('' = kernel picks). */
  constructor(name: string);
  readonly name: string;
  /** Called with each IP packet read from the device. */
  onPacket(callback: (packet: Buffer) => void): void;
  /** Writes one IP packet to the device. */
  write(packet: Uint8Array): void;
  close(): void;
}

/** Sets UDP_ENCAP (type 2 = UDP_ENCAP_ESPINUDP) on a UDP socket fd, so the kernel decapsulates ESP-in-UDP. */
export declare function setUdpEncap(fd: number, type: number): void;

/** Per-socket IPsec policy bypass (IP_XFRM_POLICY / IPV6_XFRM_POLICY, XFRM_POLICY_ALLOW, in and out), so IKE itself is never tunnelled. */
export declare function setIpsecBypass(fd: number, family: 4 | 6): void;

/** sizeof / offsetof of the kernel XFRM structs as this build sees them, for layout tests. */
export declare function structLayout(): Record<string, number>;
