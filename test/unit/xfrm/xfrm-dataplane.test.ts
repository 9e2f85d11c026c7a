// XfrmDataplane against a scripted netlink channel: the messages a full CHILD_SA sends
// (ALLOCSPI, UPDSA inbound, NEWSA outbound, out/in/fwd policies) byte for byte, for AES-GCM and
// AES-CBC + HMAC-SHA-256, with and without ESP-in-UDP; errors the daemon logs; flushOwn;
// kernel events; rekeyed policies; routes; migration.
import { describe, expect, it } from 'vitest';
import type { PolicySpec, SaSpec } from '../../../src/xfrm/dataplane.js';
import { u32Attr } from '../../../src/xfrm/netlink/message.js';
import { RtmType } from '../../../src/xfrm/netlink/route.js';
import { encodeRtMsg } from '../../../src/xfrm/netlink/route.js';
import { NetlinkError } from '../../../src/xfrm/netlink/socket.js';
import { XfrmAttr, XfrmMsg, xfrmMsgName } from '../../../src/xfrm/netlink/xfrm-constants.js';
import { anySelector, encodeUserpolicyInfo, encodeUsersaInfo, encodeUserTmpls, readUsersaInfo, SIZEOF } from '../../../src/xfrm/netlink/xfrm-structs.js';
import { expandSelector, toXfrmSelector } from '../../../src/xfrm/selectors.js';
import { POLICY_PRIORITY_SPAN, XFRM_DATAPLANE_DEFAULTS, XfrmDataplane, XfrmDataplaneError } from '../../../src/xfrm/xfrm-dataplane.js';
import type { Recorded } from './helpers.js';
import { FakeChannel, hex, kernelMessage, unhex } from './helpers.js';
import { IP_NEWPOLICY } from './fixtures.js';

const GW = '192.0.2.1';
const CLIENT = '198.51.100.7';
const VIP = '198.18.0.5/32';
const KERNEL_SPI = 0xc1234567;
const BASE = XFRM_DATAPLANE_DEFAULTS.policyPriorityBase;
/** XFRMA_SET_MARK = "ikeg", XFRMA_SET_MARK_MASK = 0: the ownership tag on every state. */
const OWNER_ATTRS = '08001d0067656b69' + '08001e0000000000';

// ip xfrm state add src 192.0.2.1 dst 198.51.100.7 proto esp spi 0xc0000001 reqid 7 mode tunnel \
//   aead 'rfc4106(gcm(aes))' 0x0102030405060708091011121314151617181920 128
// (iproute2 leaves flags 0; ours sets XFRM_STATE_AF_UNSPEC = 0x20 at offset 216, as strongSwan)
const IP_NEWSA_GCM =
  '00'.repeat(56) + // sel: any
  'c6336407000000000000000000000000' + 'c0000001' + '32000000' + // id
  'c0000201000000000000000000000000' + // saddr
  'ff'.repeat(32) + '00'.repeat(32) + // lft: bytes/packets XFRM_INF, seconds 0
  '00'.repeat(32) + '00'.repeat(12) + '00000000' + // curlft, stats, seq
  '07000000' + '0200' + '01' + '00' + 'XX' + '00'.repeat(7) + // reqid 7, AF_INET, tunnel, replay 0, flags, pad
  '60001200' + '726663343130362867636d28616573292900' + '00'.repeat(46) + 'a0000000' + '80000000' + '0102030405060708091011121314151617181920';

// ip xfrm state add src 192.0.2.1 dst 198.51.100.7 proto esp spi 0xc0000002 reqid 7 mode tunnel \
//   replay-window 32 flag af-unspec enc 'cbc(aes)' 0x000102…0f auth-trunc 'hmac(sha256)' 0x000102…1f 128 \
//   encap espinudp 4500 4501 0.0.0.0
const IP_NEWSA_CBC_ENCAP =
  '00'.repeat(56) +
  'c6336407000000000000000000000000' + 'c0000002' + '32000000' +
  'c0000201000000000000000000000000' +
  'ff'.repeat(32) + '00'.repeat(32) +
  '00'.repeat(32) + '00'.repeat(12) + '00000000' +
  '07000000' + '0200' + '01' + '20' + '20' + '00'.repeat(7) +
  '58000200' + '636263286165732900' + '00'.repeat(55) + '80000000' + '000102030405060708090a0b0c0d0e0f' +
  '6c001400' + '686d616328736861323536290000' + '00'.repeat(50) + '00010000' + '80000000' + '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f' +
  '1c000400' + '0200' + '1194' + '1195' + '0000' + '00'.repeat(16);

const GCM = { enc: { alg: { family: 'aead' as const, name: 'rfc4106(gcm(aes))', icvBits: 128 }, key: unhex('0102030405060708091011121314151617181920') } };
const CBC = {
  enc: { alg: { family: 'crypt' as const, name: 'cbc(aes)' }, key: unhex('000102030405060708090a0b0c0d0e0f') },
  integ: { alg: { family: 'auth' as const, name: 'hmac(sha256)', truncBits: 128 }, key: unhex('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f') },
};

function sa(direction: 'in' | 'out', spi: number, cipher: typeof GCM | typeof CBC, extra: Partial<SaSpec> = {}): SaSpec {
  const [src, dst] = direction === 'in' ? [CLIENT, GW] : [GW, CLIENT];
  return { id: { src, dst, spi, proto: 'esp' }, reqid: 7, mode: 'tunnel', direction, ...cipher, replayWindow: 0, esn: false, lifetime: {}, ...extra };
}

function policies(reqid = 7): PolicySpec[] {
  const selector = { local: '0.0.0.0/0', remote: VIP, protocol: 0 };
  return (['out', 'in', 'fwd'] as const).map((direction) => ({
    selector,
    direction,
    reqid,
    mode: 'tunnel' as const,
    tunnel: direction === 'out' ? { src: GW, dst: CLIENT } : { src: CLIENT, dst: GW },
    priority: 0,
  }));
}

/** The kernel side: ALLOCSPI answers with a larval SA holding KERNEL_SPI; everything else ACKs. */
function kernel(overrides: (r: Recorded) => ReturnType<FakeChannel['answer']> | undefined = () => undefined) {
  return new FakeChannel((r) => {
    const o = overrides(r);
    if (o) return o;
    if (r.type === XfrmMsg.XFRM_MSG_ALLOCSPI) {
      const info = readUsersaInfo(r.body);
      return [kernelMessage(XfrmMsg.XFRM_MSG_NEWSA, encodeUsersaInfo({ ...info, id: { ...info.id, spi: KERNEL_SPI } }))];
    }
    return [];
  });
}

const names = (ch: FakeChannel) => ch.sent.map((r) => (r.kind === 'dump' ? `dump ${xfrmMsgName(r.type)}` : xfrmMsgName(r.type)));

async function installChild(dp: XfrmDataplane, cipher: typeof GCM | typeof CBC, encap?: { sport: number; dport: number }) {
  const spiIn = await dp.allocateSpi(GW);
  await dp.installSa(sa('in', spiIn, cipher, encap ? { encap: { sport: encap.dport, dport: encap.sport } } : {}));
  await dp.installSa(sa('out', cipher === GCM ? 0xc0000001 : 0xc0000002, cipher, { replayWindow: cipher === GCM ? 0 : 32, ...(encap ? { encap } : {}) }));
  for (const p of policies()) await dp.installPolicy(p);
  return spiIn;
}

describe('XfrmDataplane: a full CHILD_SA', () => {
  it('AES-GCM: ALLOCSPI, UPDSA (inbound), NEWSA (outbound), out/in/fwd policies', async () => {
    const xfrm = kernel();
    const dp = new XfrmDataplane({ xfrm });
    const spiIn = await installChild(dp, GCM);
    expect(spiIn).toBe(KERNEL_SPI);
    expect(names(xfrm)).toEqual(['XFRM_MSG_ALLOCSPI', 'XFRM_MSG_UPDSA', 'XFRM_MSG_NEWSA', 'XFRM_MSG_NEWPOLICY', 'XFRM_MSG_NEWPOLICY', 'XFRM_MSG_NEWPOLICY']);
    // ALLOCSPI: dst = the gateway, strongSwan's SPI range.
    const alloc = xfrm.sent[0]!.payload;
    expect(alloc.slice(112, 120)).toBe('c0000201');
    expect(alloc.slice(-16)).toBe('000000c0ffffffcf');
    // Outbound SA: iproute2's bytes + AF_UNSPEC flag + the owner tag.
    expect(xfrm.sent[2]!.payload).toBe(IP_NEWSA_GCM.replace('XX', '20') + OWNER_ATTRS);
    // Inbound SA: same shape, reversed addresses, the kernel's SPI.
    const inbound = xfrm.sent[1]!.payload;
    expect(inbound.slice(112, 144)).toBe('c0000201000000000000000000000000'); // id.daddr = gateway
    expect(inbound.slice(144, 152)).toBe('c1234567'); // SPI, network order
    expect(inbound.slice(160, 168)).toBe('c6336407'); // saddr = client
    // Policies: 0.0.0.0/0 <-> 198.18.0.5/32 with a template to the tunnel end points.
    const [out, inn, fwd] = xfrm.sent.slice(3).map((r) => r.payload);
    // struct xfrm_selector: daddr, saddr, ports, family, prefixlen_d, prefixlen_s, …
    expect(out!.slice(0, 112)).toBe('c6120005' + '00'.repeat(12) + '00'.repeat(16) + '00'.repeat(8) + '0200' + '2000' + '00'.repeat(12)); // dst VIP/32, src 0/0
    expect(inn!.slice(0, 112)).toBe('00'.repeat(16) + 'c6120005' + '00'.repeat(12) + '00'.repeat(8) + '0200' + '0020' + '00'.repeat(12)); // src VIP/32, dst 0/0
    expect(fwd!.slice(0, 112)).toBe(inn!.slice(0, 112));
    const prio = (p: string) => parseInt(p.slice(304, 312).match(/../g)!.reverse().join(''), 16);
    expect(prio(out!)).toBe(BASE + ((64 - 32) << 2) + 3);
    expect([out, inn, fwd].map((p) => p!.slice(320, 322))).toEqual(['01', '00', '02']); // dir
    // Template of the in policy: daddr = gateway, saddr = client, reqid 7, tunnel.
    const tmpl = inn!.slice(2 * (SIZEOF.xfrm_userpolicy_info + 4));
    expect(tmpl.slice(0, 8)).toBe('c0000201');
    expect(tmpl.slice(56, 64)).toBe('c6336407');
    expect(tmpl.slice(88, 98)).toBe('0700000001');
  });

  it('AES-CBC + HMAC-SHA-256 with ESP-in-UDP: XFRMA_ALG_CRYPT, XFRMA_ALG_AUTH_TRUNC, XFRMA_ENCAP', async () => {
    const xfrm = kernel();
    const dp = new XfrmDataplane({ xfrm });
    await installChild(dp, CBC, { sport: 4500, dport: 4501 });
    expect(xfrm.sent[2]!.payload).toBe(IP_NEWSA_CBC_ENCAP + OWNER_ATTRS);
    // Inbound: encap ports mirrored (sport = the client's, dport = ours).
    expect(xfrm.sent[1]!.attrs.map((a) => a.type)).toEqual([XfrmAttr.XFRMA_ALG_CRYPT, XfrmAttr.XFRMA_ALG_AUTH_TRUNC, XfrmAttr.XFRMA_ENCAP, XfrmAttr.XFRMA_SET_MARK, XfrmAttr.XFRMA_SET_MARK_MASK]);
    expect(hex(xfrm.sent[1]!.attrs[2]!.value).slice(0, 12)).toBe('020011951194');
  });

  it('AES-CBC without encapsulation, ESN and a 128-packet window: XFRMA_REPLAY_ESN_VAL, replay_window 0', async () => {
    const xfrm = kernel();
    const dp = new XfrmDataplane({ xfrm });
    await dp.installSa(sa('out', 0xc0000009, CBC, { esn: true, replayWindow: 128, lifetime: { softSeconds: 3240, hardSeconds: 3600, hardBytes: 1e9 } }));
    const r = xfrm.sent[0]!;
    expect(r.type).toBe(XfrmMsg.XFRM_MSG_NEWSA);
    expect(r.attrs.map((a) => a.type)).toEqual([XfrmAttr.XFRMA_ALG_CRYPT, XfrmAttr.XFRMA_ALG_AUTH_TRUNC, XfrmAttr.XFRMA_REPLAY_ESN_VAL, XfrmAttr.XFRMA_SET_MARK, XfrmAttr.XFRMA_SET_MARK_MASK]);
    const info = readUsersaInfo(r.body);
    expect(info.replayWindow).toBe(0);
    expect(info.flags).toBe(0x20 | 0x80); // AF_UNSPEC | ESN
    expect(info.lft).toMatchObject({ softAddExpiresSeconds: 3240n, hardAddExpiresSeconds: 3600n, hardByteLimit: 1000000000n, softByteLimit: 0xffffffffffffffffn });
    expect(hex(r.attrs[2]!.value)).toBe('04000000' + '00'.repeat(16) + '80000000' + '00'.repeat(16));
  });

  it('policy encoding equals iproute2 for the same selector, template and priority', () => {
    const dp = new XfrmDataplane({ xfrm: kernel() });
    const spec: PolicySpec = { selector: { local: VIP, remote: '0.0.0.0/0', protocol: 0 }, direction: 'out', reqid: 7, mode: 'tunnel', tunnel: { src: GW, dst: CLIENT }, priority: 0 };
    const sel = toXfrmSelector(expandSelector(spec.selector, 'out')[0]!);
    const { body, attrs } = dp.policyMessage(spec, sel, 1000);
    expect(hex(body) + hex(new Uint8Array([0x44, 0, 5, 0])) + hex(attrs[0]!.value)).toBe(IP_NEWPOLICY);
  });

  it('splits a range selector into one kernel policy per prefix and removes them again', async () => {
    const xfrm = kernel();
    const dp = new XfrmDataplane({ xfrm });
    const p = { ...policies()[0]!, selector: { local: '10.0.0.1-10.0.0.9', remote: VIP, protocol: 0 } };
    await dp.installPolicy(p);
    await dp.deletePolicy(p);
    expect(names(xfrm)).toEqual([...Array(4).fill('XFRM_MSG_NEWPOLICY'), ...Array(4).fill('XFRM_MSG_DELPOLICY')]);
  });
});

describe('XfrmDataplane: errors the daemon logs', () => {
  it('no ESP in the kernel: the UPDSA refusal names it, and the larval SPI is released', async () => {
    const xfrm = kernel((r) => (r.type === XfrmMsg.XFRM_MSG_UPDSA ? new NetlinkError(93, 'XFRM_MSG_UPDSA', 'Requested type not found') : undefined));
    const dp = new XfrmDataplane({ xfrm });
    const spi = await dp.allocateSpi(GW);
    const err = await dp.installSa(sa('in', spi, CBC)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(XfrmDataplaneError);
    expect(err).toMatchObject({ code: 'EPROTONOSUPPORT', errno: 93 });
    expect((err as Error).message).toBe(
      'no ESP in this kernel: installing inbound SA 0xc1234567 (198.51.100.7 -> 192.0.2.1, reqid 7): XFRM_MSG_UPDSA failed: EPROTONOSUPPORT (Requested type not found); ' +
        'load esp4/esp6 (CONFIG_INET_ESP, CONFIG_INET6_ESP) or use dataplane = userspace',
    );
    expect(names(xfrm)).toEqual(['XFRM_MSG_ALLOCSPI', 'XFRM_MSG_UPDSA', 'XFRM_MSG_DELSA']);
  });

  it('a missing kernel cipher names the algorithm', async () => {
    const xfrm = kernel(() => new NetlinkError(38, 'XFRM_MSG_NEWSA', 'Requested AEAD algorithm not found'));
    const err = await new XfrmDataplane({ xfrm }).installSa(sa('out', 0xc0000001, GCM)).catch((e: unknown) => e);
    expect((err as Error).message).toBe(
      'the kernel crypto API lacks rfc4106(gcm(aes)): installing outbound SA 0xc0000001 (192.0.2.1 -> 198.51.100.7, reqid 7): XFRM_MSG_NEWSA failed: ENOSYS (Requested AEAD algorithm not found)',
    );
  });

  it('validates before the syscall; deleting or querying a vanished SA is not an error', async () => {
    const xfrm = kernel((r) => (r.type === XfrmMsg.XFRM_MSG_DELSA || r.type === XfrmMsg.XFRM_MSG_GETSA ? new NetlinkError(3, xfrmMsgName(r.type)) : undefined));
    const dp = new XfrmDataplane({ xfrm });
    await expect(dp.installSa(sa('out', 0, GCM))).rejects.toThrow(/SPI 0/);
    await expect(dp.installSa({ ...sa('out', 1, GCM), integ: CBC.integ })).rejects.toThrow(/AEAD/);
    await expect(dp.deleteSa({ src: GW, dst: CLIENT, spi: 5, proto: 'esp' })).resolves.toBeUndefined();
    await expect(dp.querySa({ src: GW, dst: CLIENT, spi: 5, proto: 'esp' })).resolves.toBeUndefined();
  });
});

describe('XfrmDataplane: state, events, recovery', () => {
  it('querySa reads bytes, packets and last use from curlft', async () => {
    const xfrm = kernel((r) => {
      if (r.type !== XfrmMsg.XFRM_MSG_GETSA) return undefined;
      const body = encodeUsersaInfo(readUsersaInfo(new Uint8Array(SIZEOF.xfrm_usersa_info)));
      const dv = new DataView(body.buffer);
      dv.setBigUint64(160, 123456n, true); // bytes
      dv.setBigUint64(168, 789n, true); // packets
      dv.setBigUint64(184, 1_700_000_000n, true); // use_time
      return [kernelMessage(XfrmMsg.XFRM_MSG_NEWSA, body)];
    });
    const usage = await new XfrmDataplane({ xfrm }).querySa({ src: GW, dst: CLIENT, spi: 0xc0000001, proto: 'esp' });
    expect(usage).toEqual({ bytes: 123456, packets: 789, lastUse: 1_700_000_000_000 });
    expect(xfrm.sent[0]!.payload).toBe('c6336407' + '00'.repeat(12) + 'c0000001' + '0200' + '32' + '00');
  });

  it('reports EXPIRE (soft/hard) for our states only, and ACQUIRE for our policies', () => {
    const xfrm = kernel();
    const dp = new XfrmDataplane({ xfrm });
    const events: unknown[] = [];
    dp.onEvent((e) => events.push(e));
    const state = encodeUsersaInfo({
      ...readUsersaInfo(new Uint8Array(SIZEOF.xfrm_usersa_info)),
      id: { daddr: Uint8Array.of(198, 51, 100, 7), spi: 0xc0000001, proto: 50 },
      saddr: Uint8Array.of(192, 0, 2, 1),
      family: 2,
    });
    const expire = (hard: number) => new Uint8Array([...state, hard, 0, 0, 0, 0, 0, 0, 0]);
    const own = [u32Attr(XfrmAttr.XFRMA_SET_MARK, XFRM_DATAPLANE_DEFAULTS.ownerTag), u32Attr(XfrmAttr.XFRMA_SET_MARK_MASK, 0)];
    xfrm.emit(kernelMessage(XfrmMsg.XFRM_MSG_EXPIRE, expire(0), own));
    xfrm.emit(kernelMessage(XfrmMsg.XFRM_MSG_EXPIRE, expire(1), own));
    xfrm.emit(kernelMessage(XfrmMsg.XFRM_MSG_EXPIRE, expire(1))); // someone else's state
    const acquire = new Uint8Array(SIZEOF.xfrm_user_acquire);
    acquire.set(encodeUserpolicyInfo({ sel: anySelector(), lft: readUsersaInfo(new Uint8Array(224)).lft, priority: BASE + 131, index: 8, dir: 1, action: 0, flags: 0, share: 0 }), 96);
    const tmpl = encodeUserTmpls([{ id: { daddr: new Uint8Array(4), spi: 0, proto: 50 }, family: 2, saddr: new Uint8Array(4), reqid: 42, mode: 1, share: 0, optional: 0, aalgos: 0, ealgos: 0, calgos: 0 }]);
    xfrm.emit(kernelMessage(XfrmMsg.XFRM_MSG_ACQUIRE, acquire, [{ type: XfrmAttr.XFRMA_TMPL, value: tmpl }]));
    const id = { src: GW, dst: CLIENT, spi: 0xc0000001, proto: 'esp' };
    expect(events).toEqual([
      { kind: 'expire', id, hard: false },
      { kind: 'expire', id, hard: true },
      { kind: 'acquire', reqid: 42 },
    ]);
  });

  it('flushOwn removes our leftover policies, states and routes, nobody else’s', async () => {
    const lft = readUsersaInfo(new Uint8Array(224)).lft;
    const policy = (priority: number, index: number) =>
      kernelMessage(XfrmMsg.XFRM_MSG_NEWPOLICY, encodeUserpolicyInfo({ sel: anySelector(), lft, priority, index, dir: 2, action: 0, flags: 0, share: 0 }));
    const state = (spi: number, tagged: boolean) =>
      kernelMessage(
        XfrmMsg.XFRM_MSG_NEWSA,
        encodeUsersaInfo({ ...readUsersaInfo(new Uint8Array(224)), id: { daddr: Uint8Array.of(198, 51, 100, 7), spi, proto: 50 }, family: 2 }),
        tagged ? [u32Attr(XfrmAttr.XFRMA_SET_MARK, XFRM_DATAPLANE_DEFAULTS.ownerTag), u32Attr(XfrmAttr.XFRMA_SET_MARK_MASK, 0)] : [],
      );
    const route = (protocol: number) =>
      kernelMessage(RtmType.RTM_NEWROUTE, encodeRtMsg({ family: 2, dstLen: 32, srcLen: 0, tos: 0, table: 220, protocol, scope: 253, type: 1, flags: 0 }), [{ type: 1, value: Uint8Array.of(198, 18, 0, 9) }]);
    const xfrm = kernel((r) => {
      if (r.kind !== 'dump') return undefined;
      if (r.type === XfrmMsg.XFRM_MSG_GETPOLICY) return [policy(1000, 0x10), policy(BASE + 131, 0x22), policy(BASE + POLICY_PRIORITY_SPAN, 0x30)];
      return [state(0xc0000001, true), state(0xc0000002, false)];
    });
    // Rules: someone else's "priority 220 lookup 220" (no protocol) and a crashed instance's (0xa7).
    const rule = (protocol: number) => kernelMessage(RtmType.RTM_NEWRULE, unhex('02000000dc00000100000000'), [u32Attr(6, 220), ...(protocol ? [{ type: 21, value: Uint8Array.of(protocol) }] : [])]);
    const rt = new FakeChannel((r) => {
      if (r.kind !== 'dump' || r.body[0] !== 2) return [];
      return r.type === RtmType.RTM_GETRULE ? [rule(0), rule(XFRM_DATAPLANE_DEFAULTS.routeProtocol)] : [route(4), route(XFRM_DATAPLANE_DEFAULTS.routeProtocol)];
    });
    const dp = new XfrmDataplane({ xfrm, route: rt });
    expect(await dp.flushOwn()).toEqual({ policies: 1, states: 1, routes: 1, rules: 1 });
    expect(names(xfrm)).toEqual(['dump XFRM_MSG_GETPOLICY', 'XFRM_MSG_DELPOLICY', 'dump XFRM_MSG_GETSA', 'XFRM_MSG_DELSA']);
    // DELPOLICY by the kernel's index; DELSA by (daddr, spi, esp).
    expect(xfrm.sent[1]!.payload.slice(112, 122)).toBe('2200000002');
    expect(xfrm.sent[3]!.payload.slice(32, 40)).toBe('c0000001');
    expect(rt.sent.map((r) => `${r.kind} ${r.type}`)).toEqual(['dump 26', `request ${RtmType.RTM_DELROUTE}`, 'dump 34', `request ${RtmType.RTM_DELRULE}`, 'dump 26', 'dump 34']);
    expect(rt.sent[1]!.payload).toBe('022000' + '00' + 'dc' + 'a7' + 'ff' + '00' + '00000000' + '08000100c6120009');
    // Only the rule with our FRA_PROTOCOL goes, and the kernel matches the protocol on delete too.
    expect(rt.sent[3]!.payload).toBe('02000000dc00000100000000' + '08000600dc000000' + '05001500a7000000');
  });

  it('a rekeyed CHILD_SA takes over its policies (UPDPOLICY); the last user deletes them', async () => {
    const xfrm = kernel();
    const dp = new XfrmDataplane({ xfrm });
    for (const p of policies(7)) await dp.installPolicy(p);
    for (const p of policies(8)) await dp.installPolicy(p);
    for (const p of policies(7)) await dp.deletePolicy(p); // old one gone: nothing to send
    for (const p of policies(8)) await dp.deletePolicy(p);
    expect(names(xfrm)).toEqual([...Array(3).fill('XFRM_MSG_NEWPOLICY'), ...Array(3).fill('XFRM_MSG_UPDPOLICY'), ...Array(3).fill('XFRM_MSG_DELPOLICY')]);
    // The UPDPOLICY template carries the new reqid.
    expect(xfrm.sent[3]!.attrs[0]!.value[44]).toBe(8);
  });

  it('routes, migration, hash thresholds and close()', async () => {
    const xfrm = kernel();
    const rt = new FakeChannel();
    const dp = new XfrmDataplane({ xfrm, route: rt }, { routeVia: { oif: 3 } });
    await installChild(dp, GCM);
    await dp.installRoute({ destination: VIP, table: 220 });
    // The table's rule first (none there yet), then the route.
    expect(rt.sent.map((r) => `${r.kind} ${r.type}`)).toEqual([`dump ${RtmType.RTM_GETRULE}`, `request ${RtmType.RTM_NEWRULE}`, `request ${RtmType.RTM_NEWROUTE}`]);
    // rtmsg { AF_INET, /32, table 220, proto 0xa7, scope link, unicast } RTA_DST, RTA_OIF (as `ip route add … dev`)
    expect(rt.sent[2]!.payload).toBe('02200000dca7fd0100000000' + '08000100c6120005' + '0800040003000000');
    expect(rt.sent[2]!.flags).toBe(0x400 | 0x100); // NLM_F_CREATE | NLM_F_REPLACE
    await dp.setPolicyHashThresholds({ ipv4: { lbits: 0, rbits: 32 }, ipv6: { lbits: 0, rbits: 128 } });
    expect(xfrm.sent.at(-1)!.payload).toBe('ffffffff06000300002000000600040000800000');
    await dp.migrate({ reqid: 7, from: { local: GW, remote: CLIENT }, to: { local: GW, remote: '203.0.113.9' } });
    const migrates = xfrm.sent.filter((r) => r.type === XfrmMsg.XFRM_MSG_MIGRATE);
    expect(migrates.map((r) => r.body[60])).toEqual([1, 0, 2]); // out, in, fwd
    // out: old daddr client -> new daddr 203.0.113.9, saddr unchanged; reqid 7; AF_INET both.
    const m = migrates[0]!.attrs[0]!.value;
    expect(hex(m.subarray(0, 4)) + hex(m.subarray(32, 36)) + hex(m.subarray(48, 52))).toBe('c6336407' + 'cb007109' + 'c0000201');
    xfrm.sent.length = 0;
    await dp.close();
    expect(names(xfrm)).toEqual(['XFRM_MSG_DELPOLICY', 'XFRM_MSG_DELPOLICY', 'XFRM_MSG_DELPOLICY', 'XFRM_MSG_DELSA', 'XFRM_MSG_DELSA']);
    // The SAs are deleted at their migrated addresses.
    expect(xfrm.sent.slice(3).map((r) => r.payload.slice(0, 8))).toEqual(['c0000201', 'cb007109']);
    // The route, then the rule we added.
    expect(rt.sent.slice(-2).map((r) => r.type)).toEqual([RtmType.RTM_DELROUTE, RtmType.RTM_DELRULE]);
    expect(xfrm.closed && rt.closed).toBe(true);
  });
});

describe('XfrmDataplane: virtual-IP routes towards the peer (table 220, rule 220)', () => {
  const lookupAnswer = (o: { family?: number; oif?: number; gateway?: string; prefsrc?: string }) => {
    const family = o.family ?? 2;
    const attrs = [u32Attr(15, 254), ...(o.oif !== undefined ? [u32Attr(4, o.oif)] : [])];
    const ip = (t: string) => unhex(t.includes(':') ? '20010db8' + '0'.repeat(22) + t.split('::')[1]!.padStart(2, '0') : Buffer.from(t.split('.').map(Number)).toString('hex'));
    if (o.gateway) attrs.push({ type: 5, value: ip(o.gateway) });
    if (o.prefsrc) attrs.push({ type: 7, value: ip(o.prefsrc) });
    return kernelMessage(RtmType.RTM_NEWROUTE, encodeRtMsg({ family, dstLen: family === 2 ? 32 : 128, srcLen: 0, tos: 0, table: 254, protocol: 0, scope: 0, type: 1, flags: 0x1000 }), attrs);
  };
  /** rtnetlink that answers RTM_GETROUTE with `path` and dumps `rules` for RTM_GETRULE. */
  const routing = (path: Parameters<typeof lookupAnswer>[0], rules: ReturnType<typeof kernelMessage>[] = []) =>
    new FakeChannel((r) => {
      if (r.type === RtmType.RTM_GETROUTE && r.kind === 'request') return [lookupAnswer(path)];
      if (r.type === RtmType.RTM_GETRULE) return rules;
      return [];
    });
  const kinds = (ch: FakeChannel) => ch.sent.map((r) => `${r.kind} ${r.type}`);

  it('looks up the path to the peer and routes the virtual IP via its gateway, interface and source', async () => {
    const rt = routing({ oif: 2, gateway: '192.0.2.254', prefsrc: GW });
    const dp = new XfrmDataplane({ xfrm: kernel(), route: rt });
    await dp.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } });
    expect(kinds(rt)).toEqual(['request 26', 'dump 34', 'request 32', 'request 24']);
    // RTM_GETROUTE for the peer's outer address (`ip route get 198.51.100.7`)
    expect(rt.sent[0]!.payload).toBe('022000000000000000100000' + '08000100c6336407');
    // The rule: priority 220 lookup 220 proto 0xa7 (table 0 = the dataplane's routing table)
    expect(rt.sent[2]!.payload).toBe('02000000dc00000100000000' + '08000600dc000000' + '05001500a7000000');
    // `ip route replace 198.18.0.5/32 via 192.0.2.254 dev #2 src 192.0.2.1 table 220 proto 0xa7`:
    // scope universe (a gateway), RTA_DST, RTA_GATEWAY, RTA_OIF, RTA_PREFSRC
    expect(rt.sent[3]!.payload).toBe('02200000dca7000100000000' + '08000100c6120005' + '08000500c00002fe' + '0800040002000000' + '08000700c0000201');
    await dp.close();
    expect(kinds(rt).slice(-2)).toEqual(['request 25', 'request 33']);
  });

  it('an on-link peer: the interface only; an IPv6 virtual IP inside an IPv4 tunnel: the interface only, an IPv6 rule', async () => {
    const rt = routing({ oif: 4, prefsrc: GW });
    const dp = new XfrmDataplane({ xfrm: kernel(), route: rt });
    await dp.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } });
    expect(rt.sent[3]!.payload).toBe('02200000dca7fd0100000000' + '08000100c6120005' + '0800040004000000' + '08000700c0000201');
    await dp.installRoute({ destination: '2001:db8:ffff::5/128', table: 0, via: { peer: CLIENT } });
    const v6 = rt.sent.slice(4);
    expect(v6.map((r) => `${r.kind} ${r.type} ${r.body[0]}`)).toEqual(['request 26 2', 'dump 34 10', 'request 32 10', 'request 24 10']);
    // No gateway or source of the other family: rtmsg { AF_INET6, /128, 220, 0xa7, link } RTA_DST, RTA_OIF
    expect(v6[3]!.payload).toBe('0a800000dca7fd0100000000' + '1400010020010db8ffff00000000000000000005' + '0800040004000000');
    await dp.close();
    // Both routes, then both rules.
    expect(kinds(rt).slice(-4)).toEqual(['request 25', 'request 25', 'request 33', 'request 33']);
  });

  it('counts users: a second install of the same route sends nothing, and only the last delete removes it', async () => {
    const rt = routing({ oif: 2, gateway: '192.0.2.254' });
    const dp = new XfrmDataplane({ xfrm: kernel(), route: rt });
    await Promise.all([dp.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } }), dp.installRoute({ destination: '198.18.0.6/32', table: 0, via: { peer: CLIENT } })]);
    // Two routes installed concurrently: one rule.
    expect(rt.sent.filter((r) => r.type === RtmType.RTM_NEWRULE)).toHaveLength(1);
    await dp.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } });
    expect(rt.sent.filter((r) => r.type === RtmType.RTM_NEWROUTE)).toHaveLength(2);
    await dp.deleteRoute({ destination: VIP, table: 0 });
    expect(rt.sent.filter((r) => r.type === RtmType.RTM_DELROUTE)).toHaveLength(0);
    await dp.deleteRoute({ destination: VIP, table: 0 });
    const dels = rt.sent.filter((r) => r.type === RtmType.RTM_DELROUTE);
    expect(dels).toHaveLength(1);
    expect(dels[0]!.payload).toBe('02200000dca7ff0000000000' + '08000100c6120005');
    await dp.close();
  });

  it('leaves an existing "priority 220 lookup 220" of someone else alone; adopts and removes a leftover of ours', async () => {
    const rule = (protocol: number) => kernelMessage(RtmType.RTM_NEWRULE, unhex('02000000dc00000100000000'), [u32Attr(6, 220), ...(protocol ? [{ type: 21, value: Uint8Array.of(protocol) }] : [])]);
    const foreign = routing({ oif: 2 }, [rule(0)]);
    const a = new XfrmDataplane({ xfrm: kernel(), route: foreign });
    await a.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } });
    await a.close();
    expect(kinds(foreign)).toEqual(['request 26', 'dump 34', 'request 24', 'request 25']);

    const leftover = routing({ oif: 2 }, [rule(XFRM_DATAPLANE_DEFAULTS.routeProtocol)]);
    const b = new XfrmDataplane({ xfrm: kernel(), route: leftover });
    await b.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } });
    await b.close();
    expect(kinds(leftover)).toEqual(['request 26', 'dump 34', 'request 24', 'request 25', 'request 33']);
  });

  it('routing_table = 0: the routes go in main, and no rule is needed', async () => {
    const rt = routing({ oif: 2, gateway: '192.0.2.254' });
    const dp = new XfrmDataplane({ xfrm: kernel(), route: rt }, { routingTable: 0 });
    await dp.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } });
    expect(kinds(rt)).toEqual(['request 26', 'request 24']);
    expect(rt.sent[1]!.body[4]).toBe(254);
    await dp.close();
    expect(kinds(rt).slice(-1)).toEqual(['request 25']);
  });

  it('a route the kernel refuses leaves no count behind; no way out is an error naming the route', async () => {
    const rt = new FakeChannel((r) => (r.type === RtmType.RTM_NEWROUTE ? new NetlinkError(19, 'RTM_NEWROUTE') : r.type === RtmType.RTM_GETROUTE ? [lookupAnswer({ oif: 9 })] : []));
    const dp = new XfrmDataplane({ xfrm: kernel(), route: rt });
    await expect(dp.installRoute({ destination: VIP, table: 0, via: { peer: CLIENT } })).rejects.toThrow(/^installing route 198\.18\.0\.5\/32 oif 9 in table 220: RTM_NEWROUTE failed: ENODEV/);
    await expect(dp.installRoute({ destination: VIP, table: 0 })).rejects.toThrow(/route 198\.18\.0\.5\/32: no way out/);
    await dp.close();
    // Nothing to remove but the rule it added.
    expect(kinds(rt).slice(-1)).toEqual(['request 33']);
  });
});

