// The request layer over a fake native NetlinkSocket: sequence matching, ACK/ERROR with errno
// names and extended-ACK text, dumps, timeouts, multicast events interleaved with answers.
import { afterEach, describe, expect, it, vi } from 'vitest';
import { encodeAttrs, encodeMessage, NlmFlags, NlmsgType, parseMessages } from '../../../src/xfrm/netlink/message.js';
import type { NetlinkTransport } from '../../../src/xfrm/netlink/socket.js';
import { errnoName, NetlinkClosedError, NetlinkError, NetlinkRequestSocket, NetlinkTimeoutError } from '../../../src/xfrm/netlink/socket.js';
import { xfrmMsgName } from '../../../src/xfrm/netlink/xfrm-constants.js';

const PORT = 4242;

class FakeTransport implements NetlinkTransport {
  readonly portId = PORT;
  readonly sent: Uint8Array[] = [];
  closed = false;
  private onMsg: (d: Buffer) => void = () => undefined;
  private onErr: (e: Error) => void = () => undefined;
  send(message: Uint8Array): void {
    this.sent.push(message.slice());
  }
  onMessage(cb: (d: Buffer) => void): void {
    this.onMsg = cb;
  }
  onError(cb: (e: Error) => void): void {
    this.onErr = cb;
  }
  close(): void {
    this.closed = true;
  }
  deliver(...msgs: Uint8Array[]): void {
    this.onMsg(Buffer.concat(msgs.map((m) => Buffer.from(m))));
  }
  fail(e: Error): void {
    this.onErr(e);
  }
  lastSeq(): number {
    const [m] = parseMessages(this.sent[this.sent.length - 1]!);
    return m!.seq;
  }
}

function ack(seq: number, errno = 0, text?: string, pid = PORT): Uint8Array {
  const body = new Uint8Array(20);
  new DataView(body.buffer).setInt32(0, -errno, true);
  new DataView(body.buffer).setUint32(12, seq, true);
  const tlvs = text ? encodeAttrs([{ type: 1, value: new TextEncoder().encode(`${text}\0`) }]) : new Uint8Array(0);
  const flags = NlmFlags.NLM_F_CAPPED | (text ? NlmFlags.NLM_F_ACK_TLVS : 0);
  return encodeMessage({ type: NlmsgType.NLMSG_ERROR, flags, seq, pid, body: new Uint8Array([...body, ...tlvs]) });
}

const reply = (type: number, seq: number, body: Uint8Array, flags = 0, pid = PORT) => encodeMessage({ type, flags, seq, pid, body });

afterEach(() => {
  vi.useRealTimers();
});

describe('NetlinkRequestSocket', () => {
  it('sends NLM_F_REQUEST|NLM_F_ACK with a fresh sequence number and resolves on the ACK', async () => {
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 100, typeName: xfrmMsgName });
    const p = s.request({ type: 0x13, body: Uint8Array.of(1, 2, 3, 4) });
    const [m] = parseMessages(t.sent[0]!);
    expect(m).toMatchObject({ type: 0x13, flags: NlmFlags.NLM_F_REQUEST | NlmFlags.NLM_F_ACK, seq: 101, pid: 0 });
    t.deliver(ack(101));
    await expect(p).resolves.toEqual([]);
    expect(s.inFlight).toBe(0);
  });

  it('returns the data replies that precede the ACK (GETSA, ALLOCSPI)', async () => {
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 1 });
    const p = s.request({ type: 0x12, body: new Uint8Array(24) });
    const seq = t.lastSeq();
    t.deliver(reply(0x10, seq, Uint8Array.of(9, 9, 9, 9)), ack(seq));
    const msgs = await p;
    expect(msgs.map((m) => m.type)).toEqual([0x10]);
    expect([...msgs[0]!.payload]).toEqual([9, 9, 9, 9]);
  });

  it('rejects with the errno name and the kernel message', async () => {
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 1, typeName: xfrmMsgName });
    const p = s.request({ type: 0x10, body: new Uint8Array(224) });
    t.deliver(ack(t.lastSeq(), 93, 'Requested type not found'));
    const err = await p.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(err).toMatchObject({ errno: 93, code: 'EPROTONOSUPPORT', operation: 'XFRM_MSG_NEWSA', kernelMessage: 'Requested type not found' });
    expect((err as Error).message).toBe('XFRM_MSG_NEWSA failed: EPROTONOSUPPORT (Requested type not found)');
    expect(errnoName(17)).toBe('EEXIST');
    expect(errnoName(3)).toBe('ESRCH');
  });

  it('matches answers by sequence number when several requests are in flight', async () => {
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 10 });
    const a = s.request({ type: 0x13, body: new Uint8Array(4) });
    const b = s.request({ type: 0x13, body: new Uint8Array(4) });
    t.deliver(ack(12, 17), ack(11));
    await expect(a).resolves.toEqual([]);
    await expect(b).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('collects a multipart dump until NLMSG_DONE', async () => {
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 1 });
    const p = s.dump({ type: 0x15, body: new Uint8Array(0) });
    const [m] = parseMessages(t.sent[0]!);
    expect(m!.flags).toBe(NlmFlags.NLM_F_REQUEST | NlmFlags.NLM_F_DUMP);
    const seq = m!.seq;
    t.deliver(reply(0x13, seq, Uint8Array.of(1, 0, 0, 0), NlmFlags.NLM_F_MULTI), reply(0x13, seq, Uint8Array.of(2, 0, 0, 0), NlmFlags.NLM_F_MULTI));
    expect(s.inFlight).toBe(1);
    t.deliver(reply(0x13, seq, Uint8Array.of(3, 0, 0, 0), NlmFlags.NLM_F_MULTI), reply(NlmsgType.NLMSG_DONE, seq, new Uint8Array(4), NlmFlags.NLM_F_MULTI));
    expect((await p).map((x) => x.payload[0])).toEqual([1, 2, 3]);
  });

  it('routes multicast events to listeners, also between the parts of an answer', async () => {
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 1 });
    const events: number[] = [];
    s.onEvent((m) => events.push(m.type));
    const p = s.request({ type: 0x12, body: new Uint8Array(24) });
    const seq = t.lastSeq();
    // XFRM_MSG_EXPIRE from the kernel (pid 0), even with a colliding sequence number.
    t.deliver(reply(0x10, seq, new Uint8Array(4)), reply(0x18, seq, new Uint8Array(4), 0, 0), reply(0x17, 0, new Uint8Array(4), 0, 0), ack(seq));
    expect((await p).map((m) => m.type)).toEqual([0x10]);
    expect(events).toEqual([0x18, 0x17]);
  });

  it('times out, and drops the late answer', async () => {
    vi.useFakeTimers();
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 1, timeoutMs: 50, typeName: xfrmMsgName });
    const p = s.request({ type: 0x1a, body: new Uint8Array(4) });
    const caught = p.catch((e: unknown) => e);
    vi.advanceTimersByTime(60);
    const err = await caught;
    expect(err).toBeInstanceOf(NetlinkTimeoutError);
    expect((err as Error).message).toBe('XFRM_MSG_UPDSA: no answer from the kernel within 50 ms');
    const events: number[] = [];
    s.onEvent((m) => events.push(m.type));
    t.deliver(ack(t.lastSeq()));
    expect(events).toEqual([]);
    expect(s.lateReplies).toBe(1);
  });

  it('wipes the request bytes once answered (they may hold keys)', async () => {
    const sent: Uint8Array[] = [];
    const t = new FakeTransport();
    t.send = (m) => void sent.push(m); // keep the very buffer, not a copy
    const s = new NetlinkRequestSocket(t, { firstSeq: 1 });
    const p = s.request({ type: 0x10, body: Uint8Array.of(0xaa, 0xbb, 0xcc, 0xdd) });
    expect(sent[0]![16]).toBe(0xaa);
    t.deliver(ack(2));
    await p;
    expect(sent[0]!.every((b) => b === 0)).toBe(true);
  });

  it('rejects pending requests on close and reports socket errors', async () => {
    const t = new FakeTransport();
    const s = new NetlinkRequestSocket(t, { firstSeq: 1 });
    const errors: string[] = [];
    s.onError((e) => errors.push(e.message));
    const p = s.request({ type: 0x10, body: new Uint8Array(4) });
    t.fail(Object.assign(new Error('recvmsg ENOBUFS'), { code: 'ENOBUFS' }));
    t.deliver(Uint8Array.of(0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0));
    s.close();
    await expect(p).rejects.toBeInstanceOf(NetlinkClosedError);
    expect(t.closed).toBe(true);
    expect(errors[0]).toBe('recvmsg ENOBUFS');
    expect(errors[1]).toMatch(/does not fit/);
    await expect(s.request({ type: 0x10, body: new Uint8Array(4) })).rejects.toBeInstanceOf(NetlinkClosedError);
  });
});
