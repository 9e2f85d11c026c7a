// Kernel ESP through ikegate's XFRM dataplane (src/xfrm/xfrm-dataplane.ts), proven in a QEMU
// guest: this host's kernel has XFRM netlink but no ESP, Debian's cloud kernel has both.
//
// ONE guest boot (test/vm/vm-run.sh) runs test/vm/kernel-esp-guest.sh, which builds the
// harness's topology inside the guest (gateway + LAN host, a direct client, a client behind an
// nftables masquerading NAT), starts ikegate with `dataplane = xfrm` in the gateway namespace
// and strongSwan clients with kernel-netlink (the guest kernel does their ESP too; no
// libipsec), pings the LAN host over IPv4 and IPv6 through each tunnel, and finally stops
// ikegate with SIGTERM. The guest only records (OUT/<step>.txt, OUT/results.json in a
// read-write share); everything is asserted here, on the host.
//
// This file writes the configurations with the harness's own helpers: the gateway's is
// gatewayConfig() + composeIkegateConfig(), the clients' renderClientConf(pskClient()).
// PSK and x25519 only: under TCG (no usable KVM here) node and crypto run 50-100x slower.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeIkegateConfig } from './harness/gateway.js';
import type { LogLine } from './harness/gateway.js';
import { GW_WAN_V4, GW_WAN_V6, LAN_HOST_V4, LAN_HOST_V6, NAT_OUTSIDE_V4, parseNatCounters } from './harness/netns.js';
import type { NatCounters } from './harness/netns.js';
import { tail } from './harness/proc.js';
import { requireTools } from './harness/requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, isInPool4, isInPool6, pskClient, randomSecret } from './harness/scenario.js';
import { renderClientConf } from './harness/strongswan-client.js';
import { parseListSasRaw } from './harness/swanctl-format.js';
import { requireVm, runInVm, VM_DIR } from '../vm/vm.js';
import type { VmRun } from '../vm/vm.js';
import { parseXfrmPolicies, parseXfrmStates, splitXfrmView } from '../vm/xfrm-text.js';
import type { XfrmPolicyText, XfrmStateText } from '../vm/xfrm-text.js';
import { XFRM_DATAPLANE_DEFAULTS, POLICY_PRIORITY_SPAN } from '../../src/xfrm/xfrm-dataplane.js';

const GUEST_SCRIPT = join(VM_DIR, 'kernel-esp-guest.sh');
/** The guest script's RAM directory (R in kernel-esp-guest.sh): ikegate's state and socket. */
const GUEST_RUN = '/tmp/kesp';
const PINGS = 10;
const MAX_LOSS_PERCENT = 5;
/** Guest time limit; the whole scenario takes about 2 minutes on this 2-core host. */
const VM_TIMEOUT_S = 420;
/** The direct client's outer address (c1 in kernel-esp-guest.sh, as the harness's first client). */
const DIRECT_CLIENT_V4 = '192.0.2.11';

const SECRET = randomSecret();
const OUT = `/tmp/ikg-kesp-${process.pid}`;
const setup = new FileSetup();
let vm: VmRun;

interface GuestResults {
  kernel: string;
  timings: Record<string, number>;
  steps: Array<{ name: string; rc: number; ms: number }>;
}
let results: GuestResults = { kernel: '', timings: {}, steps: [] };

beforeAll(
  () =>
    setup.run(async () => {
      requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare', 'ping']);
      requireVm();
      rmSync(OUT, { recursive: true, force: true });
      mkdirSync(OUT, { recursive: true, mode: 0o700 });
      writeFileSync(
        join(OUT, 'ikegate.conf'),
        composeIkegateConfig(
          {
            ns: 'kesp-gw',
            credDir: OUT,
            listen: [GW_WAN_V4, GW_WAN_V6],
            dataplane: 'xfrm',
            logLevel: 'debug',
            configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret: SECRET }] }),
          },
          join(GUEST_RUN, 'state'),
          join(GUEST_RUN, 'ikegate.sock'),
        ),
      );
      writeFileSync(join(OUT, 'client.conf'), renderClientConf(pskClient(GW_WAN_V4, SECRET, { proposals: ['aes256gcm16-prfsha256-x25519'] })));
      // The gateway namespace has no default route: replies to the virtual IPs depend on the
      // routes ikegate installs in table 220. KESP_GW_DEFAULT_ROUTE=1 (debugging aid) adds one.
      const env: Record<string, string> = { KESP_PINGS: String(PINGS) };
      if (process.env.KESP_GW_DEFAULT_ROUTE !== undefined) env.KESP_GW_DEFAULT_ROUTE = process.env.KESP_GW_DEFAULT_ROUTE;
      vm = await runInVm(['bash', GUEST_SCRIPT, OUT], { shared: [OUT], timeoutS: VM_TIMEOUT_S, env });
      if (!existsSync(join(OUT, 'results.json'))) {
        throw new Error(`the guest wrote no results.json (vm-run.sh exit ${String(vm.code)})\n--- vm-run stderr ---\n${tail(vm.stderr, 8000)}\n--- guest stdout ---\n${tail(vm.stdout, 4000)}`);
      }
      results = JSON.parse(readFileSync(join(OUT, 'results.json'), 'utf8')) as GuestResults;
      const t = results.timings;
      console.log(
        `kernel-esp: VM boot ${String(vm.bootS)} s, guest command ${String(vm.commandS)} s, whole VM run ${(vm.durationMs / 1000).toFixed(1)} s; ` +
          `in the guest: topology ${t.topologyMs} ms, ikegate start ${t.ikegateStartMs} ms, direct ${t.directMs} ms, NAT ${t.natMs} ms, stop ${t.stopMs} ms`,
      );
    }),
  (VM_TIMEOUT_S + 90) * 1000,
);

afterAll(() => {
  if (process.env.IKEGATE_INTEROP_KEEP !== '1') rmSync(OUT, { recursive: true, force: true });
});

// ------------------------------------------------------------------------------ guest output

function file(name: string): string {
  try {
    return readFileSync(join(OUT, name), 'utf8');
  } catch {
    return '';
  }
}
const stepOut = (name: string): string => file(`${name}.txt`);

function ikegateLog(): LogLine[] {
  return file('ikegate.log')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      try {
        return JSON.parse(l) as LogLine;
      } catch {
        return { msg: l, unparsed: true };
      }
    });
}

/** Everything useful for a failure message: the steps, the daemon's log, the named step outputs. */
function guest(...steps: string[]): string {
  const parts = [
    `--- guest steps (vm-run exit ${String(vm?.code)}) ---\n${tail(vm?.stdout ?? '', 3000)}`,
    ...steps.map((s) => `--- ${s} ---\n${tail(stepOut(s), 4000)}`),
    `--- ikegate.log ---\n${tail(file('ikegate.log'), 8000)}`,
  ];
  if (vm && vm.code !== 0) parts.push(`--- vm-run stderr ---\n${tail(vm.stderr, 4000)}`);
  return parts.join('\n');
}
function clientLog(name: string): string {
  return `--- ${name}/charon.log ---\n${tail(file(`${name}/charon.log`), 6000)}\n--- ${name}/charon.out ---\n${tail(file(`${name}/charon.out`), 1000)}`;
}

function expectStep(name: string, ...context: string[]): void {
  const s = results.steps.find((x) => x.name === name);
  expect(s, `guest step ${name} did not run\n${guest(...context)}`).toBeDefined();
  expect(s?.rc, `guest step ${name} failed\n${guest(name, ...context)}`).toBe(0);
}

function lossPercent(pingOutput: string): number[] {
  return [...pingOutput.matchAll(/([\d.]+)% packet loss/g)].map((m) => Number(m[1]));
}

// ------------------------------------------------------------------------------ kernel state

const OWNER = XFRM_DATAPLANE_DEFAULTS.ownerTag;
const BAND_LOW = XFRM_DATAPLANE_DEFAULTS.policyPriorityBase;
const BAND_HIGH = BAND_LOW + POLICY_PRIORITY_SPAN;
const ours = (p: XfrmPolicyText): boolean => p.priority >= BAND_LOW && p.priority < BAND_HIGH;

interface ChildSummary {
  name: string;
  reqid: number;
  spiIn: string;
  spiOut: string;
  proposal: string;
  encap: boolean;
  remoteTs: string[];
}
interface SaSummary {
  state: string;
  local: string;
  remote: string;
  natRemote: boolean;
  vips: string[];
  children: ChildSummary[];
}

function listSas(step: string): SaSummary[] {
  const text = stepOut(step);
  try {
    return JSON.parse(text) as SaSummary[];
  } catch (e) {
    throw new Error(`${step}: list-sas --json printed no JSON (${(e as Error).message})\n${guest(step)}`);
  }
}

/**
 * The gateway's kernel view of one CHILD_SA while its client pinged: both ESP states (owner
 * mark, negotiated algorithm, traffic in both directions) and the out/in/fwd policies of both
 * virtual IPs in ikegate's priority band with the CHILD_SA's reqid.
 */
function checkGatewayKernel(label: string, child: ChildSummary, peer: string, encap: boolean): { inbound: XfrmStateText; outbound: XfrmStateText } {
  const ctx = [`${label}-gw-xfrm-state`, `${label}-gw-xfrm-policy`, `${label}-list-sas`];
  const states = parseXfrmStates(stepOut(`${label}-gw-xfrm-state`)).filter((s) => s.proto === 'esp');
  const inbound = states.find((s) => s.spi === parseInt(child.spiIn, 16));
  const outbound = states.find((s) => s.spi === parseInt(child.spiOut, 16));
  if (!inbound || !outbound) throw new Error(`no XFRM state for SPI ${child.spiIn} (in) or ${child.spiOut} (out)\n${guest(...ctx)}`);
  expect(inbound.src, guest(...ctx)).toBe(peer);
  expect(inbound.dst).toBe(GW_WAN_V4);
  expect(outbound.src).toBe(GW_WAN_V4);
  expect(outbound.dst, guest(...ctx)).toBe(peer);
  for (const s of [inbound, outbound]) {
    const why = `${label}: state ${s.spi.toString(16)}\n${s.text}`;
    expect(s.mode, why).toBe('tunnel');
    expect(s.reqid, why).toBe(child.reqid);
    // aes256gcm16 -> rfc4106(gcm(aes)) with a 256-bit key + 32-bit salt and a 128-bit ICV
    expect(s.aead, why).toEqual({ name: 'rfc4106(gcm(aes))', icvBits: 128 });
    expect(s.text, why).toMatch(/\(288 bits\)/);
    expect(s.outputMark, why).toEqual({ value: OWNER, mask: 0 });
    // both directions carried the IPv4 and IPv6 echo requests and replies
    expect(s.packets ?? 0, why).toBeGreaterThanOrEqual(2 * PINGS);
    expect(s.bytes ?? 0, why).toBeGreaterThan(0);
    if (encap) expect(s.encap, why).toMatchObject({ type: 'espinudp' });
    else expect(s.encap, why).toBeUndefined();
  }

  const policies = parseXfrmPolicies(stepOut(`${label}-gw-xfrm-policy`)).filter(ours);
  const vips = child.remoteTs;
  expect(vips.some((v) => isInPool4(v.replace(/\/32$/, ''))), JSON.stringify(child)).toBe(true);
  expect(vips.some((v) => isInPool6(v.replace(/\/128$/, ''))), JSON.stringify(child)).toBe(true);
  for (const vip of vips) {
    const any = vip.includes(':') ? '::/0' : '0.0.0.0/0';
    for (const [dir, src, dst] of [['out', any, vip], ['in', vip, any], ['fwd', vip, any]] as const) {
      const p = policies.find((x) => x.dir === dir && x.src === src && x.dst === dst);
      expect(p, `${label}: no ${dir} policy ${src} -> ${dst} in ikegate's band [${BAND_LOW}, ${BAND_HIGH})\n${guest(`${label}-gw-xfrm-policy`)}`).toBeDefined();
      expect(p?.tmpl, p?.text).toEqual({
        src: dir === 'out' ? GW_WAN_V4 : peer,
        dst: dir === 'out' ? peer : GW_WAN_V4,
        proto: 'esp',
        reqid: child.reqid,
        mode: 'tunnel',
      });
    }
  }
  expect(policies, `${label}: exactly the 6 policies of the CHILD_SA\n${guest(`${label}-gw-xfrm-policy`)}`).toHaveLength(6);

  // One route per virtual IP in table 220, along the path to the peer (on-link on wan0 here:
  // interface only; the IPv4 one with the gateway's source on it), and the lookup rule per family.
  expectStep(`${label}-gw-routing`);
  const routing = splitRouting(stepOut(`${label}-gw-routing`));
  const why = guest(`${label}-gw-routing`);
  const vip4 = vips.find((v) => !v.includes(':'))!.replace(/\/32$/, '');
  const vip6 = vips.find((v) => v.includes(':'))!.replace(/\/128$/, '');
  expect(routing.v4.trim(), why).toBe(`${vip4} dev wan0 proto ${XFRM_DATAPLANE_DEFAULTS.routeProtocol} scope link src ${GW_WAN_V4}`);
  expect(routing.v6.trim(), why).toMatch(new RegExp(`^${vip6.replace(/\./g, '\\.')} dev wan0 proto ${XFRM_DATAPLANE_DEFAULTS.routeProtocol} metric \\d+ pref medium$`));
  for (const rules of [routing.rules, routing.rules6]) {
    expect(rules.match(/lookup 220/g), why).toEqual(['lookup 220']);
    expect(rules, why).toMatch(new RegExp(`^220:\\tfrom all lookup 220 proto ${XFRM_DATAPLANE_DEFAULTS.routeProtocol}$`, 'm'));
  }
  return { inbound, outbound };
}

/** The gw_routing step: table 220 (IPv4, IPv6) and the rules of both families. */
function splitRouting(text: string): { v4: string; v6: string; rules: string; rules6: string } {
  const [v4 = '', rest1 = ''] = text.split('=== ipv6\n');
  const [v6 = '', rest2 = ''] = rest1.split('=== rules\n');
  const [rules = '', rules6 = ''] = rest2.split('=== rules6\n');
  return { v4, v6, rules, rules6 };
}

function childDeletedLine(reqid: number): LogLine | undefined {
  return ikegateLog().find((l) => typeof l.msg === 'string' && l.msg.startsWith(`CHILD_SA net{${reqid}} `) && l.msg.includes(' deleted: '));
}

// ------------------------------------------------------------------------------ the tests

describe('kernel ESP through the XFRM dataplane (QEMU guest, dataplane = xfrm)', () => {
  it('boots the guest, whose kernel has ESP, and runs the whole scenario in it', () => {
    setup.check();
    expect(vm.code, guest()).toBe(0);
    expect(results.kernel).toMatch(/cloud-amd64$/);
    expectStep('esp-sanity');
    expectStep('topology');
    expectStep('clients-up', 'c1/charon.out', 'cn/charon.out');
  });

  it('ikegate starts on the kernel XFRM dataplane with UDP_ENCAP on its port-4500 sockets', () => {
    setup.check();
    expectStep('ikegate-ready');
    const log = ikegateLog();
    expect(log.some((l) => l.msg === 'kernel XFRM dataplane'), guest()).toBe(true);
    const ready = log.find((l) => l.msg === 'ikegate ready');
    expect(ready?.dataplane, guest()).toBe('xfrm');
    // prepareIkeSocket: IPsec bypass on every IKE socket, ESP-in-UDP decapsulation on 4500
    for (const family of [4, 6]) {
      for (const port of [500, 4500]) {
        expect(log.some((l) => l.msg === 'IKE socket prepared' && l.family === family && l.port === port), `IPv${family} port ${port}\n${guest()}`).toBe(true);
      }
    }
    // Nothing went wrong in the daemon during the whole run (no warn/error/fatal lines).
    const bad = log.filter((l) => (typeof l.level === 'string' ? ['warn', 'error', 'fatal'].includes(l.level) : (l.level ?? 0) >= 40));
    expect(bad.map((l) => JSON.stringify(l)), guest()).toEqual([]);
    // Before any client: no ESP state (the ESP probe's state is gone) and no policy of ours.
    const initial = splitXfrmView(stepOut('gw-xfrm-initial'));
    expect(parseXfrmStates(initial.states), stepOut('gw-xfrm-initial')).toEqual([]);
    expect(parseXfrmPolicies(initial.policies).filter(ours), stepOut('gw-xfrm-initial')).toEqual([]);
  });

  it('a directly attached strongSwan client (kernel-netlink) pings the LAN host over IPv4 and IPv6 through kernel ESP', () => {
    setup.check();
    expectStep('client-load-c1', 'c1/charon.out');
    expectStep('direct-initiate', 'direct-initiate');
    // the client's ESP is the guest kernel's too: kernel-netlink, and no libipsec loaded
    const c1log = file('c1/charon.log');
    expect(c1log, clientLog('c1')).toMatch(/loaded plugins: .*kernel-netlink/);
    expect(c1log).not.toMatch(/kernel-libipsec/);

    const ping = stepOut('direct-ping');
    expect(ping, `direct-ping\n${guest('direct-ping')}\n${clientLog('c1')}`).toContain(`PING ${LAN_HOST_V4} `);
    expect(ping).toContain(`PING ${LAN_HOST_V6}`);
    const loss = lossPercent(ping);
    expect(loss, `${ping}\n${guest('direct-gw-xfrm-state')}`).toHaveLength(2);
    for (const l of loss) expect(l, `${ping}\n${guest('direct-gw-xfrm-state')}`).toBeLessThan(MAX_LOSS_PERCENT);

    // ikegate list-sas --json: the IKE_SA and its CHILD_SA
    expectStep('direct-list-sas');
    const sas = listSas('direct-list-sas');
    expect(sas, stepOut('direct-list-sas')).toHaveLength(1);
    const sa = sas[0] as SaSummary;
    expect(sa.state).toBe('ESTABLISHED');
    // (strongSwan moves to 4500 after IKE_SA_INIT because both ends support MOBIKE)
    expect([`${DIRECT_CLIENT_V4}:500`, `${DIRECT_CLIENT_V4}:4500`]).toContain(sa.remote);
    expect(sa.natRemote).toBe(false);
    expect(sa.vips.filter(isInPool4)).toHaveLength(1);
    expect(sa.vips.filter(isInPool6)).toHaveLength(1);
    expect(sa.children).toHaveLength(1);
    const child = sa.children[0] as ChildSummary;
    expect(child.name).toBe('net');
    expect(child.proposal).toMatch(/^ESP:AES_GCM_16_256/);
    expect(child.encap).toBe(false);

    checkGatewayKernel('direct', child, DIRECT_CLIENT_V4, false);

    // the client's view: established, the same SPIs, its own kernel counted the traffic
    const csa = parseListSasRaw(stepOut('direct-client-sas')).find((s) => s.name === 'gw');
    expect(csa?.state, stepOut('direct-client-sas')).toBe('ESTABLISHED');
    expect(csa?.childSas[0]?.encap).toBe(false);
    const clientStates = parseXfrmStates(splitXfrmView(stepOut('direct-client-xfrm')).states).filter((s) => s.proto === 'esp');
    expect(clientStates.map((s) => s.spi).sort(), stepOut('direct-client-xfrm')).toEqual([parseInt(child.spiIn, 16), parseInt(child.spiOut, 16)].sort());
    for (const s of clientStates) expect(s.packets ?? 0, s.text).toBeGreaterThanOrEqual(2 * PINGS);
  });

  it('a client-initiated DELETE removes the CHILD_SA from the kernel, with its byte counters logged (XFRM_MSG_GETSA)', () => {
    setup.check();
    expectStep('direct-terminate', 'direct-terminate');
    const text = stepOut('direct-gw-xfrm-after-delete');
    const after = splitXfrmView(text);
    expect(parseXfrmStates(after.states), text).toEqual([]);
    expect(parseXfrmPolicies(after.policies).filter(ours), text).toEqual([]);
    // Its virtual IPs' routes went with it; the rules stay for the next client.
    expectStep('direct-gw-routing-after-delete');
    const routing = splitRouting(stepOut('direct-gw-routing-after-delete'));
    expect(routing.v4 + routing.v6, stepOut('direct-gw-routing-after-delete')).toBe('');
    expect(routing.rules, stepOut('direct-gw-routing-after-delete')).toMatch(/^220:\tfrom all lookup 220 proto/m);
    const child = listSas('direct-list-sas')[0]?.children[0];
    if (!child) throw new Error('no CHILD_SA in direct-list-sas');
    const states = parseXfrmStates(stepOut('direct-gw-xfrm-state'));
    const kernelIn = states.find((s) => s.spi === parseInt(child.spiIn, 16))?.bytes ?? 0;
    const kernelOut = states.find((s) => s.spi === parseInt(child.spiOut, 16))?.bytes ?? 0;
    // removeChild() reads the counters through querySa() before deleting the states
    const line = childDeletedLine(child.reqid);
    expect(line, guest()).toBeDefined();
    expect(line?.msg).toMatch(/deleted by peer/);
    expect(line?.bytesIn, JSON.stringify(line)).toBeGreaterThanOrEqual(kernelIn);
    expect(line?.bytesOut, JSON.stringify(line)).toBeGreaterThanOrEqual(kernelOut);
    expect(kernelIn).toBeGreaterThan(0);
  });

  it('a client behind the masquerading NAT gets ESP in UDP 4500 from the kernel, and pings through it', () => {
    setup.check();
    expectStep('client-load-cn', 'cn/charon.out');
    expectStep('nat-initiate', 'nat-initiate');
    expect(file('cn/charon.log'), clientLog('cn')).toMatch(/local host is behind NAT/);

    const ping = stepOut('nat-ping');
    const loss = lossPercent(ping);
    expect(loss, `${ping}\n${guest('nat-gw-xfrm-state')}\n${clientLog('cn')}`).toHaveLength(2);
    for (const l of loss) expect(l, `${ping}\n${guest('nat-gw-xfrm-state')}`).toBeLessThan(MAX_LOSS_PERCENT);

    const sas = listSas('nat-list-sas');
    expect(sas, stepOut('nat-list-sas')).toHaveLength(1);
    const sa = sas[0] as SaSummary;
    expect(sa.state).toBe('ESTABLISHED');
    expect(sa.remote).toMatch(new RegExp(`^${NAT_OUTSIDE_V4.replace(/\./g, '\\.')}:\\d+$`));
    expect(sa.local).toBe(`${GW_WAN_V4}:4500`);
    expect(sa.natRemote).toBe(true);
    const child = sa.children[0] as ChildSummary;
    expect(child.encap).toBe(true);

    const { inbound, outbound } = checkGatewayKernel('nat', child, NAT_OUTSIDE_V4, true);
    const natPort = Number(sa.remote.split(':').pop());
    expect(outbound.encap).toEqual({ type: 'espinudp', sport: 4500, dport: natPort });
    expect(inbound.encap).toEqual({ type: 'espinudp', sport: natPort, dport: 4500 });

    // the client's kernel encapsulates too
    const clientStates = parseXfrmStates(splitXfrmView(stepOut('nat-client-xfrm')).states).filter((s) => s.proto === 'esp');
    expect(clientStates, stepOut('nat-client-xfrm')).toHaveLength(2);
    for (const s of clientStates) expect(s.encap?.type, s.text).toBe('espinudp');

    // the NAT router forwarded UDP 4500 only: no raw ESP crossed it
    expectStep('nat-counters-before');
    expectStep('nat-counters-after');
    const before: NatCounters = parseNatCounters(stepOut('nat-counters-before'));
    const after: NatCounters = parseNatCounters(stepOut('nat-counters-after'));
    expect(after.esp, stepOut('nat-counters-after')).toBe(0);
    expect(after.ike500 - before.ike500).toBeGreaterThanOrEqual(1);
    // IKE_AUTH plus the IPv4 and IPv6 echo requests and replies
    expect(after.ike4500 - before.ike4500, stepOut('nat-counters-after')).toBeGreaterThanOrEqual(4 * PINGS);
  });

  it('SIGTERM: ikegate deletes the SA at the client, exits 0 and leaves nothing in the kernel', () => {
    setup.check();
    expectStep('ikegate-stop', 'ikegate-stop');
    expect(stepOut('ikegate-stop')).toMatch(/exit status 0/);
    // The NAT client's CHILD_SA was up: it went with its counters, and the client heard of it.
    const child = listSas('nat-list-sas')[0]?.children[0];
    if (!child) throw new Error('no CHILD_SA in nat-list-sas');
    const line = childDeletedLine(child.reqid);
    expect(line?.msg, guest()).toMatch(/received SIGTERM/);
    expect(line?.bytesIn).toBeGreaterThan(0);
    expect(line?.bytesOut).toBeGreaterThan(0);
    expect(parseListSasRaw(stepOut('after-stop-client-sas')), `${stepOut('after-stop-client-sas')}\n${clientLog('cn')}`).toEqual([]);

    // Nothing at all is left: no state, no policy (ours had the band and the owner mark; the
    // per-socket bypass policies went with the sockets), no route of protocol 0xa7.
    expectStep('after-stop-xfrm-state');
    expectStep('after-stop-xfrm-policy');
    expect(stepOut('after-stop-xfrm-state').trim(), guest('after-stop-xfrm-state')).toBe('');
    expect(stepOut('after-stop-xfrm-policy').trim(), guest('after-stop-xfrm-policy')).toBe('');
    const routes = stepOut('after-stop-routes');
    expect(routes, routes).not.toMatch(new RegExp(`proto (0xa7|${XFRM_DATAPLANE_DEFAULTS.routeProtocol})\\b`));
    // and no "lookup 220" rule of ours in either family
    expectStep('after-stop-rules');
    const rules = splitRouting(stepOut('after-stop-rules'));
    expect(rules.rules + rules.rules6, stepOut('after-stop-rules')).not.toMatch(/lookup 220/);
  });
});
