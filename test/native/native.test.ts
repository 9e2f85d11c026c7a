// The native addon (native/index.d.ts) against the real kernel: it loads; its struct layout
// matches the C compiler's view of <linux/xfrm.h> (and test/native/layout.ts, and the codec's
// LAYOUT); a NETLINK_XFRM socket dumps, adds and deletes policies and hears the multicast
// events; a TUN device carries packets both ways; UDP_ENCAP and the IPsec bypass change what
// the kernel does with a socket's datagrams. Kernel-side scenarios run in child processes
// started inside private network namespaces (test/native/child.mjs) and need root.
import { execFile, execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it, beforeAll } from 'vitest';
import { dgramSocketFd, loadNative, nativeUnavailableMessage } from '../../src/xfrm/netlink/binding.js';
import type { NativeBinding } from '../../src/xfrm/netlink/binding.js';
import { cLayout } from './c-layout.js';
import { EXPECTED_LAYOUT, LP64_ARCHES } from './layout.js';

const CHILD = fileURLToPath(new URL('./child.mjs', import.meta.url));
const isRoot = process.getuid?.() === 0;
// These tests need root (network namespaces, XFRM, TUN). Without it they fail with this reason
// instead of skipping: CI runs as root, and a silent skip would hide a broken dataplane.
beforeAll(() => {
  if (!isRoot) throw new Error('the native tests need root: network namespaces, XFRM netlink and TUN');
});
const loaded = loadNative();

function native(): NativeBinding {
  if (!loaded.ok) throw new Error(nativeUnavailableMessage(loaded.reason));
  return loaded.native;
}

// ---- private network namespaces ----------------------------------------------------------------

const NS_RE = /^ikg-native-(\d+)-[a-z0-9]+$/;
const namespaces: string[] = [];

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Leftovers of a crashed earlier run (its PID is gone) are deleted first. */
function sweepStaleNamespaces(): void {
  const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = NS_RE.exec(name);
    if (m && !pidAlive(Number(m[1]))) execFileSync('ip', ['netns', 'del', name]);
  }
}

function makeNamespace(tag: string): string {
  if (namespaces.length === 0) sweepStaleNamespaces();
  const ns = `ikg-native-${process.pid}-${tag}`;
  execFileSync('ip', ['netns', 'add', ns]);
  namespaces.push(ns);
  execFileSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  return ns;
}

afterAll(() => {
  for (const ns of namespaces) execFileSync('ip', ['netns', 'del', ns]);
});

/** Runs one child.mjs scenario (in a namespace unless ns is undefined); returns its JSON line. */
function runChild(scenario: string, ns?: string): Promise<any> {
  const argv = [...(ns ? ['ip', 'netns', 'exec', ns] : []), process.execPath, CHILD, scenario];
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), { timeout: 20_000, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`${scenario}: ${err.message}\nstdout: ${stdout}\nstderr: ${stderr}`));
        return;
      }
      const last = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last));
      } catch {
        reject(new Error(`${scenario}: no JSON result\nstdout: ${stdout}\nstderr: ${stderr}`));
      }
    });
  });
}

// ---- tests -------------------------------------------------------------------------------------

describe('loading', () => {
  it('loads native/build/Release/ikegate.node once, with every export of native/index.d.ts', () => {
    expect(loaded.ok ? 'loaded' : loaded.reason).toBe('loaded');
    expect(loadNative()).toBe(loaded);
    const n = native();
    expect(Object.keys(n).sort()).toEqual(['NetlinkSocket', 'TunDevice', 'setIpsecBypass', 'setUdpEncap', 'structLayout']);
  });

  it('names the unavailable features when it cannot load', () => {
    const msg = nativeUnavailableMessage('no compiler');
    expect(msg).toContain('no compiler');
    for (const feature of ['kernel XFRM dataplane', 'UDP encapsulation sockets', 'userspace ESP over TUN']) {
      expect(msg).toContain(feature);
    }
  });
});

describe('struct layout', () => {
  it('structLayout() matches a C program compiled against the system headers', () => {
    const fromAddon = native().structLayout();
    expect(fromAddon).toEqual(cLayout(Object.keys(fromAddon)));
  });

  it.runIf(LP64_ARCHES.includes(process.arch))('test/native/layout.ts is the LP64 layout, key for key', () => {
    const keys = Object.keys(EXPECTED_LAYOUT);
    expect(cLayout(keys)).toEqual(EXPECTED_LAYOUT);
    expect(Object.keys(native().structLayout()).sort()).toEqual([...keys].sort());
    // the sizes the kernel checks most strictly
    expect(EXPECTED_LAYOUT['xfrm_usersa_info.size']).toBe(224);
    expect(EXPECTED_LAYOUT['xfrm_userpolicy_info.size']).toBe(168);
  });

  it("the codec's LAYOUT (src/xfrm/netlink/xfrm-structs.ts) agrees with the addon", async () => {
    const codec = (await import('../../src/xfrm/netlink/xfrm-structs.js')) as { LAYOUT?: Record<string, number> };
    expect(codec.LAYOUT, 'xfrm-structs.ts exports LAYOUT').toBeDefined();
    const fromAddon = native().structLayout();
    const mismatches: string[] = [];
    for (const [key, value] of Object.entries(codec.LAYOUT ?? {})) {
      const addonKey = key.includes('.') ? key : `${key}.size`; // bare type name = sizeof
      if (fromAddon[addonKey] !== value) mismatches.push(`${key}: codec ${value}, addon ${fromAddon[addonKey]}`);
    }
    expect(mismatches).toEqual([]);
  });
});

describe('errors', () => {
  it('a netlink socket with a bad protocol throws code/errno/syscall', () => {
    const { NetlinkSocket } = native();
    expect(() => new NetlinkSocket(999)).toThrow(
      expect.objectContaining({ code: 'EPROTONOSUPPORT', errno: -93, syscall: 'socket' }),
    );
  });

  it('argument and syscall errors are shaped like Node errors', async () => {
    const r = await runChild('errors');
    expect(r.badProtocol).toMatchObject({ name: 'Error', code: 'EPROTONOSUPPORT', errno: -93, syscall: 'socket' });
    expect(r.badFd).toMatchObject({ code: 'EBADF', errno: -9, syscall: 'setsockopt' });
    expect(r.badGroup).toMatchObject({ code: 'EINVAL', syscall: 'setsockopt' });
    expect(r.protocolType).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(r.sendString).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(r.callbackType).toMatchObject({ name: 'TypeError', code: 'ERR_INVALID_ARG_TYPE' });
    expect(r.longTunName).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
    expect(r.withoutNew).toMatchObject({ name: 'TypeError' });
  });
});

describe('event loop and environments', () => {
  it('an open socket keeps the process alive; close() releases it', async () => {
    const r = await runChild('keepalive');
    expect(r.elapsedMs).toBeGreaterThanOrEqual(290);
  });

  it('a throwing callback becomes an uncaught exception and the socket keeps working', async () => {
    expect(await runChild('throwing')).toEqual({ uncaught: ['boom 1', 'boom 2'] });
  });

  it('loads in worker threads; a worker terminated with sockets open is cleaned up', async () => {
    const r = await runChild('worker', makeNamespace('worker'));
    expect(r.results).toHaveLength(2);
    for (const w of r.results) {
      expect(w.bytes).toBe(20); // NLMSG_DONE of an empty policy dump
      expect(w.sizes).toBe(native().structLayout()['xfrm_usersa_info.size']);
      expect(w.portId).not.toBe(r.mainPortId);
    }
  });
});

describe('NETLINK_XFRM in a private namespace', () => {
  it('dumps, adds, refuses a duplicate, deletes, and multicasts the changes', async () => {
    const r = await runChild('xfrm', makeNamespace('xfrm'));
    const NLMSG_ERROR = 2;
    const NLMSG_DONE = 3;
    const XFRM_MSG_NEWPOLICY = 19;
    const XFRM_MSG_DELPOLICY = 20;

    expect(r.portId).toBeGreaterThan(0);
    expect(new Set(r.portIds).size).toBe(3);
    // GETPOLICY dump of an empty SPD: just NLMSG_DONE
    expect(r.dumpEmpty).toEqual([{ type: NLMSG_DONE, len: 4 }]);
    // NEWPOLICY with NLM_F_ACK: nlmsgerr with error 0
    expect(r.add).toEqual([{ type: NLMSG_ERROR, error: 0, len: 20 }]);
    expect(r.ipXfrm).toContain('src 203.0.113.0/24 dst 198.51.100.0/24');
    expect(r.ipXfrm).toContain('dir out priority 1000');
    // the same policy again with NLM_F_EXCL: -EEXIST, original request echoed back
    expect(r.addAgain[0]).toMatchObject({ type: NLMSG_ERROR, error: -17 });
    expect(r.dumpOne.map((m: { type: number }) => m.type)).toEqual([XFRM_MSG_NEWPOLICY, NLMSG_DONE]);
    expect(r.dumpedPolicy).toEqual({ dir: 1, priority: 1000, family: 2, daddr: '198.51.100.0', prefixlen_d: 24 });
    expect(r.del).toEqual([{ type: NLMSG_ERROR, error: 0, len: 20 }]);
    expect(r.delAgain[0]).toMatchObject({ type: NLMSG_ERROR, error: -2 }); // ENOENT
    expect(r.ipXfrmAfter).toBe('');
    // XFRMNLGRP_POLICY joined at bind (groups bitmask) and by addMembership()
    expect(r.events).toEqual({
      byGroups: [XFRM_MSG_NEWPOLICY, XFRM_MSG_DELPOLICY],
      byMembership: [XFRM_MSG_NEWPOLICY, XFRM_MSG_DELPOLICY],
    });
    expect(r.sendAfterClose).toMatchObject({ code: 'EBADF', syscall: 'sendto' });
  });
});

describe('TUN device in a private namespace', () => {
  it('delivers a routed datagram, injects the reply, and disappears on close', async () => {
    const r = await runChild('tun', makeNamespace('tun'));
    expect(r.name).toBe('tun-test');
    expect(r.openTwice).toMatchObject({ code: 'EBUSY', syscall: 'ioctl' });
    expect(r.ipLink).toMatch(/tun-test: <POINTOPOINT,MULTICAST,NOARP,UP,LOWER_UP>/);
    expect(r.packets).toEqual([
      { src: '198.18.0.1', dst: '198.18.0.2', sport: expect.any(Number), dport: 9999, payload: 'ping' },
    ]);
    expect(r.reply).toMatchObject({ msg: 'pong:ping', rinfo: { address: '198.18.0.2', port: 9999 } });
    expect(r.writeAfterClose).toMatchObject({ code: 'EBADF', syscall: 'write' });
    expect(r.linkAfterClose).not.toBe(0); // `ip link show dev tun-test` fails: the device is gone
    expect(r.autoName).toMatch(/^tun\d+$/);
  });
});

describe('UDP socket options', () => {
  it('setUdpEncap and setIpsecBypass succeed on a bound dgram socket (fd via dgramSocketFd)', async () => {
    const { setIpsecBypass, setUdpEncap } = native();
    for (const [type, family] of [
      ['udp4', 4],
      ['udp6', 6],
    ] as const) {
      const socket = createSocket(type);
      await new Promise<void>((resolve) => socket.bind(0, family === 4 ? '127.0.0.1' : '::1', resolve));
      try {
        const fd = dgramSocketFd(socket);
        expect(fd).toBeGreaterThan(2);
        expect(() => setIpsecBypass(fd, family)).not.toThrow();
        expect(() => setUdpEncap(fd, 2)).not.toThrow();
      } finally {
        socket.close();
      }
    }
  });

  it('dgramSocketFd refuses an unbound socket', () => {
    const socket = createSocket('udp4');
    try {
      expect(() => dgramSocketFd(socket)).toThrow(/no file descriptor/);
    } finally {
      socket.close();
    }
  });

  it('the kernel honours them: ESP-in-UDP decapsulation and the SPD bypass', async () => {
    const r = await runChild('sockopts', makeNamespace('sockopts'));
    const IKE1 = '00000000696b6531'; // non-ESP marker + "ike1"
    const IKE2 = '00000000696b6532';
    // UDP_ENCAP_ESPINUDP: the kernel passes marker datagrams up and keeps ESP and NAT-keepalives
    expect(r.encap4.received).toEqual([IKE1, IKE2]);
    expect(r.encap6.received).toEqual([IKE1, IKE2]);
    expect(r.plain4.received).toHaveLength(4); // control: without the option all four arrive
    // with an SPD that blocks all output, only the bypassed socket can send
    expect(r.bypass4).toEqual({ plain: 'EPERM', bypassed: 'sent' });
    expect(r.bypass6).toEqual({ plain: 'EPERM', bypassed: 'sent' });
    expect(r.bypassSeenOnTun).toEqual(['v4:bypass=true', 'v6:bypass=true']);
    expect(r.wrongFamily).toMatchObject({ code: 'ENOPROTOOPT', syscall: 'setsockopt' });
    expect(r.badFamily).toMatchObject({ name: 'RangeError', code: 'ERR_OUT_OF_RANGE' });
  });
});
