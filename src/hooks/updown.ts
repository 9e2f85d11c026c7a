// updown hooks: runs a child's `updown = PATH` script when a CHILD_SA comes up or goes down, with
// the PLUTO_* environment strongSwan's _updown interface defines, so existing scripts (firewall
// rules, proxy-ARP/NDP publication of virtual IPs) run unchanged. As in strongSwan, the script
// runs once per pair of local and remote traffic selectors, with the verb suffixed "-v6" for
// IPv6 pairs, through /bin/sh so `updown = /path/script arg` works. A failing script is logged
// with its output; the SA stays.
import { spawn } from 'node:child_process';
import type { Logger } from '../log/logger.js';

export interface ChildEventInfo {
  verb: 'up' | 'down';
  /** CHILD_SA config name (PLUTO_CONNECTION) and reqid. */
  child: string;
  reqid: number;
  ikeSerial: number;
  updown?: string;
  /** Our and the peer's outer addresses and IKE ports. */
  me: string;
  myPort: number;
  peer: string;
  peerPort: number;
  myId: string;
  peerId: string;
  /** EAP identity, if the peer authenticated with EAP (PLUTO_XAUTH_ID). */
  eapId?: string;
  /** Negotiated traffic selectors as "addr/prefix" strings (ranges are split by the engine's dataplane). */
  localTs: string[];
  remoteTs: string[];
  /** Virtual IPs assigned to the peer. */
  peerVips: string[];
  dns: string[];
  encap: boolean;
  spiIn: number;
  spiOut: number;
  /** Traffic counters, on down. */
  bytesIn?: number;
  bytesOut?: number;
  /** Interface the tunnel's traffic uses (PLUTO_INTERFACE), when known. */
  iface?: string;
}

const familyOf = (cidr: string): 4 | 6 => (cidr.includes(':') ? 6 : 4);

function splitCidr(ts: string): { net: string; prefix: number; proto: number; port: number } {
  // "10.0.0.0/24" or "10.0.0.0/24[tcp/443]"; ranges arrive as "a-b" and are passed through.
  const m = /^([^/[\]]+)(?:\/(\d+))?(?:\[(\w*)(?:\/(\d+))?\])?$/.exec(ts);
  const net = m?.[1] ?? ts;
  const prefix = m?.[2] !== undefined ? Number(m[2]) : familyOf(net) === 6 ? 128 : 32;
  const protoText = m?.[3] ?? '';
  const proto = protoText === '' ? 0 : protoText === 'tcp' ? 6 : protoText === 'udp' ? 17 : protoText === 'icmp' ? 1 : Number(protoText) || 0;
  return { net, prefix, proto, port: Number(m?.[4] ?? 0) };
}

/** strongSwan's PLUTO_*_CLIENT_MASK: a dotted mask for IPv4, the prefix length for IPv6. */
function mask(prefix: number, family: 4 | 6): string {
  if (family === 6) return String(prefix);
  const bits = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return [24, 16, 8, 0].map((s) => (bits >>> s) & 0xff).join('.');
}

/** The environment for one invocation (one TS pair). */
export function updownEnvironment(e: ChildEventInfo, local: string, remote: string): Record<string, string> {
  const l = splitCidr(local);
  const r = splitCidr(remote);
  const family = familyOf(l.net);
  const env: Record<string, string> = {
    PLUTO_VERSION: '1.1',
    PLUTO_VERB: `${e.verb}-client${family === 6 ? '-v6' : ''}`,
    PLUTO_CONNECTION: e.child,
    PLUTO_INTERFACE: e.iface ?? 'unknown',
    PLUTO_REQID: String(e.reqid),
    PLUTO_PROTO: 'esp',
    PLUTO_UNIQUEID: String(e.ikeSerial),
    PLUTO_ME: e.me,
    PLUTO_MY_ID: e.myId,
    PLUTO_MY_CLIENT: `${l.net}/${l.prefix}`,
    PLUTO_MY_CLIENT_NET: l.net,
    PLUTO_MY_CLIENT_MASK: mask(l.prefix, family),
    PLUTO_MY_PORT: String(l.port),
    PLUTO_MY_PROTOCOL: String(l.proto),
    PLUTO_PEER: e.peer,
    PLUTO_PEER_ID: e.peerId,
    PLUTO_PEER_CLIENT: `${r.net}/${r.prefix}`,
    PLUTO_PEER_CLIENT_NET: r.net,
    PLUTO_PEER_CLIENT_MASK: mask(r.prefix, family),
    PLUTO_PEER_PORT: String(r.port),
    PLUTO_PEER_PROTOCOL: String(r.proto),
    PLUTO_SPI_IN: e.spiIn.toString(16).padStart(8, '0'),
    PLUTO_SPI_OUT: e.spiOut.toString(16).padStart(8, '0'),
  };
  if (e.eapId) env.PLUTO_XAUTH_ID = e.eapId;
  if (e.encap) env.PLUTO_UDP_ENC = String(e.peerPort);
  e.peerVips.forEach((vip, i) => {
    env[`PLUTO_PEER_SOURCEIP${familyOf(vip) === 6 ? '6' : '4'}_${i + 1}`] = vip;
  });
  const sameFamily = e.peerVips.filter((v) => familyOf(v) === family);
  if (sameFamily[0]) env.PLUTO_PEER_SOURCEIP = sameFamily[0];
  e.dns.forEach((d, i) => {
    env[`PLUTO_DNS${familyOf(d)}_${i + 1}`] = d;
  });
  if (e.bytesIn !== undefined) env.PLUTO_BYTES_IN = String(e.bytesIn);
  if (e.bytesOut !== undefined) env.PLUTO_BYTES_OUT = String(e.bytesOut);
  return env;
}

export interface UpdownResult {
  status: number | null;
  output: string;
}

/** Runs one invocation through /bin/sh with a time limit; never throws. */
export function runScript(command: string, env: Record<string, string>, timeoutMs = 15_000): Promise<UpdownResult> {
  return new Promise((resolve) => {
    let output = '';
    const child = spawn('/bin/sh', ['-c', command], {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    const collect = (b: Buffer) => {
      if (output.length < 8192) output += b.toString('utf8');
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ status: null, output: `${output}${err.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code, output });
    });
  });
}

/**
 * Runs the child's updown script for every same-family TS pair. Invocations of one SA run in
 * order (down never overtakes up); different SAs do not wait for each other.
 */
export class UpdownRunner {
  private readonly chains = new Map<string, Promise<void>>();

  constructor(private readonly log: Logger) {}

  handle(e: ChildEventInfo): Promise<void> {
    if (!e.updown) return Promise.resolve();
    const key = `${e.ikeSerial}/${e.reqid}`;
    const run = (this.chains.get(key) ?? Promise.resolve()).then(async () => {
      for (const local of e.localTs) {
        for (const remote of e.remoteTs) {
          if (familyOf(splitCidr(local).net) !== familyOf(splitCidr(remote).net)) continue;
          const env = updownEnvironment(e, local, remote);
          const r = await runScript(e.updown!, env);
          if (r.status === 0) {
            this.log.debug({ verb: env.PLUTO_VERB, child: e.child }, `updown ${env.PLUTO_VERB} for ${e.child} ok`);
          } else {
            this.log.warn(
              { verb: env.PLUTO_VERB, child: e.child, status: r.status, output: r.output.trim() },
              `updown script '${e.updown}' failed (${env.PLUTO_VERB} ${local} === ${remote}): exit ${r.status ?? 'signal'}: ${r.output.trim()}`,
            );
          }
        }
      }
    });
    const done = run.finally(() => {
      if (this.chains.get(key) === done) this.chains.delete(key);
    });
    this.chains.set(key, done);
    return done;
  }

  /** Waits for every running script (shutdown). */
  async drain(): Promise<void> {
    await Promise.all([...this.chains.values()]);
  }
}
