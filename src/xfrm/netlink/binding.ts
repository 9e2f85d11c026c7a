// Typed loader of the native addon (native/build/Release/ikegate.node, surface in
// native/index.d.ts): a netlink socket, a TUN device and the UDP_ENCAP / IPsec-bypass socket
// options — only what Node lacks (architecture.md §12 item 18). The addon is optional: when
// it is missing (no compiler at install time, not Linux) the daemon runs without the kernel
// dataplane and says so once, using nativeUnavailableMessage().
//
// Semantics worth knowing (see native/src/*.cc):
// - Errors from system calls are Errors with `code` ('EPERM'), `errno` (negative, as in Node's
//   own system errors: -1 for EPERM) and `syscall`; bad arguments throw TypeError/RangeError
//   with code ERR_INVALID_ARG_TYPE / ERR_OUT_OF_RANGE. Use after close() throws EBADF.
// - An open NetlinkSocket/TunDevice keeps the event loop alive (like a net.Socket) and cannot be
//   garbage-collected; close() stops reading, closes the fd, drops the callbacks and releases
//   the loop. Callbacks only ever run from the loop, so registering onMessage right after
//   send() in the same tick loses nothing; data read while no callback is set is dropped.
// - Callbacks run via MakeCallback: promises/nextTicks settle after each datagram. A callback
//   that throws raises an uncaught exception. Read errors go to onError (ENOBUFS: messages were
//   lost, the socket stays usable); with no onError registered — and always for TunDevice,
//   which has none — they are raised as uncaught exceptions.
// - NetlinkSocket delivers only datagrams sent by the kernel (source port id 0).
// - setUdpEncap/setIpsecBypass take the fd of a bound dgram socket. Node has no public API for
//   it: dgramSocketFd() below reads it from the socket's internal state (not `_handle`, whose
//   getter prints DEP0112).
import type { Socket } from 'node:dgram';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

export type NativeBinding = typeof import('../../../native/index.js');
export type { NativeError, NetlinkSocket, TunDevice } from '../../../native/index.js';

export type NativeLoadResult = { ok: true; native: NativeBinding } | { ok: false; reason: string };

/** The built addon, relative to this file (src/xfrm/netlink/ and dist/xfrm/netlink/ alike). */
const ADDON_URL = new URL('../../../native/build/Release/ikegate.node', import.meta.url);

const EXPORTS = ['NetlinkSocket', 'TunDevice', 'setUdpEncap', 'setIpsecBypass', 'structLayout'] as const;

let loaded: NativeLoadResult | undefined;

/** Loads the addon once; later calls return the same result (success or the reason it failed). */
export function loadNative(): NativeLoadResult {
  loaded ??= load();
  return loaded;
}

function load(): NativeLoadResult {
  if (process.platform !== 'linux') return { ok: false, reason: `platform ${process.platform} is not Linux` };
  const path = fileURLToPath(ADDON_URL);
  if (!existsSync(path)) {
    return { ok: false, reason: `${path} not found; build it with \`npm install\` (needs make, g++ and python3)` };
  }
  let native: Partial<Record<(typeof EXPORTS)[number], unknown>>;
  try {
    native = createRequire(import.meta.url)(path) as typeof native;
  } catch (err) {
    return { ok: false, reason: `loading ${path} failed: ${err instanceof Error ? err.message : String(err)}` };
  }
  const missing = EXPORTS.filter((name) => typeof native[name] !== 'function');
  if (missing.length > 0) {
    return { ok: false, reason: `${path} is stale (missing ${missing.join(', ')}); rebuild it with \`npm install\`` };
  }
  return { ok: true, native: native as NativeBinding };
}

/** One line for the operator: why the addon is unavailable and what is off as a result. */
export function nativeUnavailableMessage(reason: string): string {
  return (
    `native addon unavailable (${reason}): the kernel XFRM dataplane, UDP encapsulation sockets ` +
    `(ESP-in-UDP, IPsec bypass for IKE) and userspace ESP over TUN are disabled`
  );
}

/**
 * The file descriptor of a bound dgram socket (call it after 'listening'), for setUdpEncap()
 * and setIpsecBypass(). Internal Node API: lib/internal/dgram.js keeps the UDP handle under a
 * symbol described 'state symbol' (Node 12-24); `socket._handle.fd` reaches the same handle but
 * emits DEP0112. Throws if the socket is not bound or the internals have moved.
 */
export function dgramSocketFd(socket: Socket): number {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const handle = state === undefined ? undefined : (socket as unknown as Record<symbol, { handle?: { fd?: unknown } }>)[state]?.handle;
  const fd = handle?.fd;
  if (typeof fd !== 'number' || fd < 0) {
    throw new Error('dgram socket has no file descriptor (not bound yet, or Node internals changed)');
  }
  return fd;
}
