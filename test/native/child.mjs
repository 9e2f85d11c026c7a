// Scenarios the native test runs in a child Node process, most of them inside a private network
// namespace (`ip netns exec NS node child.mjs SCENARIO`): Node cannot setns(), so the process
// that owns the sockets must start in the namespace. Each scenario prints one JSON line of
// observations on stdout and then lets the process end by itself — a hang means something kept
// the loop alive after close().
//
// Plain JavaScript (no build step); it loads the addon directly and lays out XFRM messages with
// the offsets the addon reports (structLayout(), itself checked against the C compiler).
import { execFileSync, spawnSync } from 'node:child_process';
import dgram from 'node:dgram';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

const ADDON = new URL('../../native/build/Release/ikegate.node', import.meta.url).pathname;
const native = createRequire(import.meta.url)(ADDON);
const L = native.structLayout();

// linux/netlink.h, linux/xfrm.h
const NETLINK_ROUTE = 0;
const NETLINK_XFRM = 6;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLM_F_REQUEST = 0x1;
const NLM_F_MULTI = 0x2;
const NLM_F_ACK = 0x4;
const NLM_F_DUMP = 0x300;
const NLM_F_EXCL = 0x200;
const NLM_F_CREATE = 0x400;
const XFRM_MSG_NEWPOLICY = 19;
const XFRM_MSG_DELPOLICY = 20;
const XFRM_MSG_GETPOLICY = 21;
const XFRMNLGRP_POLICY = 4;
const XFRM_POLICY_OUT = 1;
const XFRM_POLICY_ALLOW = 0;
const AF_INET = 2;
const UDP_ENCAP_ESPINUDP = 2;

const errorInfo = (e) => ({ name: e.name, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall });

// ---- netlink framing (just enough for the test) -------------------------------------------------

function nlmsg(type, flags, seq, payload = Buffer.alloc(0)) {
  const len = 16 + payload.length;
  const buf = Buffer.alloc((len + 3) & ~3);
  buf.writeUInt32LE(len, 0);
  buf.writeUInt16LE(type, 4);
  buf.writeUInt16LE(flags, 6);
  buf.writeUInt32LE(seq, 8);
  buf.writeUInt32LE(0, 12);
  payload.copy(buf, 16);
  return buf;
}

function parseDatagram(d) {
  const msgs = [];
  for (let off = 0; off + 16 <= d.length; ) {
    const len = d.readUInt32LE(off);
    if (len < 16 || off + len > d.length) throw new Error(`bad nlmsg length ${len}`);
    msgs.push({
      type: d.readUInt16LE(off + 4),
      flags: d.readUInt16LE(off + 6),
      seq: d.readUInt32LE(off + 8),
      pid: d.readUInt32LE(off + 12),
      payload: d.subarray(off + 16, off + len),
    });
    off += (len + 3) & ~3;
  }
  return msgs;
}

/** request() resolves with the messages answering one request: the ACK/error, or a dump up to DONE. */
function requester(sock) {
  let seq = 1;
  const pending = new Map();
  sock.onMessage((d) => {
    for (const m of parseDatagram(d)) {
      const p = pending.get(m.seq);
      if (!p) continue;
      p.messages.push(m);
      if (m.type === NLMSG_DONE || m.type === NLMSG_ERROR || !(m.flags & NLM_F_MULTI)) {
        pending.delete(m.seq);
        p.resolve(p.messages);
      }
    }
  });
  sock.onError((e) => {
    for (const p of pending.values()) p.reject(e);
    pending.clear();
  });
  return (type, flags, payload) =>
    new Promise((resolve, reject) => {
      const s = seq++;
      pending.set(s, { messages: [], resolve, reject });
      sock.send(nlmsg(type, NLM_F_REQUEST | flags, s, payload));
    });
}

const nlError = (m) => (m.type === NLMSG_ERROR ? m.payload.readInt32LE(L['nlmsgerr.error']) : undefined);

// ---- XFRM policy payloads ------------------------------------------------------------------------

function ipv4(buf, off, addr) {
  addr.split('.').forEach((o, i) => buf.writeUInt8(Number(o), off + i));
}

function writeSelector(buf, off) {
  // 203.0.113.0/24 -> 198.51.100.0/24, any protocol
  ipv4(buf, off + L['xfrm_selector.daddr'], '198.51.100.0');
  ipv4(buf, off + L['xfrm_selector.saddr'], '203.0.113.0');
  buf.writeUInt16LE(AF_INET, off + L['xfrm_selector.family']);
  buf.writeUInt8(24, off + L['xfrm_selector.prefixlen_d']);
  buf.writeUInt8(24, off + L['xfrm_selector.prefixlen_s']);
}

function userpolicyInfo() {
  const buf = Buffer.alloc(L['xfrm_userpolicy_info.size']);
  writeSelector(buf, L['xfrm_userpolicy_info.sel']);
  const lft = L['xfrm_userpolicy_info.lft'];
  const INF = 0xffffffffffffffffn;
  for (const f of ['soft_byte_limit', 'hard_byte_limit', 'soft_packet_limit', 'hard_packet_limit']) {
    buf.writeBigUInt64LE(INF, lft + L[`xfrm_lifetime_cfg.${f}`]);
  }
  buf.writeUInt32LE(1000, L['xfrm_userpolicy_info.priority']);
  buf.writeUInt8(XFRM_POLICY_OUT, L['xfrm_userpolicy_info.dir']);
  buf.writeUInt8(XFRM_POLICY_ALLOW, L['xfrm_userpolicy_info.action']);
  return buf;
}

function userpolicyId() {
  const buf = Buffer.alloc(L['xfrm_userpolicy_id.size']);
  writeSelector(buf, L['xfrm_userpolicy_id.sel']);
  buf.writeUInt8(XFRM_POLICY_OUT, L['xfrm_userpolicy_id.dir']);
  return buf;
}

// ---- scenarios ---------------------------------------------------------------------------------

const scenarios = {
  /** XFRM policy dump / add / duplicate add / delete over NETLINK_XFRM, plus multicast events. */
  async xfrm() {
    const sock = new native.NetlinkSocket(NETLINK_XFRM);
    const byGroups = new native.NetlinkSocket(NETLINK_XFRM, 1 << (XFRMNLGRP_POLICY - 1));
    const byMembership = new native.NetlinkSocket(NETLINK_XFRM);
    byMembership.addMembership(XFRMNLGRP_POLICY);
    const events = { byGroups: [], byMembership: [] };
    byGroups.onMessage((d) => events.byGroups.push(...parseDatagram(d).map((m) => m.type)));
    byMembership.onMessage((d) => events.byMembership.push(...parseDatagram(d).map((m) => m.type)));

    const request = requester(sock);
    const summary = (msgs) => msgs.map((m) => ({ type: m.type, error: nlError(m), len: m.payload.length }));
    const out = { portId: sock.portId, portIds: [sock.portId, byGroups.portId, byMembership.portId] };

    out.dumpEmpty = summary(await request(XFRM_MSG_GETPOLICY, NLM_F_DUMP));
    out.add = summary(await request(XFRM_MSG_NEWPOLICY, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, userpolicyInfo()));
    out.ipXfrm = execFileSync('ip', ['xfrm', 'policy', 'list'], { encoding: 'utf8' });
    out.addAgain = summary(await request(XFRM_MSG_NEWPOLICY, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, userpolicyInfo()));
    const dump = await request(XFRM_MSG_GETPOLICY, NLM_F_DUMP);
    out.dumpOne = summary(dump);
    const pol = dump.find((m) => m.type === XFRM_MSG_NEWPOLICY);
    if (pol) {
      const sel = L['xfrm_userpolicy_info.sel'];
      out.dumpedPolicy = {
        dir: pol.payload.readUInt8(L['xfrm_userpolicy_info.dir']),
        priority: pol.payload.readUInt32LE(L['xfrm_userpolicy_info.priority']),
        family: pol.payload.readUInt16LE(sel + L['xfrm_selector.family']),
        daddr: [...pol.payload.subarray(sel + L['xfrm_selector.daddr'], sel + L['xfrm_selector.daddr'] + 4)].join('.'),
        prefixlen_d: pol.payload.readUInt8(sel + L['xfrm_selector.prefixlen_d']),
      };
    }
    out.del = summary(await request(XFRM_MSG_DELPOLICY, NLM_F_ACK, userpolicyId()));
    out.delAgain = summary(await request(XFRM_MSG_DELPOLICY, NLM_F_ACK, userpolicyId()));
    out.ipXfrmAfter = execFileSync('ip', ['xfrm', 'policy', 'list'], { encoding: 'utf8' });

    await new Promise((r) => setTimeout(r, 100)); // multicast events are queued like any datagram
    out.events = events;
    sock.close();
    byGroups.close();
    byMembership.close();
    sock.close(); // idempotent
    try {
      sock.send(nlmsg(XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP, 99));
    } catch (e) {
      out.sendAfterClose = errorInfo(e);
    }
    return out;
  },

  /** A TUN device: a UDP datagram routed into it, a reply written back, the device gone on close. */
  async tun() {
    const out = {};
    const tun = new native.TunDevice('tun-test');
    out.name = tun.name;
    try {
      new native.TunDevice('tun-test');
    } catch (e) {
      out.openTwice = errorInfo(e);
    }
    execFileSync('ip', ['link', 'set', 'dev', 'tun-test', 'up']);
    execFileSync('ip', ['addr', 'add', '198.18.0.1/24', 'dev', 'tun-test']);
    out.ipLink = execFileSync('ip', ['-o', 'link', 'show', 'dev', 'tun-test'], { encoding: 'utf8' });

    const sock = dgram.createSocket('udp4');
    await new Promise((r) => sock.bind(0, '198.18.0.1', r));
    const { port } = sock.address();
    out.packets = [];

    const reply = new Promise((resolve) => sock.once('message', (msg, rinfo) => resolve({ msg: msg.toString(), rinfo })));
    tun.onPacket((pkt) => {
      const version = pkt[0] >> 4;
      if (version !== 4 || pkt[9] !== 17) return; // IPv4 UDP only (ignore IPv6 chatter)
      const ihl = (pkt[0] & 0x0f) * 4;
      const seen = {
        src: [...pkt.subarray(12, 16)].join('.'),
        dst: [...pkt.subarray(16, 20)].join('.'),
        sport: pkt.readUInt16BE(ihl),
        dport: pkt.readUInt16BE(ihl + 2),
        payload: pkt.subarray(ihl + 8).toString(),
      };
      out.packets.push(seen);
      if (seen.dst === '198.18.0.2' && seen.dport === 9999) {
        tun.write(ipv4Udp('198.18.0.2', seen.src, 9999, seen.sport, Buffer.from(`pong:${seen.payload}`)));
      }
    });
    sock.send('ping', 9999, '198.18.0.2');
    out.reply = await withTimeout(reply, 3000, 'timeout');
    sock.close();
    tun.close();
    tun.close();
    try {
      tun.write(Buffer.alloc(20));
    } catch (e) {
      out.writeAfterClose = errorInfo(e);
    }
    out.linkAfterClose = spawnSync('ip', ['link', 'show', 'dev', 'tun-test'], { encoding: 'utf8' }).status;
    const auto = new native.TunDevice('');
    out.autoName = auto.name;
    auto.close();
    return out;
  },

  /** UDP_ENCAP and the per-socket bypass, observed through what the kernel does with them. */
  async sockopts() {
    const out = {};
    out.encap4 = await encapProbe('udp4', '127.0.0.1', true);
    out.plain4 = await encapProbe('udp4', '127.0.0.1', false);
    out.encap6 = await encapProbe('udp6', '::1', true);

    // Local IPv4 traffic never meets XFRM (lo has disable_xfrm), so the bypass is observed on
    // datagrams leaving through a TUN device: with an SPD that blocks all output, only the
    // socket with the bypass policy gets its datagram out.
    const tun = new native.TunDevice('tun-bypass');
    const seen = [];
    tun.onPacket((pkt) => {
      const v = pkt[0] >> 4;
      const [proto, hdr] = v === 4 ? [pkt[9], (pkt[0] & 0x0f) * 4] : [pkt[6], 40];
      if (proto === 17) seen.push(`v${v}:${pkt.subarray(hdr + 8).toString()}`);
    });
    execFileSync('ip', ['link', 'set', 'dev', 'tun-bypass', 'up']);
    execFileSync('ip', ['addr', 'add', '198.18.1.1/24', 'dev', 'tun-bypass']);
    execFileSync('ip', ['addr', 'add', '2001:db8:1::1/64', 'dev', 'tun-bypass', 'nodad']);
    execFileSync('ip', ['xfrm', 'policy', 'add', 'dir', 'out', 'src', '0.0.0.0/0', 'dst', '0.0.0.0/0', 'action', 'block']);
    execFileSync('ip', ['xfrm', 'policy', 'add', 'dir', 'out', 'src', '::/0', 'dst', '::/0', 'action', 'block']);
    out.bypass4 = { plain: await sendVia('udp4', '198.18.1.2', 4, false), bypassed: await sendVia('udp4', '198.18.1.2', 4, true) };
    out.bypass6 = {
      plain: await sendVia('udp6', '2001:db8:1::2', 6, false),
      bypassed: await sendVia('udp6', '2001:db8:1::2', 6, true),
    };
    await new Promise((r) => setTimeout(r, 200));
    out.bypassSeenOnTun = seen;
    execFileSync('ip', ['xfrm', 'policy', 'flush']);
    tun.close();

    const s = dgram.createSocket('udp4');
    await new Promise((r) => s.bind(0, '127.0.0.1', r));
    try {
      native.setIpsecBypass(fdOf(s), 6); // IPV6_XFRM_POLICY on an AF_INET socket
    } catch (e) {
      out.wrongFamily = errorInfo(e);
    }
    try {
      native.setIpsecBypass(fdOf(s), 5);
    } catch (e) {
      out.badFamily = errorInfo(e);
    }
    s.close();
    return out;
  },

  /** An open socket keeps the loop alive; close() lets the process end. */
  async keepalive() {
    const start = Date.now();
    const sock = new native.NetlinkSocket(NETLINK_ROUTE);
    setTimeout(() => sock.close(), 300).unref(); // only the socket keeps the process running
    process.on('exit', () => console.log(JSON.stringify({ elapsedMs: Date.now() - start })));
    return undefined;
  },

  /** A callback that throws becomes an uncaught exception; the socket survives it. */
  async throwing() {
    const sock = new native.NetlinkSocket(NETLINK_XFRM);
    const out = { uncaught: [] };
    let calls = 0;
    sock.onMessage(() => {
      calls++;
      throw new Error(`boom ${calls}`);
    });
    return new Promise((resolve) => {
      process.on('uncaughtException', (e) => {
        out.uncaught.push(e.message);
        if (out.uncaught.length === 2) {
          sock.close();
          resolve(out);
        } else {
          sock.send(nlmsg(XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP, 2));
        }
      });
      sock.send(nlmsg(XFRM_MSG_GETPOLICY, NLM_F_REQUEST | NLM_F_DUMP, 1));
    });
  },

  /** The addon in a worker (context-aware): works there, and a worker ended with sockets open is cleaned up. */
  async worker() {
    const main = new native.NetlinkSocket(NETLINK_XFRM);
    const code = `
      const { parentPort } = require('node:worker_threads');
      const native = require(${JSON.stringify(ADDON)});
      const s = new native.NetlinkSocket(${NETLINK_XFRM});
      const t = new native.TunDevice('');
      s.onMessage((d) => parentPort.postMessage({ portId: s.portId, bytes: d.length, tun: t.name,
        sizes: native.structLayout()['xfrm_usersa_info.size'] }));
      const b = Buffer.alloc(16); b.writeUInt32LE(16, 0); b.writeUInt16LE(${XFRM_MSG_GETPOLICY}, 4);
      b.writeUInt16LE(${NLM_F_REQUEST | NLM_F_DUMP}, 6); b.writeUInt32LE(7, 8);
      s.send(b);   // left open on purpose: terminate() must clean up
    `;
    const results = [];
    for (let i = 0; i < 2; i++) {
      const w = new Worker(code, { eval: true });
      const msg = await new Promise((resolve, reject) => {
        w.once('message', resolve);
        w.once('error', reject);
      });
      const exitCode = await w.terminate();
      results.push({ ...msg, exitCode });
    }
    const out = { mainPortId: main.portId, results };
    main.close();
    return out;
  },

  /** Argument and syscall errors. */
  async errors() {
    const out = {};
    const attempt = (name, fn) => {
      try {
        fn();
        out[name] = 'no error';
      } catch (e) {
        out[name] = errorInfo(e);
      }
    };
    attempt('badProtocol', () => new native.NetlinkSocket(999));
    attempt('protocolType', () => new native.NetlinkSocket('xfrm'));
    attempt('withoutNew', () => native.NetlinkSocket(6));
    attempt('badFd', () => native.setUdpEncap(987654, UDP_ENCAP_ESPINUDP));
    attempt('longTunName', () => new native.TunDevice('x'.repeat(16)));
    const s = new native.NetlinkSocket(NETLINK_XFRM);
    attempt('sendString', () => s.send('abc'));
    attempt('badGroup', () => s.addMembership(4096));
    attempt('callbackType', () => s.onMessage(42));
    s.close();
    return out;
  },
};

/** p, or `fallback` after ms; the timer never outlives the race. */
function withTimeout(p, ms, fallback) {
  let timer;
  const t = new Promise((r) => (timer = setTimeout(() => r(fallback), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

// ---- helpers for sockopts ------------------------------------------------------------------------

/**
 * Node exposes no fd for dgram sockets; the internal handle has it once bound. Same lookup as
 * dgramSocketFd() in src/xfrm/netlink/binding.ts (the state symbol: `_handle` is deprecated).
 */
function fdOf(socket) {
  const state = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'state symbol');
  const fd = state && socket[state]?.handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('no fd on the dgram handle');
  return fd;
}

/**
 * Sends IKE-with-marker, an ESP-looking datagram, a NAT-keepalive and IKE again to a socket.
 * With UDP_ENCAP_ESPINUDP the kernel keeps the ESP one and the keepalive for itself.
 */
async function encapProbe(type, addr, encap) {
  const rx = dgram.createSocket(type);
  const tx = dgram.createSocket(type);
  await new Promise((r) => rx.bind(0, addr, r));
  if (encap) native.setUdpEncap(fdOf(rx), UDP_ENCAP_ESPINUDP);
  const received = [];
  const done = new Promise((resolve) =>
    rx.on('message', (msg) => {
      received.push(msg.toString('hex'));
      if (msg.toString('hex') === '00000000696b6532') resolve();
    }),
  );
  const { port } = rx.address();
  const datagrams = [
    Buffer.from('00000000696b6531', 'hex'), // non-ESP marker + "ike1"
    Buffer.from('deadbeef00000001' + '00'.repeat(24), 'hex'), // SPI 0xdeadbeef, seq 1: ESP
    Buffer.from('ff', 'hex'), // NAT-keepalive
    Buffer.from('00000000696b6532', 'hex'), // non-ESP marker + "ike2"
  ];
  for (const d of datagrams) await new Promise((r, j) => tx.send(d, port, addr, (e) => (e ? j(e) : r())));
  await withTimeout(done, 2000, 'timeout');
  rx.close();
  tx.close();
  return { received };
}

/** Sends one datagram from a fresh socket (with or without the bypass); 'sent' or the error code. */
async function sendVia(type, dst, family, bypass) {
  const tx = dgram.createSocket(type);
  await new Promise((r) => tx.bind(0, r));
  if (bypass) native.setIpsecBypass(fdOf(tx), family);
  const result = await new Promise((r) => tx.send(`bypass=${bypass}`, 9, dst, (e) => r(e ? e.code : 'sent')));
  tx.close();
  return result;
}

function ipv4Udp(src, dst, sport, dport, payload) {
  const pkt = Buffer.alloc(28 + payload.length);
  pkt[0] = 0x45;
  pkt.writeUInt16BE(pkt.length, 2);
  pkt[8] = 64; // TTL
  pkt[9] = 17; // UDP
  ipv4(pkt, 12, src);
  ipv4(pkt, 16, dst);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += pkt.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  pkt.writeUInt16BE(~sum & 0xffff, 10);
  pkt.writeUInt16BE(sport, 20);
  pkt.writeUInt16BE(dport, 22);
  pkt.writeUInt16BE(8 + payload.length, 24); // UDP checksum 0: none (IPv4)
  payload.copy(pkt, 28);
  return pkt;
}

const name = process.argv[2];
const scenario = scenarios[name];
if (!scenario) {
  console.error(`unknown scenario ${name}; one of ${Object.keys(scenarios).join(', ')}`);
  process.exit(2);
}
const result = await scenario();
if (result !== undefined) console.log(JSON.stringify(result));
