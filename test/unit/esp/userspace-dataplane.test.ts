// UserspaceDataplane end to end without root: a gateway and a client, both built from the same
// code, each with a fake TUN device and a fake UDP sender that hands datagrams to the other's
// receiveEsp(). The SAs and policies are what src/ike/exchanges/steps/child-sa.ts installs for
// a remote-access client with virtual IPs 198.18.0.1 and 2001:db8:f00d::1 (selectors
// 0.0.0.0/0 and ::/0 === VIP/32 and VIP/128).
import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/log/logger.js';
import { endpoint, type Endpoint } from '../../../src/net/endpoint.js';
import { UserspaceDataplane, type DataplaneClock } from '../../../src/esp/userspace-dataplane.js';
import type { TunPort } from '../../../src/esp/tun.js';
import type { DataplaneEvent, PolicySpec, SaSpec } from '../../../src/xfrm/dataplane.js';
import type { KernelAlgorithm } from '../../../src/crypto/suite.js';
import { icmpEcho, ipv4, ipv6, udp } from './packets.js';

class FakeTun implements TunPort {
  readonly written: Buffer[] = [];
  closed = false;
  private cb: ((p: Buffer) => void) | undefined;
  constructor(readonly name: string) {}
  onPacket(callback: (packet: Buffer) => void): void {
    this.cb = callback;
  }
  write(packet: Uint8Array): void {
    this.written.push(Buffer.from(packet));
  }
  close(): void {
    this.closed = true;
  }
  /** The kernel routes a packet into the device. */
  inject(p: Buffer): void {
    this.cb?.(p);
  }
}

class FakeClock implements DataplaneClock {
  t = 1_000_000;
  private timers: Array<{ at: number; fn: () => void; live: boolean }> = [];
  now(): number {
    return this.t;
  }
  setTimer(delayMs: number, fn: () => void): () => void {
    const e = { at: this.t + delayMs, fn, live: true };
    this.timers.push(e);
    return () => (e.live = false);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const e of this.timers.filter((x) => x.live && x.at <= this.t).sort((a, b) => a.at - b.at)) {
      e.live = false;
      e.fn();
    }
  }
}

interface Node {
  dp: UserspaceDataplane;
  tun: FakeTun;
  ipCalls: string[];
  logs: Array<Record<string, unknown>>;
  sent: Array<{ local: Endpoint; remote: Endpoint; bytes: Buffer }>;
  events: DataplaneEvent[];
}

function node(name: string, clock: DataplaneClock, deliver: (local: Endpoint, remote: Endpoint, bytes: Buffer) => void): Node {
  const tun = new FakeTun(name);
  const ipCalls: string[] = [];
  const logs: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const line of chunk.toString().split('\n')) if (line.trim()) logs.push(JSON.parse(line) as Record<string, unknown>);
      cb();
    },
  });
  const sent: Node['sent'] = [];
  const dp = new UserspaceDataplane({
    tun,
    log: createLogger('debug', sink),
    clock,
    ip: async (args) => {
      ipCalls.push(args.join(' '));
    },
    sendUdp: (local, remote, bytes) => {
      const copy = Buffer.from(bytes);
      sent.push({ local, remote, bytes: copy });
      deliver(local, remote, copy);
    },
  });
  const events: DataplaneEvent[] = [];
  dp.onEvent((e) => events.push(e));
  return { dp, tun, ipCalls, logs, sent, events };
}

const GW = '192.0.2.1';
const CLIENT = '192.0.2.11';
const VIP4 = '198.18.0.1';
const VIP6 = '2001:db8:f00d::1';
const LAN4 = '203.0.113.2';
const LAN6 = '2001:db8:cafe::2';

const GCM256: KernelAlgorithm = { family: 'aead', name: 'rfc4106(gcm(aes))', icvBits: 128 };
const CBC: KernelAlgorithm = { family: 'crypt', name: 'cbc(aes)' };
const SHA256: KernelAlgorithm = { family: 'auth', name: 'hmac(sha256)', truncBits: 128 };

interface Keys {
  enc: SaSpec['enc'];
  integ?: SaSpec['integ'];
}

const gcmKeys = (): Keys => ({ enc: { alg: GCM256, key: randomBytes(36) } });
const cbcKeys = (): Keys => ({ enc: { alg: CBC, key: randomBytes(32) }, integ: { alg: SHA256, key: randomBytes(32) } });

function sa(direction: 'in' | 'out', src: string, dst: string, spi: number, reqid: number, keys: Keys, over: Partial<SaSpec> = {}): SaSpec {
  return {
    id: { src, dst, spi, proto: 'esp' },
    reqid,
    mode: 'tunnel',
    direction,
    ...keys,
    encap: { sport: 4500, dport: 4500 },
    replayWindow: 64,
    esn: false,
    lifetime: {},
    ...over,
  };
}

function policies(local: string[], remote: string[], reqid: number, tunnelOut: { src: string; dst: string }): PolicySpec[] {
  const out: PolicySpec[] = [];
  for (const [l, r] of local.map((l, i) => [l, remote[i] as string] as const)) {
    for (const direction of ['out', 'in', 'fwd'] as const) {
      const tunnel = direction === 'out' ? tunnelOut : { src: tunnelOut.dst, dst: tunnelOut.src };
      out.push({ selector: { local: l, remote: r, protocol: 0 }, direction, reqid, mode: 'tunnel', tunnel, priority: 0 });
    }
  }
  return out;
}

/** A gateway and a client with one CHILD_SA pair between them (SPIs from each side's allocateSpi). */
async function tunnel(opts: { keys?: () => Keys; esn?: boolean; gwOut?: Partial<SaSpec>; clientLocal?: [string, string] } = {}) {
  const clock = new FakeClock();
  const nodes: { gw?: Node; client?: Node } = {};
  const gw = node('gw0', clock, (local, remote, bytes) => nodes.client?.dp.receiveEsp(bytes, remote, local));
  const client = node('ipsec0', clock, (local, remote, bytes) => nodes.gw?.dp.receiveEsp(bytes, remote, local));
  nodes.gw = gw;
  nodes.client = client;
  const keys = opts.keys ?? gcmKeys;
  const i2r = keys();
  const r2i = keys();
  const spiGw = await gw.dp.allocateSpi(GW);
  const spiClient = await client.dp.allocateSpi(CLIENT);
  const esn = opts.esn ?? false;
  // gateway (responder): inbound first, then outbound, then policies — as child-sa.ts does
  await gw.dp.installSa(sa('in', CLIENT, GW, spiGw, 1, i2r, { esn }));
  await gw.dp.installSa(sa('out', GW, CLIENT, spiClient, 1, r2i, { esn, ...opts.gwOut }));
  for (const p of policies(['0.0.0.0/0', '::/0'], [`${VIP4}/32`, `${VIP6}/128`], 1, { src: GW, dst: CLIENT })) await gw.dp.installPolicy(p);
  // client (initiator): the mirror image
  await client.dp.installSa(sa('in', GW, CLIENT, spiClient, 7, r2i, { esn }));
  await client.dp.installSa(sa('out', CLIENT, GW, spiGw, 7, i2r, { esn }));
  const [l4, l6] = opts.clientLocal ?? [`${VIP4}/32`, `${VIP6}/128`];
  for (const p of policies([l4, l6], ['0.0.0.0/0', '::/0'], 7, { src: CLIENT, dst: GW })) await client.dp.installPolicy(p);
  return { clock, gw, client, spiGw, spiClient };
}

describe('UserspaceDataplane: two nodes exchange packets', () => {
  for (const [label, keys] of [['AES-256-GCM', gcmKeys], ['AES-256-CBC/HMAC-SHA-256', cbcKeys]] as const) {
    it(`${label}: ping over IPv4 and IPv6 inner, both directions, ESP-in-UDP on 4500`, async () => {
      const { gw, client, spiGw, spiClient } = await tunnel({ keys });
      const req4 = ipv4(VIP4, LAN4, 1, icmpEcho(8));
      client.tun.inject(req4);
      expect(client.sent).toHaveLength(1);
      const d = client.sent[0]!;
      expect(d.local).toEqual(endpoint(CLIENT, 4500));
      expect(d.remote).toEqual(endpoint(GW, 4500));
      expect(d.bytes.readUInt32BE(0)).toBe(spiGw); // RFC 3948 §2.1: the UDP payload starts with the SPI
      expect(gw.tun.written).toEqual([req4]);

      const rep4 = ipv4(LAN4, VIP4, 1, icmpEcho(0));
      gw.tun.inject(rep4);
      expect(gw.sent[0]?.bytes.readUInt32BE(0)).toBe(spiClient);
      expect(gw.sent[0]?.local).toEqual(endpoint(GW, 4500));
      expect(client.tun.written).toEqual([rep4]);

      const req6 = ipv6(VIP6, LAN6, 58, icmpEcho(128));
      const rep6 = ipv6(LAN6, VIP6, 58, icmpEcho(129));
      client.tun.inject(req6);
      gw.tun.inject(rep6);
      expect(gw.tun.written[1]).toEqual(req6);
      expect(client.tun.written[1]).toEqual(rep6);

      const usage = await gw.dp.querySa({ src: CLIENT, dst: GW, spi: spiGw, proto: 'esp' });
      expect(usage).toEqual({ bytes: req4.length + req6.length, packets: 2, lastUse: expect.any(Number) });
      expect(gw.dp.stats()).toMatchObject({ packetsIn: 2, packetsOut: 2, sas: 2 });
      expect(Object.values(gw.dp.stats().drops).every((n) => n === 0)).toBe(true);
    });
  }

  it('with ESN', async () => {
    const { gw, client } = await tunnel({ esn: true });
    for (let i = 0; i < 5; i++) client.tun.inject(ipv4(VIP4, LAN4, 17, udp(1000 + i, 53)));
    expect(gw.tun.written).toHaveLength(5);
  });

  it('drops replays, ICV failures and unknown SPIs, counting each, logging rate-limited', async () => {
    const { gw, client } = await tunnel();
    client.tun.inject(ipv4(VIP4, LAN4, 1, icmpEcho()));
    const d = client.sent[0]!;
    gw.dp.receiveEsp(d.bytes, d.remote, d.local); // replay
    // Forgeries with fresh sequence numbers pass the replay pre-check and fail the ICV.
    for (let i = 0; i < 50; i++) {
      const bad = Buffer.from(d.bytes);
      bad.writeUInt32BE(100 + i, 4);
      gw.dp.receiveEsp(bad, d.remote, d.local);
    }
    const unknown = Buffer.from(d.bytes);
    unknown.writeUInt32BE(0xdeadbeef, 0);
    gw.dp.receiveEsp(unknown, d.remote, d.local);
    gw.dp.receiveEsp(Buffer.from([1, 2, 3]), d.remote, d.local);
    expect(gw.tun.written).toHaveLength(1);
    expect(gw.dp.stats().drops).toMatchObject({ replay: 1, icv: 50, 'bad-spi': 1, malformed: 1 });
    const icvLines = gw.logs.filter((l) => l.reason === 'icv');
    expect(icvLines).toHaveLength(1); // 50 drops, one line within the interval
    expect(icvLines[0]?.level).toBe('info');
    // No key material in any log line.
    expect(JSON.stringify(gw.logs)).not.toMatch(/"key"/);
  });

  it('drops decrypted packets whose inner addresses are outside the SA selectors (RFC 4301 §5.2)', async () => {
    // The client's own policy is wider than what the gateway granted it.
    const { gw, client } = await tunnel({ clientLocal: ['198.18.0.0/24', '::/0'] });
    client.tun.inject(ipv4('198.18.0.99', LAN4, 1, icmpEcho())); // spoofed source
    client.tun.inject(ipv6('2001:db8:f00d::99', LAN6, 58, icmpEcho(128)));
    expect(client.sent).toHaveLength(2); // the client sealed them
    expect(gw.tun.written).toHaveLength(0);
    expect(gw.dp.stats().drops.selector).toBe(2);
    client.tun.inject(ipv4(VIP4, LAN4, 1, icmpEcho()));
    expect(gw.tun.written).toHaveLength(1);
  });

  it('outbound packets without a policy or SA are dropped', async () => {
    const { gw } = await tunnel();
    gw.tun.inject(ipv4(LAN4, '198.18.0.77', 1, icmpEcho(0)));
    expect(gw.dp.stats().drops['no-policy']).toBe(1);
    expect(gw.sent).toHaveLength(0);
    await gw.dp.deleteSa({ src: GW, dst: CLIENT, spi: (await gw.dp.allocateSpi(GW)) ^ 1, proto: 'esp' }); // unknown: no-op
    const { client: c2, gw: g2, spiClient } = await tunnel();
    await g2.dp.deleteSa({ src: GW, dst: CLIENT, spi: spiClient, proto: 'esp' });
    g2.tun.inject(ipv4(LAN4, VIP4, 1, icmpEcho(0)));
    expect(g2.dp.stats().drops['no-sa']).toBe(1);
    expect(c2.tun.written).toHaveLength(0);
  });

  it('strips TFC padding after the inner packet and discards dummy packets (Next Header 59)', async () => {
    const { gw, client } = await tunnel();
    const inner = ipv4(VIP4, LAN4, 1, icmpEcho());
    // Seal by hand through the client's outbound SA: inner packet + 16 bytes of TFC padding.
    const out = (client.dp as unknown as { outboundByReqid: Map<number, Array<{ esp: { seal(nh: number, p: Uint8Array): Buffer } }>> }).outboundByReqid.get(7)![0]!.esp;
    gw.dp.receiveEsp(out.seal(4, Buffer.concat([inner, Buffer.alloc(16)])), endpoint(GW, 4500), endpoint(CLIENT, 4500));
    expect(gw.tun.written).toEqual([inner]);
    gw.dp.receiveEsp(out.seal(59, Buffer.alloc(0)), endpoint(GW, 4500), endpoint(CLIENT, 4500));
    gw.dp.receiveEsp(out.seal(41, inner), endpoint(GW, 4500), endpoint(CLIENT, 4500)); // says IPv6, is IPv4
    gw.dp.receiveEsp(out.seal(6, inner), endpoint(GW, 4500), endpoint(CLIENT, 4500)); // transport mode
    expect(gw.tun.written).toHaveLength(1);
    expect(gw.dp.stats().drops).toMatchObject({ malformed: 1, 'next-header': 1 });
  });
});

describe('UserspaceDataplane: lifetimes and expire events', () => {
  it('soft by bytes once, then hard: event and SA deleted', async () => {
    const { gw, client, spiClient } = await tunnel({ gwOut: { lifetime: { softBytes: 1000, hardBytes: 3000 } } });
    const id = { src: GW, dst: CLIENT, spi: spiClient, proto: 'esp' as const };
    const p = ipv4(LAN4, VIP4, 17, udp(53, 40000, Buffer.alloc(472))); // 500 bytes
    gw.tun.inject(p);
    expect(gw.events).toEqual([]);
    gw.tun.inject(p);
    expect(gw.events).toEqual([{ kind: 'expire', id, hard: false }]);
    gw.tun.inject(p);
    gw.tun.inject(p);
    gw.tun.inject(p);
    expect(gw.events).toHaveLength(1); // soft only once
    gw.tun.inject(p);
    expect(gw.events).toEqual([
      { kind: 'expire', id, hard: false },
      { kind: 'expire', id, hard: true },
    ]);
    expect(await gw.dp.querySa(id)).toBeUndefined();
    gw.tun.inject(p);
    expect(gw.dp.stats().drops['no-sa']).toBe(1);
    expect(client.tun.written).toHaveLength(6);
  });

  it('soft and hard by seconds', async () => {
    const { gw, clock, spiGw } = await tunnel();
    const id = { src: CLIENT, dst: GW, spi: 0xc0000042, proto: 'esp' as const };
    await gw.dp.installSa(sa('in', CLIENT, GW, id.spi, 2, gcmKeys(), { lifetime: { softSeconds: 10, hardSeconds: 15 } }));
    clock.advance(9_999);
    expect(gw.events).toEqual([]);
    clock.advance(1);
    expect(gw.events).toEqual([{ kind: 'expire', id, hard: false }]);
    clock.advance(5_000);
    expect(gw.events).toEqual([
      { kind: 'expire', id, hard: false },
      { kind: 'expire', id, hard: true },
    ]);
    expect(await gw.dp.querySa(id)).toBeUndefined();
    expect(await gw.dp.querySa({ src: CLIENT, dst: GW, spi: spiGw, proto: 'esp' })).toBeDefined();
  });

  it('a deleted SA fires no timers', async () => {
    const { gw, clock } = await tunnel();
    const id = { src: CLIENT, dst: GW, spi: 0xc0000043, proto: 'esp' as const };
    await gw.dp.installSa(sa('in', CLIENT, GW, id.spi, 2, gcmKeys(), { lifetime: { softSeconds: 1, hardSeconds: 2 } }));
    await gw.dp.deleteSa(id);
    clock.advance(5_000);
    expect(gw.events).toEqual([]);
  });
});

describe('UserspaceDataplane: SPIs, refusals, routes, close', () => {
  it('allocates distinct SPIs in 0xc0000000-0xcfffffff', async () => {
    const { gw } = await tunnel();
    const spis = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const spi = await gw.dp.allocateSpi(GW);
      expect(spi).toBeGreaterThanOrEqual(0xc0000000);
      expect(spi).toBeLessThanOrEqual(0xcfffffff);
      spis.add(spi);
    }
    expect(spis.size).toBe(500);
    expect(gw.dp.requiresUdpEncapsulation).toBe(true);
    expect(gw.dp.name).toBe('userspace');
  });

  it('refuses SAs it cannot carry, with a reason', async () => {
    const { gw } = await tunnel();
    const base = sa('in', CLIENT, GW, 0xc0000100, 3, gcmKeys());
    const { encap: _e, ...noEncap } = base;
    await expect(gw.dp.installSa(noEncap)).rejects.toThrow(/needs UDP encapsulation/);
    await expect(gw.dp.installSa({ ...base, mode: 'transport' })).rejects.toThrow(/tunnel mode only/);
    await expect(gw.dp.installSa({ ...base, enc: { alg: CBC, key: randomBytes(16) } })).rejects.toThrow(/without integrity/);
    await expect(gw.dp.installSa({ ...base, enc: { alg: { family: 'crypt', name: 'ctr(aes)' }, key: randomBytes(20) }, integ: { alg: SHA256, key: randomBytes(32) } })).rejects.toThrow(/ctr\(aes\) is not supported/);
    await gw.dp.installSa(base);
    await expect(gw.dp.installSa(base)).rejects.toThrow(/exists/);
  });

  it('routes client VIPs into the TUN (policies and installRoute share refcounted routes); close removes them', async () => {
    const { gw } = await tunnel();
    expect(gw.ipCalls).toEqual([`-4 route replace ${VIP4}/32 dev gw0`, `-6 route replace ${VIP6}/128 dev gw0`]);
    await gw.dp.installRoute({ destination: `${VIP4}/32`, table: 0 }); // same route: refcount only
    await gw.dp.installRoute({ destination: '198.18.0.9', table: 220 });
    expect(gw.ipCalls.slice(2)).toEqual(['-4 route replace 198.18.0.9/32 dev gw0 table 220']);
    await gw.dp.deleteRoute({ destination: '198.18.0.9', table: 220 });
    expect(gw.ipCalls.slice(3)).toEqual(['-4 route del 198.18.0.9/32 dev gw0 table 220']);
    const [p4] = policies(['0.0.0.0/0'], [`${VIP4}/32`], 1, { src: GW, dst: CLIENT });
    await gw.dp.deletePolicy(p4!);
    expect(gw.ipCalls).toHaveLength(4); // still referenced by installRoute
    await gw.dp.close();
    expect(gw.ipCalls.slice(4).sort()).toEqual([`-4 route del ${VIP4}/32 dev gw0`, `-6 route del ${VIP6}/128 dev gw0`]);
    expect(gw.tun.closed).toBe(true);
    expect(gw.dp.stats()).toMatchObject({ sas: 0, outboundPolicies: 0, routes: 0 });
  });

  it('migrate() moves a CHILD_SA to new outer addresses in place: sequence numbers and replay state continue (MOBIKE)', async () => {
    const { gw, client, spiGw, spiClient } = await tunnel();
    const MOVED = '192.0.2.111';
    for (let i = 0; i < 5; i++) gw.tun.inject(ipv4(LAN4, VIP4, 17, udp(2000 + i, 53)));
    client.tun.inject(ipv4(VIP4, LAN4, 17, udp(53, 2000)));
    expect(client.tun.written).toHaveLength(5);
    // The client re-homed and updated its SAs in place; the gateway follows.
    await client.dp.migrate({ reqid: 7, from: { local: CLIENT, remote: GW }, to: { local: MOVED, remote: GW } });
    await gw.dp.migrate({ reqid: 1, from: { local: GW, remote: CLIENT }, to: { local: GW, remote: MOVED } });
    // A second CHILD_SA of the same reqid (the old one during a rekey) finds them moved already.
    await gw.dp.migrate({ reqid: 1, from: { local: GW, remote: CLIENT }, to: { local: GW, remote: MOVED } });
    await expect(gw.dp.migrate({ reqid: 9, from: { local: GW, remote: CLIENT }, to: { local: GW, remote: MOVED } })).rejects.toThrow(/no SAs with reqid 9/);

    for (let i = 0; i < 5; i++) gw.tun.inject(ipv4(LAN4, VIP4, 17, udp(3000 + i, 53)));
    const last = gw.sent[gw.sent.length - 1]!;
    expect(last.local).toEqual(endpoint(GW, 4500));
    expect(last.remote).toEqual(endpoint(MOVED, 4500));
    expect(last.bytes.readUInt32BE(0)).toBe(spiClient);
    expect(last.bytes.readUInt32BE(4)).toBe(10); // RFC 4303 §3.3.3: the sequence number continues, not back to 1
    expect(client.tun.written).toHaveLength(10); // none dropped as a replay by the peer
    client.tun.inject(ipv4(VIP4, LAN4, 17, udp(53, 3000)));
    expect(client.sent[client.sent.length - 1]?.local).toEqual(endpoint(MOVED, 4500));
    expect(gw.tun.written).toHaveLength(2);
    expect(gw.dp.stats().drops.replay + client.dp.stats().drops.replay).toBe(0);
    // The SAs are found under their new ids only; lifetimes and usage stayed with them.
    expect(await gw.dp.querySa({ src: GW, dst: CLIENT, spi: spiClient, proto: 'esp' })).toBeUndefined();
    expect(await gw.dp.querySa({ src: GW, dst: MOVED, spi: spiClient, proto: 'esp' })).toMatchObject({ packets: 10 });
    expect(await gw.dp.querySa({ src: MOVED, dst: GW, spi: spiGw, proto: 'esp' })).toMatchObject({ packets: 2 });
    await gw.dp.deleteSa({ src: GW, dst: MOVED, spi: spiClient, proto: 'esp' });
    expect(gw.dp.stats().sas).toBe(1);
  });

  it('open() fails with one clear reason when the TUN device cannot be created', async () => {
    const log = createLogger('silent');
    const Broken = class {
      constructor() {
        throw Object.assign(new Error('open /dev/net/tun: Operation not permitted'), { code: 'EPERM' });
      }
    } as unknown as new (name: string) => TunPort;
    await expect(UserspaceDataplane.open({ log, sendUdp: () => undefined, TunDevice: Broken, ip: async () => undefined })).rejects.toThrow(
      /^userspace ESP dataplane unavailable: cannot open TUN device ikegate0: open \/dev\/net\/tun: Operation not permitted \(needs CAP_NET_ADMIN\)$/,
    );
  });
});
