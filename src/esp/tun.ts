// The TUN side of the userspace ESP dataplane: a thin wrapper over the native addon's
// TunDevice (native/index.d.ts: /dev/net/tun, IFF_TUN | IFF_NO_PI, one IP packet per read and
// write) plus the iproute2 `ip` command to bring the device up, set its MTU and add/remove
// routes for clients' virtual IPs.
//
// Why the `ip` command and not rtnetlink: these are a handful of calls per device and per
// client, off the packet path; `ip` (iproute2, always present where TUN is usable) gives exact,
// well-known semantics (`ip route replace` is idempotent) and readable errors, and keeps the
// addon to the socket work Node lacks. It runs with the daemon's own privileges (CAP_NET_ADMIN).
//
// The addon comes from src/xfrm/netlink/binding.ts (loadNative()); a host without it fails here,
// at dataplane construction, with one clear reason.
import { execFile } from 'node:child_process';
import { loadNative } from '../xfrm/netlink/binding.js';

/** What the dataplane needs of a TUN device (the addon's TunDevice, or a fake in tests). */
export interface TunPort {
  readonly name: string;
  /** Called with each IP packet the kernel routes into the device. */
  onPacket(callback: (packet: Buffer) => void): void;
  /** Hands one IP packet to the kernel as if it arrived on the device. */
  write(packet: Uint8Array): void;
  close(): void;
}

/** Runs `ip ARGS…`; rejects with an Error that names the command and ip's own message. */
export type IpRunner = (args: readonly string[]) => Promise<void>;

export const runIp: IpRunner = (args) =>
  new Promise((resolve, reject) => {
    execFile('ip', [...args], { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`ip ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });

export class TunUnavailableError extends Error {}

/**
 * The native addon's TunDevice class (via loadNative()). Throws TunUnavailableError naming why
 * the addon cannot be used (not built, stale, not Linux).
 */
export function loadTunDevice(): new (name: string) => TunPort {
  const r = loadNative();
  if (!r.ok) throw new TunUnavailableError(`the native addon is not available: ${r.reason}`);
  return r.native.TunDevice;
}

export interface OpenTunOptions {
  /** Device name (default "ikegate0"); '' lets the kernel pick. */
  name?: string;
  /** Device MTU (default 1400: room for IPv6 + UDP + ESP overhead within a 1500-byte path). */
  mtu?: number;
  ip?: IpRunner;
  /** The TunDevice class (default: from the native addon). */
  TunDevice?: new (name: string) => TunPort;
}

export const DEFAULT_TUN_NAME = 'ikegate0';
export const DEFAULT_TUN_MTU = 1400;

/** Opens the TUN device and brings it up: `ip link set dev NAME mtu MTU up`. */
export async function openTun(opts: OpenTunOptions = {}): Promise<TunPort> {
  const Tun = opts.TunDevice ?? loadTunDevice();
  const ip = opts.ip ?? runIp;
  let tun: TunPort;
  try {
    tun = new Tun(opts.name ?? DEFAULT_TUN_NAME);
  } catch (err) {
    const code = (err as { code?: string }).code;
    throw new TunUnavailableError(`cannot open TUN device ${opts.name ?? DEFAULT_TUN_NAME}: ${err instanceof Error ? err.message : String(err)}${code === 'EPERM' || code === 'EACCES' ? ' (needs CAP_NET_ADMIN)' : ''}`);
  }
  try {
    await ip(['link', 'set', 'dev', tun.name, 'mtu', String(opts.mtu ?? DEFAULT_TUN_MTU), 'up']);
  } catch (err) {
    tun.close();
    throw err;
  }
  return tun;
}

/** "198.18.0.5" → "198.18.0.5/32"; prefixes are kept. */
export function hostPrefix(destination: string): string {
  if (destination.includes('/')) return destination;
  return destination.includes(':') ? `${destination}/128` : `${destination}/32`;
}

/** `ip -4|-6 route OP DEST dev DEV [table N]` (table 0 or 254 = main). */
export function routeArgs(op: 'replace' | 'del', destination: string, dev: string, table: number): string[] {
  const dest = hostPrefix(destination);
  const args = [dest.includes(':') ? '-6' : '-4', 'route', op, dest, 'dev', dev];
  if (table !== 0 && table !== 254) args.push('table', String(table));
  return args;
}
