// Runs inside a private network namespace (`ip netns exec NS node xfrm-child.js SCENARIO`),
// compiled by test/native/xfrm-policy.test.ts into a temporary directory: Node cannot setns(),
// so the process that owns the netlink sockets must start in the namespace. Drives the real
// XfrmDataplane over the native NetlinkSocket and prints one JSON line of observations.
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import type { PolicySpec } from '../../src/xfrm/dataplane.js';
import type { NativeNetlink } from '../../src/xfrm/xfrm-dataplane.js';
import { XfrmDataplane } from '../../src/xfrm/xfrm-dataplane.js';

const native = createRequire(import.meta.url)(process.env.IKEGATE_ADDON ?? '') as NativeNetlink;
const ip = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
const GW = '192.0.2.1';
const CLIENT = '198.51.100.7';

function childPolicies(local: string, remote: string, reqid: number, gw = GW, client = CLIENT): PolicySpec[] {
  return (['out', 'in', 'fwd'] as const).map((direction) => ({
    selector: { local, remote, protocol: 0 },
    direction,
    reqid,
    mode: 'tunnel',
    tunnel: direction === 'out' ? { src: gw, dst: client } : { src: client, dst: gw },
    priority: 0,
  }));
}

async function policies(): Promise<unknown> {
  const dp = XfrmDataplane.open(native);
  const initialFlush = await dp.flushOwn();
  await dp.setPolicyHashThresholds({ ipv4: { lbits: 0, rbits: 32 }, ipv6: { lbits: 0, rbits: 128 } });
  const spdinfo = ip('xfrm', 'policy', 'count');
  // Someone else's policy, which flushOwn must leave alone.
  ip('xfrm', 'policy', 'add', 'src', '10.9.0.0/16', 'dst', '10.8.0.0/16', 'dir', 'out', 'priority', '1000', 'tmpl', 'src', GW, 'dst', CLIENT, 'proto', 'esp', 'reqid', '99', 'mode', 'tunnel');
  const v4 = childPolicies('0.0.0.0/0', '198.18.0.5/32', 7);
  const v6 = childPolicies('::/0', '2001:db8:ffff::5/128', 8, '2001:db8::1', '2001:db8:1::7');
  const range = childPolicies('10.1.0.0/16', '198.18.0.10-198.18.0.12', 9);
  for (const p of [...v4, ...v6, ...range]) await dp.installPolicy(p);
  const installed = ip('xfrm', 'policy', 'list');
  // A rekey of the v4 CHILD_SA (reqid 7 -> 17) takes the policies over.
  for (const p of childPolicies('0.0.0.0/0', '198.18.0.5/32', 17)) await dp.installPolicy(p);
  for (const p of v4) await dp.deletePolicy(p);
  const afterRekey = ip('xfrm', 'policy', 'list', 'dir', 'out', 'dst', '198.18.0.5/32');
  let duplicate: string | undefined;
  try {
    // The same selector by a second instance (as after a crash, before flushOwn): EEXIST.
    const other = XfrmDataplane.open(native);
    await other.installPolicy(v6[0]!).catch((e: Error) => (duplicate = e.message));
    await other.close();
  } catch (e) {
    duplicate = `open failed: ${(e as Error).message}`;
  }
  for (const p of v6) await dp.deletePolicy(p);
  const afterDelete = ip('xfrm', 'policy', 'list');
  // Crash: this instance goes away without cleaning up; the next one flushes.
  const next = XfrmDataplane.open(native);
  const flushed = await next.flushOwn();
  const afterFlush = ip('xfrm', 'policy', 'list');
  await next.close();
  // The "crashed" instance still holds its sockets open: end the process explicitly.
  exitAfterOutput = true;
  return { initialFlush, spdinfo, installed, afterRekey, duplicate, afterDelete, flushed, afterFlush };
}

async function esp(): Promise<unknown> {
  const dp = XfrmDataplane.open(native);
  const out: Record<string, unknown> = {};
  const spi = await dp.allocateSpi(GW);
  out.spi = spi;
  out.larval = ip('xfrm', 'state', 'list');
  const cbc = {
    enc: { alg: { family: 'crypt' as const, name: 'cbc(aes)' }, key: new Uint8Array(16).fill(1) },
    integ: { alg: { family: 'auth' as const, name: 'hmac(sha256)', truncBits: 128 }, key: new Uint8Array(32).fill(2) },
  };
  const base = { reqid: 7, mode: 'tunnel' as const, replayWindow: 32, esn: false, lifetime: { softSeconds: 3000, hardSeconds: 3600 } };
  await dp.installSa({ ...base, ...cbc, id: { src: CLIENT, dst: GW, spi, proto: 'esp' }, direction: 'in' }).catch((e: Error & { code?: string }) => {
    out.inbound = { message: e.message, code: e.code, name: e.name };
  });
  await dp
    .installSa({ ...base, ...cbc, id: { src: GW, dst: CLIENT, spi: 0xc0000001, proto: 'esp' }, direction: 'out', encap: { sport: 4500, dport: 4500 } })
    .catch((e: Error & { code?: string }) => {
      out.outbound = { message: e.message, code: e.code };
    });
  const gcm = { enc: { alg: { family: 'aead' as const, name: 'rfc4106(gcm(aes))', icvBits: 128 }, key: new Uint8Array(20) } };
  await dp.installSa({ ...base, ...gcm, id: { src: GW, dst: CLIENT, spi: 0xc0000002, proto: 'esp' }, direction: 'out' }).catch((e: Error & { code?: string }) => {
    out.gcm = { message: e.message, code: e.code };
  });
  out.statesAfter = ip('xfrm', 'state', 'list');
  await dp.close();
  return out;
}

async function routeAndAcquire(): Promise<unknown> {
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'ikg0', 'type', 'veth', 'peer', 'name', 'ikg1');
  ip('link', 'set', 'ikg0', 'up');
  ip('link', 'set', 'ikg1', 'up');
  ip('addr', 'add', `${GW}/24`, 'dev', 'ikg0');
  const ifindex = Number(ip('-o', 'link', 'show', 'ikg0').split(':')[0]);
  const dp = XfrmDataplane.open(native, { routeVia: { oif: ifindex } });
  const events: unknown[] = [];
  dp.onEvent((e) => events.push(e));
  await dp.installRoute({ destination: '198.18.0.5/32', table: 220 });
  const table = ip('route', 'show', 'table', 'all', 'proto', '167');
  // Packets towards the VIP hit the out policy without SAs: the kernel asks for them (ACQUIRE).
  ip('route', 'add', '198.18.0.5/32', 'dev', 'ikg0');
  for (const p of childPolicies('0.0.0.0/0', '198.18.0.5/32', 42)) await dp.installPolicy(p);
  const { createSocket } = await import('node:dgram');
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.send('x', 9, '198.18.0.5', () => resolve()));
  s.close();
  await new Promise((r) => setTimeout(r, 300));
  await dp.deleteRoute({ destination: '198.18.0.5/32', table: 220 });
  const tableAfter = ip('route', 'show', 'table', 'all', 'proto', '167');
  await dp.close();
  return { ifindex, table, tableAfter, events, policiesAfterClose: ip('xfrm', 'policy', 'list') };
}

/**
 * Virtual-IP routes the way the engine asks for them (table 0 = the dataplane's, via the peer):
 * the next hop comes from the kernel's path to the peer, the rule "priority 220 lookup 220"
 * appears once per family and goes on close; a crash leaves both to flushOwn; someone else's
 * identical rule is used and left alone.
 */
async function vipRoutes(): Promise<unknown> {
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'ikg0', 'type', 'veth', 'peer', 'name', 'ikg1');
  ip('link', 'set', 'ikg0', 'up');
  ip('link', 'set', 'ikg1', 'up');
  ip('addr', 'add', `${GW}/24`, 'dev', 'ikg0');
  // No default route: the peer is reached through an uplink router, the LAN-side pools through nothing.
  ip('route', 'add', '198.51.100.0/24', 'via', '192.0.2.254', 'dev', 'ikg0');
  const show = () => ({
    v4: ip('route', 'show', 'table', '220'),
    v6: ip('-6', 'route', 'show', 'table', '220'),
    rules: ip('rule', 'show'),
    rules6: ip('-6', 'rule', 'show'),
  });
  let unrouted = '';
  try {
    ip('route', 'get', '198.18.0.5');
  } catch (e) {
    unrouted = String((e as { stderr?: unknown }).stderr ?? e).trim();
  }
  const dp = XfrmDataplane.open(native);
  const vip4 = { destination: '198.18.0.5/32', table: 0, via: { peer: CLIENT } };
  const vip6 = { destination: '2001:db8:ffff::5/128', table: 0, via: { peer: CLIENT } };
  await dp.installRoute(vip4);
  await dp.installRoute(vip6);
  await dp.installRoute(vip4); // a second CHILD_SA with the same virtual IP
  const installed = show();
  const get = ip('route', 'get', '198.18.0.5');
  await dp.deleteRoute(vip4);
  const afterOneDelete = ip('route', 'show', 'table', '220');
  await dp.close();
  const afterClose = show();

  // A crash: routes and rules stay behind until the next instance's flushOwn.
  const crashed = XfrmDataplane.open(native);
  await crashed.installRoute(vip4);
  await crashed.installRoute(vip6);
  const next = XfrmDataplane.open(native);
  const flushed = await next.flushOwn();
  const afterFlush = show();
  await next.close();

  // Someone else's "priority 220 lookup 220": used as it is, never doubled, never removed.
  ip('rule', 'add', 'priority', '220', 'lookup', '220');
  const polite = XfrmDataplane.open(native);
  await polite.installRoute(vip4);
  const withForeign = show();
  await polite.close();
  const foreignAfterClose = show();
  exitAfterOutput = true;
  return { unrouted, installed, get, afterOneDelete, afterClose, flushed, afterFlush, withForeign, foreignAfterClose };
}

let exitAfterOutput = false;
const scenarios: Record<string, () => Promise<unknown>> = { policies, esp, routeAndAcquire, vipRoutes };
const run = scenarios[process.argv[2] ?? ''];
if (!run) throw new Error(`unknown scenario ${process.argv[2]}`);
run().then(
  (r) => process.stdout.write(`${JSON.stringify(r)}\n`, () => exitAfterOutput && process.exit(0)),
  (e: unknown) => {
    process.stdout.write(`${JSON.stringify({ error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) })}\n`);
  },
);
