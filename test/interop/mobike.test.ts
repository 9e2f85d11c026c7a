// MOBIKE (RFC 4555) with a real strongSwan client and real traffic: the gateway runs the
// userspace ESP dataplane (ESP-in-UDP over TUN, as in userspace-esp.test.ts) and the client
// pings the LAN host behind it continuously. During the ping the client gets a second address
// on its link and loses the first one (promote_secondaries keeps the second); its charon
// re-homes the IKE_SA with INFORMATIONAL { N(UPDATE_SA_ADDRESSES), N(NATD_*) }. The gateway
// keeps the IKE SPIs and moves the CHILD_SA in place to the new address (same SPIs, keys and
// sequence numbers: UserspaceDataplane.migrate()). The client's kernel-libipsec cannot update
// its SAs in place, so its charon then rekeys the CHILD_SA (child_sa update -> NOT_SUPPORTED);
// the ping keeps running through that rekey.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { logLevel, startIkegate } from './harness/gateway.js';
import type { Gateway } from './harness/gateway.js';
import { buildTopology, nsExec } from './harness/netns.js';
import type { Topology } from './harness/netns.js';
import { stopAllTracked } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, pskClient, randomSecret, waitForGatewaySaCount } from './harness/scenario.js';
import { startStrongswanClient } from './harness/strongswan-client.js';
import type { StrongswanClient } from './harness/strongswan-client.js';

const SECRET = randomSecret();
/** The client's second address on the same link (the topology gives it 192.0.2.11). */
const MOVED_V4 = '192.0.2.111';
/** Continuous ping: one echo request every 200 ms for PING_S seconds; the move happens at MOVE_AFTER_S. */
const PING_INTERVAL_S = 0.2;
const PING_S = 20;
const MOVE_AFTER_S = 6;
/**
 * Overall loss bound over the 100 echo requests. Between removing the old address and the
 * gateway handling UPDATE_SA_ADDRESSES (one round trip after charon notices the address change
 * through its netlink monitor, normally well under a second), replies still go to the old
 * address; then the client's CHILD_SA rekey switches SAs once more. A few lost packets (up to
 * ~2 s of traffic = 10 requests) are tolerated; more means traffic did not continue.
 */
const MAX_LOSS_PERCENT = 10;

let topo: Topology;
let gw: Gateway;
let client: StrongswanClient;
const setup = new FileSetup();

beforeAll(() =>
  setup.run(async () => {
    requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare', 'ping']);
    topo = await buildTopology({ tag: 'mobike', clients: 1 });
    const node = topo.clients[0];
    if (!node) throw new Error('topology has no client');
    // Deleting the primary address must promote the secondary, not flush it (testbed.md).
    await nsExec(node.ns, ['sysctl', '-qw', 'net.ipv4.conf.all.promote_secondaries=1']);
    await nsExec(node.ns, ['sysctl', '-qw', 'net.ipv4.conf.wan0.promote_secondaries=1']);
    client = await startStrongswanClient({ node, dir: join(topo.workDir, 'c1') });
    gw = await startIkegate({
      ns: topo.gw.ns,
      credDir: join(topo.workDir, 'gw'),
      dataplane: 'userspace',
      configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }] }),
    });
  }),
);

afterAll(async () => {
  await client?.stop();
  await gw?.stop();
  await stopAllTracked();
  await topo?.destroy();
});

type Json = Record<string, unknown>;
const child = (sa: Json | undefined) => ((sa?.children as Json[] | undefined) ?? [])[0] ?? {};

/** [spi-out, spi-in] of every CHILD_SA in `swanctl --list-sas --raw` output. */
function clientSpis(raw: unknown): string[][] {
  const found: string[][] = [];
  const walk = (v: unknown): void => {
    if (!v || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o['spi-in'] === 'string') {
      found.push([String(o['spi-out']), o['spi-in']]);
      return;
    }
    for (const x of Object.values(o)) walk(x);
  };
  walk(raw);
  return found;
}

/** Reception times (s, epoch) of the echo replies in `ping -D` output, by icmp_seq. */
function replies(output: string): Map<number, number> {
  const seen = new Map<number, number>();
  for (const m of output.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from [^:]+: icmp_seq=(\d+) /gm)) {
    if (!seen.has(Number(m[2]))) seen.set(Number(m[2]), Number(m[1]));
  }
  return seen;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('MOBIKE', () => {
  it('the client moves to a new address during a continuous ping; same IKE SPIs, traffic continues', async () => {
    setup.check();
    const node = topo.clients[0]!;
    await client.configure(pskClient(topo.gw.wanV4, SECRET));
    const res = await client.initiate();
    expect(res.ok, `${client.describe(res)}\n${gw.describe()}`).toBe(true);
    expect(res.log).toMatch(/IKE_AUTH response 1 \[.*N\(MOBIKE_SUP\)/);
    expect(res.sa?.childSas[0]?.encap).toBe(true); // ESP-in-UDP: the userspace dataplane carries it
    const [before] = await waitForGatewaySaCount(gw, 1);
    const spisBefore = { ike: [before!.ispi, before!.rspi], child: [child(before).spiIn, child(before).spiOut] };
    expect(String(before!.remote)).toBe(`${node.v4}:4500`);

    // Client VIP -> ESP-in-UDP -> gateway's src/esp -> TUN -> LAN host, and back, the whole time.
    const count = Math.round(PING_S / PING_INTERVAL_S);
    const started = Date.now() / 1000;
    const ping = nsExec(node.ns, ['ping', '-n', '-D', '-c', String(count), '-i', String(PING_INTERVAL_S), '-W', '2', topo.lan.v4], {
      check: false,
      timeoutMs: (PING_S + 20) * 1000,
    });
    await sleep(MOVE_AFTER_S * 1000);

    // The client re-homes: second address on, first address off.
    const movedAt = Date.now() / 1000;
    await nsExec(node.ns, ['ip', 'addr', 'add', `${MOVED_V4}/24`, 'dev', 'wan0']);
    await nsExec(node.ns, ['ip', 'addr', 'del', `${node.v4}/24`, 'dev', 'wan0']);

    await gw.waitForLog('MOBIKE update', (l) => String(l.msg).includes('MOBIKE UPDATE_SA_ADDRESSES') && String(l.msg).includes(MOVED_V4), 20_000).catch((e: Error) => {
      throw new Error(`${e.message}\n${client.describe()}\n${gw.describe()}`);
    });
    expect(client.log()).toMatch(/generating INFORMATIONAL request \d+ \[ N\(UPD_SA_ADDR\)/);
    // The gateway moved the CHILD_SA to the new client address with its SPIs unchanged.
    const [spiIn, spiOut] = spisBefore.child.map(String);
    // In place (UserspaceDataplane.migrate()): sequence numbers and anti-replay state continue.
    const moved = `${spiIn}_i ${spiOut}_o migrated to ${topo.gw.wanV4} === ${MOVED_V4}`;
    await gw.waitForLog('CHILD_SA moved', (l) => String(l.msg).includes(moved), 5000).catch((e: Error) => {
      throw new Error(`${e.message}\n${gw.describe()}`);
    });

    const r = await ping;
    const output = r.stdout + r.stderr;
    const got = replies(output);
    const m = /(\d+) packets transmitted, (\d+) received/.exec(output);
    const transmitted = Number(m?.[1] ?? 0);
    const loss = transmitted > 0 ? (100 * (transmitted - got.size)) / transmitted : 100;
    const settledAt = movedAt + 3; // the move, the update and the client's CHILD_SA rekey are over by then
    const beforeMove = [...got.values()].filter((t) => t < movedAt).length;
    const afterMove = [...got.values()].filter((t) => t > settledAt).length;
    const lost = Array.from({ length: transmitted }, (_, i) => i + 1).filter((s) => !got.has(s));
    const summary = `ping ${topo.lan.v4}: ${transmitted} sent, ${got.size} replies (${loss.toFixed(1)}% loss), ${beforeMove} before the move, ${afterMove} from ${(settledAt - started).toFixed(1)} s on (move at ${(movedAt - started).toFixed(1)} s), lost icmp_seq ${lost.join(',') || '-'}`;
    console.log(summary);
    const why = `${summary}\n${output}\n${client.describe()}\n${gw.describe()}`;
    expect(transmitted, why).toBe(count);
    // Before the move (~6 s at 5/s) the tunnel carried every request but possibly the one in flight.
    expect(beforeMove, why).toBeGreaterThanOrEqual(MOVE_AFTER_S / PING_INTERVAL_S - 2);
    // After it settled, the replies come back through the moved (and rekeyed) CHILD_SA:
    // the remaining ~11 s minus the reply timeout of the last requests.
    expect(afterMove, why).toBeGreaterThanOrEqual((PING_S - MOVE_AFTER_S - 3 - 1) / PING_INTERVAL_S);
    expect(loss, why).toBeLessThan(MAX_LOSS_PERCENT);

    // The client sits on its new address, still ESTABLISHED.
    const sas = await client.listSas();
    expect(sas, client.describe()).toHaveLength(1);
    expect(sas[0]?.localHost).toBe(MOVED_V4);
    expect(sas[0]?.state).toBe('ESTABLISHED');

    // The gateway: the same IKE_SA (same SPIs) at the new client address and one CHILD_SA whose
    // SPIs the client has too: the successor of the moved one, since charon rekeyed it right after
    // the update (kernel-libipsec: child_sa update -> NOT_SUPPORTED -> CHILD_REKEY).
    const [now] = await waitForGatewaySaCount(gw, 1);
    expect(String(now!.remote)).toBe(`${MOVED_V4}:4500`);
    expect([now!.ispi, now!.rspi]).toEqual(spisBefore.ike);
    expect((now!.children as unknown[]).length, gw.describe()).toBe(1);
    expect(clientSpis(sas[0]?.raw), gw.describe()).toContainEqual([child(now).spiIn, child(now).spiOut]);
    expect(client.log(), client.describe()).toMatch(/activating CHILD_REKEY task/);
    expect(gw.findLog((l) => /CHILD_SA .* rekeyed/.test(l.msg ?? '')), gw.describe()).toBeDefined();
    expect([child(now).spiIn, child(now).spiOut]).not.toEqual(spisBefore.child);
    expect(child(now).spiIn).not.toBe(spisBefore.child[0]);
    expect(child(now).spiOut).not.toBe(spisBefore.child[1]);
    expect(gw.findLog((l) => logLevel(l) >= 50), gw.describe()).toBeUndefined();
  });
});
