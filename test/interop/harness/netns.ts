// Network topology for interop tests: network namespaces joined by veth pairs through a
// bridge in a "switch" namespace, with documentation addresses only. Nothing is routed to
// the host or beyond: every address used lives inside a namespace made here.
//
//   client i  (wan0 192.0.2.(10+i)/24, 2001:db8::(10+i)/64) ─┐
//   nat       (wan0 192.0.2.2/24) ─ masquerade ─ (in0 198.51.100.1/24)
//                 └── natclient (eth0 198.51.100.2/24, default via 198.51.100.1)
//   switch    (br0, one port per wan0)                         ├─ gw (wan0 192.0.2.1/24, 2001:db8::1/64)
//                                                               │   lan0 203.0.113.1/24, 2001:db8:cafe::1/64
//   lan       (eth0 203.0.113.2/24, 2001:db8:cafe::2/64) ── veth ─┘
//
// Namespaces are named `ikg-<tag>-<pid>-<role>`; leftovers of an earlier, crashed run with
// the same tag (a PID that no longer exists) are removed before a new topology is built.
import { mkdirSync, rmSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { run, tail } from './proc.js';
import type { RunOptions, RunResult } from './proc.js';

export const GW_WAN_V4 = '192.0.2.1';
export const GW_WAN_V6 = '2001:db8::1';
export const GW_LAN_V4 = '203.0.113.1';
export const GW_LAN_V6 = '2001:db8:cafe::1';
export const LAN_HOST_V4 = '203.0.113.2';
export const LAN_HOST_V6 = '2001:db8:cafe::2';
export const NAT_OUTSIDE_V4 = '192.0.2.2';
export const NAT_INSIDE_V4 = '198.51.100.1';
export const NAT_CLIENT_V4 = '198.51.100.2';

export interface ClientNode {
  /** Namespace name. */
  ns: string;
  /** Short label (c1, c2, natclient). */
  label: string;
  /** The client's own outer IPv4 address. */
  v4: string;
  /** The client's own outer IPv6 address (none behind the IPv4 NAT). */
  v6: string | undefined;
  behindNat: boolean;
}

export interface TopologyOptions {
  /** Short tag naming the test file (letters/digits), e.g. "psk". */
  tag: string;
  /** Number of clients attached directly to the gateway's network. Default 1. */
  clients?: number;
  /** Add a NAT router (nftables masquerade) with one client behind it. */
  nat?: boolean;
}

export interface NatCounters {
  ike500: number;
  ike4500: number;
  esp: number;
  masqueraded: number;
}

export interface Topology {
  readonly prefix: string;
  /** Scratch directory of this topology (configs, logs, credentials). */
  readonly workDir: string;
  readonly gw: { ns: string; wanV4: string; wanV6: string; lanV4: string; lanV6: string };
  readonly lan: { ns: string; v4: string; v6: string };
  /** Directly attached clients, then (with nat) the client behind the NAT. */
  readonly clients: ClientNode[];
  nat: { ns: string; outsideV4: string; insideV4: string; client: ClientNode } | undefined;
  /** All namespaces created, in creation order. */
  readonly namespaces: string[];
  /** Runs argv inside the namespace (`ip netns exec NS argv…`). Throws on failure unless check=false. */
  exec(ns: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult>;
  /** Packet counters of the NAT router's forward chain (nat topologies only). */
  natCounters(): Promise<NatCounters>;
  /** Removes all namespaces (and the work dir unless IKEGATE_INTEROP_KEEP=1). Idempotent. */
  destroy(): Promise<void>;
}

const NS_RE = /^ikg-([a-z0-9]+)-(\d+)-[a-z0-9]+$/;

export function nsExec(ns: string, argv: readonly string[], opts?: RunOptions): Promise<RunResult> {
  return run(['ip', 'netns', 'exec', ns, ...argv], opts);
}

async function listNamespaces(): Promise<string[]> {
  const r = await run(['ip', 'netns', 'list'], { timeoutMs: 10_000 });
  return r.stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Kills what still runs inside a namespace of ours and deletes it. */
async function deleteNamespace(ns: string): Promise<void> {
  const pids = await run(['ip', 'netns', 'pids', ns], { check: false, timeoutMs: 10_000 });
  for (const p of pids.stdout.split(/\s+/).filter((s) => /^\d+$/.test(s))) {
    try {
      process.kill(Number(p), 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await run(['ip', 'netns', 'del', ns], { check: false, timeoutMs: 10_000 });
}

/**
 * Removes namespaces and scratch directories left by earlier runs for this tag whose
 * owning test process is gone (a crashed or killed run).
 */
export async function cleanupLeftovers(tag: string): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await listNamespaces()) {
    const m = NS_RE.exec(ns);
    if (!m || m[1] !== tag) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    await deleteNamespace(ns);
    removed.push(ns);
  }
  for (const entry of readdirSync('/tmp')) {
    const m = /^ikg-([a-z0-9]+)-(\d+)$/.exec(entry);
    if (!m || m[1] !== tag) continue;
    const pid = Number(m[2]);
    if (pid === process.pid || pidAlive(pid)) continue;
    rmSync(join('/tmp', entry), { recursive: true, force: true });
  }
  return removed;
}

export async function buildTopology(opts: TopologyOptions): Promise<Topology> {
  if (!/^[a-z0-9]{1,10}$/.test(opts.tag)) throw new Error(`bad topology tag ${opts.tag}`);
  await cleanupLeftovers(opts.tag);
  const prefix = `ikg-${opts.tag}-${process.pid}`;
  const workDir = `/tmp/${prefix}`;
  rmSync(workDir, { recursive: true, force: true });
  mkdirSync(workDir, { recursive: true, mode: 0o700 });

  const namespaces: string[] = [];
  const name = (role: string): string => `${prefix}-${role}`;
  const ip = (args: string[]): Promise<RunResult> => run(['ip', ...args], { timeoutMs: 10_000 });
  const sysctl = (ns: string, kv: string): Promise<RunResult> =>
    nsExec(ns, ['sysctl', '-qw', kv], { timeoutMs: 10_000 });

  const addNs = async (role: string): Promise<string> => {
    const ns = name(role);
    await ip(['netns', 'add', ns]);
    namespaces.push(ns);
    await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
    return ns;
  };

  const topo: Topology = {
    prefix,
    workDir,
    gw: { ns: name('gw'), wanV4: GW_WAN_V4, wanV6: GW_WAN_V6, lanV4: GW_LAN_V4, lanV6: GW_LAN_V6 },
    lan: { ns: name('lan'), v4: LAN_HOST_V4, v6: LAN_HOST_V6 },
    clients: [],
    nat: undefined,
    namespaces,
    exec: (ns, argv, o) => nsExec(ns, argv, o),
    natCounters: async () => {
      if (!topo.nat) throw new Error('natCounters: this topology has no NAT router');
      const r = await nsExec(topo.nat.ns, ['nft', '-j', 'list', 'table', 'ip', 'ikgnat']);
      return parseNatCounters(r.stdout);
    },
    destroy: async () => {
      for (const ns of [...namespaces].reverse()) await deleteNamespace(ns);
      namespaces.length = 0;
      if (process.env.IKEGATE_INTEROP_KEEP !== '1') rmSync(workDir, { recursive: true, force: true });
    },
  };

  try {
    const sw = await addNs('sw');
    await ip(['-n', sw, 'link', 'add', 'br0', 'type', 'bridge']);
    await ip(['-n', sw, 'link', 'set', 'br0', 'up']);
    let port = 0;
    // veth between a node's wan0 and a new port of the switch's bridge
    const attach = async (ns: string): Promise<void> => {
      const p = `p${port++}`;
      await ip(['link', 'add', 'wan0', 'netns', ns, 'type', 'veth', 'peer', 'name', p, 'netns', sw]);
      await ip(['-n', sw, 'link', 'set', p, 'master', 'br0']);
      await ip(['-n', sw, 'link', 'set', p, 'up']);
      await ip(['-n', ns, 'link', 'set', 'wan0', 'up']);
    };
    const addr = async (ns: string, dev: string, cidr: string): Promise<void> => {
      await ip(['-n', ns, 'addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : [])]);
    };

    // gateway + LAN host
    const gw = await addNs('gw');
    await attach(gw);
    await addr(gw, 'wan0', `${GW_WAN_V4}/24`);
    await addr(gw, 'wan0', `${GW_WAN_V6}/64`);
    const lan = await addNs('lan');
    await ip(['link', 'add', 'lan0', 'netns', gw, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan]);
    await addr(gw, 'lan0', `${GW_LAN_V4}/24`);
    await addr(gw, 'lan0', `${GW_LAN_V6}/64`);
    await ip(['-n', gw, 'link', 'set', 'lan0', 'up']);
    await addr(lan, 'eth0', `${LAN_HOST_V4}/24`);
    await addr(lan, 'eth0', `${LAN_HOST_V6}/64`);
    await ip(['-n', lan, 'link', 'set', 'eth0', 'up']);
    await ip(['-n', lan, 'route', 'add', 'default', 'via', GW_LAN_V4]);
    await ip(['-n', lan, '-6', 'route', 'add', 'default', 'via', GW_LAN_V6]);
    await sysctl(gw, 'net.ipv4.ip_forward=1');
    await sysctl(gw, 'net.ipv6.conf.all.forwarding=1');

    // directly attached clients
    const n = opts.clients ?? 1;
    for (let i = 1; i <= n; i++) {
      const ns = await addNs(`c${i}`);
      await attach(ns);
      const v4 = `192.0.2.${10 + i}`;
      const v6 = `2001:db8::${(10 + i).toString(16)}`;
      await addr(ns, 'wan0', `${v4}/24`);
      await addr(ns, 'wan0', `${v6}/64`);
      topo.clients.push({ ns, label: `c${i}`, v4, v6, behindNat: false });
    }

    // NAT router with one client behind it; the gateway has no route to the inside
    if (opts.nat) {
      const nat = await addNs('nat');
      await attach(nat);
      await addr(nat, 'wan0', `${NAT_OUTSIDE_V4}/24`);
      const cn = await addNs('cn');
      await ip(['link', 'add', 'in0', 'netns', nat, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', cn]);
      await addr(nat, 'in0', `${NAT_INSIDE_V4}/24`);
      await ip(['-n', nat, 'link', 'set', 'in0', 'up']);
      await addr(cn, 'eth0', `${NAT_CLIENT_V4}/24`);
      await ip(['-n', cn, 'link', 'set', 'eth0', 'up']);
      await ip(['-n', cn, 'route', 'add', 'default', 'via', NAT_INSIDE_V4]);
      await sysctl(nat, 'net.ipv4.ip_forward=1');
      await nsExec(nat, ['nft', '-f', '-'], {
        timeoutMs: 10_000,
        input: [
          'table ip ikgnat {',
          '  chain forward {',
          '    type filter hook forward priority 0; policy accept;',
          '    udp dport 500 counter comment "ike500"',
          '    udp dport 4500 counter comment "ike4500"',
          '    meta l4proto esp counter comment "esp"',
          '  }',
          '  chain postrouting {',
          '    type nat hook postrouting priority srcnat; policy accept;',
          '    oifname "wan0" counter masquerade comment "masq"',
          '  }',
          '}',
          '',
        ].join('\n'),
      });
      const client: ClientNode = { ns: cn, label: 'natclient', v4: NAT_CLIENT_V4, v6: undefined, behindNat: true };
      topo.clients.push(client);
      topo.nat = { ns: nat, outsideV4: NAT_OUTSIDE_V4, insideV4: NAT_INSIDE_V4, client };
    }
  } catch (e) {
    await topo.destroy();
    throw e;
  }
  return topo;
}

/** Parses `nft -j list table ip ikgnat` into the counters of the commented rules. */
export function parseNatCounters(json: string): NatCounters {
  const out: NatCounters = { ike500: 0, ike4500: 0, esp: 0, masqueraded: 0 };
  const doc = JSON.parse(json) as { nftables?: Array<Record<string, unknown>> };
  for (const item of doc.nftables ?? []) {
    const rule = item.rule as { comment?: string; expr?: Array<Record<string, unknown>> } | undefined;
    if (!rule?.comment) continue;
    let packets = 0;
    for (const ex of rule.expr ?? []) {
      const c = ex.counter as { packets?: number } | undefined;
      if (c?.packets !== undefined) packets = c.packets;
    }
    if (rule.comment === 'ike500') out.ike500 = packets;
    else if (rule.comment === 'ike4500') out.ike4500 = packets;
    else if (rule.comment === 'esp') out.esp = packets;
    else if (rule.comment === 'masq') out.masqueraded = packets;
  }
  return out;
}

/** One ping from a namespace; throws with ping's output when it gets no reply. */
export async function pingOnce(ns: string, address: string): Promise<void> {
  const r = await nsExec(ns, ['ping', '-c', '1', '-W', '2', address], { check: false, timeoutMs: 10_000 });
  if (r.code !== 0) throw new Error(`ping ${address} from ${ns} failed:\n${tail(r.stdout + r.stderr)}`);
}
