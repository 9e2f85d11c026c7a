// EapConversation (src/eap/conversation.ts) driven by the scripted peer in peer.ts.
// Message notation as in RFC 3748 and strongSwan logs: EAP/REQ/ID, EAP/RES/MSCHAPV2, EAP/SUCC.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { EapConversation, EAP_MAX_ROUNDS, type EapOutcome, type EapServerDeps, type EapSecret } from '../../../src/eap/conversation.js';
import { decodeEap, describeEap, encodeEap } from '../../../src/eap/packet.js';
import { EapCode, EapType } from '../../../src/ike/constants.js';
import { seededRng } from '../../../src/crypto/random.js';
import { silentLogger } from '../../../src/log/logger.js';
import { toHex, utf8 } from '../../../src/crypto/bytes.js';
import { ntPasswordHash } from '../../../src/eap/mschapv2/chap-ms.js';
import { TestPeer, type PeerOptions } from './peer.js';

const USERS: Record<string, EapSecret> = {
  alice: { password: utf8('correct horse') },
  bob: { ntHash: ntPasswordHash('battery staple') },
  carol: { password: utf8('Pässwörd €') },
};

function deps(over: Partial<EapServerDeps> = {}): EapServerDeps {
  return {
    methods: ['eap-mschapv2'],
    ikeIdentity: '192.168.1.13',
    secretFor: (id) => USERS[id],
    rng: seededRng('eap-conversation'),
    log: silentLogger(),
    ...over,
  };
}

interface Run {
  outcome: Exclude<EapOutcome, { kind: 'continue' }>;
  requests: string[];
  responses: string[];
  peer: TestPeer;
  ids: number[];
}

/** Runs a whole conversation: start(), then peer answer → process() until success/failure. */
async function run(d: EapServerDeps, peerOpts: PeerOptions): Promise<Run> {
  const conv = new EapConversation(d);
  const peer = new TestPeer(peerOpts);
  const requests: string[] = [];
  const responses: string[] = [];
  const ids: number[] = [];
  let packet = conv.start();
  for (let i = 0; i < 20; i++) {
    const req = decodeEap(packet);
    requests.push(describeEap(req));
    ids.push(req.identifier);
    const answer = peer.respond(packet);
    responses.push(describeEap(decodeEap(answer)));
    const outcome = await conv.process(answer);
    if (outcome.kind !== 'continue') {
      requests.push(describeEap(decodeEap(outcome.packet)));
      ids.push(decodeEap(outcome.packet).identifier);
      return { outcome, requests, responses, peer, ids };
    }
    packet = outcome.packet;
  }
  throw new Error('conversation did not end');
}

describe('EAP-MSCHAPv2 through the conversation', () => {
  it('Identity → Challenge → Response → Success Request → Success Response → EAP-Success with the MSK', async () => {
    const r = await run(deps(), { identity: 'alice', password: 'correct horse' });
    // <-- EAP/REQ/ID  --> EAP/RES/ID  <-- EAP/REQ/MSCHAPV2 (challenge) --> EAP/RES/MSCHAPV2 (response)
    // <-- EAP/REQ/MSCHAPV2 (success) --> EAP/RES/MSCHAPV2 (success) <-- EAP/SUCC
    expect(r.requests).toEqual(['EAP/REQ/ID', 'EAP/REQ/MSCHAPV2', 'EAP/REQ/MSCHAPV2', 'EAP/SUCC']);
    expect(r.responses).toEqual(['EAP/RES/ID', 'EAP/RES/MSCHAPV2', 'EAP/RES/MSCHAPV2']);
    expect(r.outcome.kind).toBe('success');
    if (r.outcome.kind !== 'success') return;
    expect(r.outcome.identity).toBe('alice');
    expect(r.outcome.method).toBe('eap-mschapv2');
    expect(r.peer.authenticatorOk).toBe(true);
    expect(r.peer.successMessage).toMatch(/^S=[0-9A-F]{40} M=/);
    expect(r.outcome.msk?.length).toBe(64);
    expect(toHex(r.outcome.msk!)).toBe(toHex(r.peer.msk!));
    // Identifiers increase per Request; EAP-Success repeats the last Response's (RFC 3748 §4.2).
    const [a, b, c, s] = r.ids as [number, number, number, number];
    expect(b).toBe((a + 1) & 0xff);
    expect(c).toBe((b + 1) & 0xff);
    expect(s).toBe(c);
    expect(r.outcome.packet).toEqual(Uint8Array.of(EapCode.SUCCESS, c, 0, 4));
  });

  it('the challenge Request names the server "ikegate" and carries a 16-octet challenge', async () => {
    const conv = new EapConversation(deps());
    const peer = new TestPeer({ identity: 'alice', password: 'correct horse' });
    const out = await conv.process(peer.respond(conv.start()));
    expect(out.kind).toBe('continue');
    if (out.kind !== 'continue') return;
    const p = decodeEap(out.packet);
    expect(p.type).toBe(EapType.MSCHAPV2);
    expect(p.data[0]).toBe(1); // OpCode Challenge
    expect((p.data[2]! << 8) | p.data[3]!).toBe(p.data.length); // MS-Length = EAP Length - 5
    expect(p.data[4]).toBe(16);
    expect(new TextDecoder().decode(p.data.subarray(21))).toBe('ikegate');
  });

  it('works from a stored NT hash and with a non-ASCII password', async () => {
    expect((await run(deps(), { identity: 'bob', password: 'battery staple' })).outcome.kind).toBe('success');
    expect((await run(deps(), { identity: 'carol', password: 'Pässwörd €' })).outcome.kind).toBe('success');
  });

  it('an empty EAP identity falls back to the IKE identity (strongSwan 6.0.3)', async () => {
    const ike = 'alice';
    const r = await run(deps({ ikeIdentity: ike }), { identity: '', name: ike, password: 'correct horse' });
    expect(r.outcome.kind).toBe('success');
    expect(r.outcome.identity).toBe('alice');
  });

  it('an identity of NULs only counts as empty', async () => {
    const conv = new EapConversation(deps({ ikeIdentity: 'alice' }));
    const id = decodeEap(conv.start()).identifier;
    const out = await conv.process(encodeEap({ code: EapCode.RESPONSE, identifier: id, type: EapType.IDENTITY, data: Uint8Array.of(0, 0) }));
    expect(out.kind).toBe('continue');
  });

  it('wrong password → Failure Request (E=691 R=0 C=… V=3) → Failure Response → EAP-Failure', async () => {
    const r = await run(deps(), { identity: 'alice', password: 'wrong' });
    expect(r.requests).toEqual(['EAP/REQ/ID', 'EAP/REQ/MSCHAPV2', 'EAP/REQ/MSCHAPV2', 'EAP/FAIL']);
    expect(r.peer.failureMessage).toMatch(/^E=691 R=0 C=[0-9A-F]{32} V=3 M=/);
    expect(r.outcome.kind).toBe('failure');
    if (r.outcome.kind !== 'failure') return;
    expect(r.outcome.reason).toMatch(/wrong password/);
    expect(r.outcome.identity).toBe('alice');
    expect(r.outcome.method).toBe('eap-mschapv2');
    expect(decodeEap(r.outcome.packet)).toEqual({ code: EapCode.FAILURE, identifier: r.ids[2], data: new Uint8Array(0) });
  });

  it('unknown user: the same packets as a wrong password', async () => {
    const wrong = await run(deps(), { identity: 'alice', password: 'wrong' });
    const unknown = await run(deps(), { identity: 'alicf', password: 'wrong' });
    expect(unknown.requests).toEqual(wrong.requests);
    expect(unknown.responses).toEqual(wrong.responses);
    const shape = (s: string | undefined): string | undefined => s?.replace(/C=[0-9A-F]{32}/, 'C=*');
    expect(shape(unknown.peer.failureMessage)).toBe(shape(wrong.peer.failureMessage));
    const failReq = (r: Run) => r.peer.seen[2]!;
    expect(failReq(unknown).data.length).toBe(failReq(wrong).data.length);
    expect(failReq(unknown).data.subarray(0, 1)).toEqual(failReq(wrong).data.subarray(0, 1));
    expect(unknown.outcome.kind).toBe('failure');
    if (unknown.outcome.kind === 'failure') expect(unknown.outcome.reason).toMatch(/unknown user/);
  });

  it('unknown user: about the same time as a wrong password', async () => {
    // Times only the verifying step (the Response to the challenge); loose bound, no flakiness.
    async function verifyTime(identity: string): Promise<number> {
      const conv = new EapConversation(deps());
      const peer = new TestPeer({ identity, password: 'wrong' });
      const challenge = await conv.process(peer.respond(conv.start()));
      if (challenge.kind !== 'continue') throw new Error('no challenge');
      const answer = peer.respond(challenge.packet);
      const t0 = process.hrtime.bigint();
      await conv.process(answer);
      return Number(process.hrtime.bigint() - t0);
    }
    // Interleaved samples, so JIT warm-up and GC drift hit both sides alike.
    const samples: Record<'known' | 'unknown', number[]> = { known: [], unknown: [] };
    for (let i = 0; i < 50; i++) await verifyTime('alice'); // warm-up
    for (let i = 0; i < 300; i++) {
      samples.known.push(await verifyTime('alice'));
      samples.unknown.push(await verifyTime('nobody'));
    }
    const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
    const known = median(samples.known);
    const unknown = median(samples.unknown);
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(unknown / known).toBeLessThan(2);
  });

  it('DOMAIN\\user: domain stripped for ChallengeHash and lookup; identity = user part', async () => {
    const r = await run(deps(), { identity: 'CORP\\alice', password: 'correct horse' });
    expect(r.outcome.kind).toBe('success');
    expect(r.outcome.identity).toBe('alice');
  });

  it('DOMAIN\\user with requireDomain: matching domain (any case) passes, another fails like a wrong password', async () => {
    const d = (): EapServerDeps => deps({ mschapv2: { requireDomain: 'corp' } });
    expect((await run(d(), { identity: 'CORP\\alice', password: 'correct horse' })).outcome.kind).toBe('success');
    const other = await run(d(), { identity: 'EVIL\\alice', password: 'correct horse' });
    expect(other.outcome.kind).toBe('failure');
    expect(other.peer.failureMessage).toMatch(/^E=691 R=0/);
    if (other.outcome.kind === 'failure') expect(other.outcome.reason).toMatch(/required domain/);
    const none = await run(d(), { identity: 'alice', password: 'correct horse' });
    expect(none.outcome.kind).toBe('failure');
  });

  it('a Name that does not match the EAP identity fails with a clear reason', async () => {
    const r = await run(deps(), { identity: 'alice', name: 'bob', password: 'correct horse' });
    expect(r.outcome.kind).toBe('failure');
    if (r.outcome.kind === 'failure') expect(r.outcome.reason).toMatch(/Name 'bob' does not match the EAP identity 'alice'/);
  });

  it('eapIdPattern refuses identities it does not allow', async () => {
    const r = await run(deps({ eapIdPattern: (id) => id.endsWith('@example.com') }), { identity: 'alice', password: 'correct horse' });
    expect(r.requests).toEqual(['EAP/REQ/ID', 'EAP/FAIL']);
    if (r.outcome.kind === 'failure') expect(r.outcome.reason).toMatch(/not allowed/);
  });
});

describe('method negotiation (Legacy Nak, RFC 3748 §5.3.1)', () => {
  it('Nak naming MD5 switches to EAP-MD5 when allowed', async () => {
    const r = await run(deps({ methods: ['eap-mschapv2', 'eap-md5'] }), { identity: 'alice', password: 'correct horse', accepts: [EapType.MD5] });
    // <-- EAP/REQ/ID --> EAP/RES/ID <-- EAP/REQ/MSCHAPV2 --> EAP/RES/NAK(4) <-- EAP/REQ/MD5 --> EAP/RES/MD5 <-- EAP/SUCC
    expect(r.requests).toEqual(['EAP/REQ/ID', 'EAP/REQ/MSCHAPV2', 'EAP/REQ/MD5', 'EAP/SUCC']);
    expect(r.responses).toEqual(['EAP/RES/ID', 'EAP/RES/NAK', 'EAP/RES/MD5']);
    expect(r.outcome.kind).toBe('success');
    if (r.outcome.kind !== 'success') return;
    expect(r.outcome.method).toBe('eap-md5');
    expect(r.outcome.msk).toBeUndefined();
  });

  it('Nak naming only methods we do not allow → failure', async () => {
    const r = await run(deps(), { identity: 'alice', password: 'correct horse', accepts: [EapType.MD5] });
    expect(r.requests).toEqual(['EAP/REQ/ID', 'EAP/REQ/MSCHAPV2', 'EAP/FAIL']);
    if (r.outcome.kind === 'failure') expect(r.outcome.reason).toMatch(/proposes EAP types \[4\]/);
  });

  it('Nak with "no alternative" (0) → failure', async () => {
    const r = await run(deps({ methods: ['eap-mschapv2', 'eap-md5'] }), { identity: 'alice', password: 'x', accepts: [] });
    expect(r.outcome.kind).toBe('failure');
    if (r.outcome.kind === 'failure') expect(r.outcome.reason).toMatch(/\[none\]/);
  });

  it('each method is offered at most once: a Nak back to a refused method fails', async () => {
    const conv = new EapConversation(deps({ methods: ['eap-mschapv2', 'eap-md5'] }));
    const peer = new TestPeer({ identity: 'alice', password: 'correct horse', accepts: [EapType.MD5] });
    let out = await conv.process(peer.respond(conv.start())); // → MSCHAPV2
    if (out.kind !== 'continue') throw new Error('expected a request');
    out = await conv.process(peer.respond(out.packet)); // Nak(MD5) → MD5
    if (out.kind !== 'continue') throw new Error('expected a request');
    const md5Req = decodeEap(out.packet);
    expect(md5Req.type).toBe(EapType.MD5);
    out = await conv.process(encodeEap({ code: EapCode.RESPONSE, identifier: md5Req.identifier, type: EapType.NAK, data: Uint8Array.of(EapType.MSCHAPV2) }));
    expect(out.kind).toBe('failure');
  });
});

describe('EAP-MD5 through the conversation', () => {
  it('right password → EAP-Success without MSK', async () => {
    const r = await run(deps({ methods: ['eap-md5'] }), { identity: 'alice', password: 'correct horse', accepts: [EapType.MD5] });
    expect(r.requests).toEqual(['EAP/REQ/ID', 'EAP/REQ/MD5', 'EAP/SUCC']);
    expect(r.outcome.kind).toBe('success');
    expect(r.outcome.identity).toBe('alice');
  });

  it('wrong password, unknown user, or only an NT hash → EAP-Failure', async () => {
    for (const [identity, password] of [['alice', 'nope'], ['nobody', 'x'], ['bob', 'battery staple']] as const) {
      const r = await run(deps({ methods: ['eap-md5'] }), { identity, password, accepts: [EapType.MD5] });
      expect(r.requests).toEqual(['EAP/REQ/ID', 'EAP/REQ/MD5', 'EAP/FAIL']);
      expect(r.outcome.kind).toBe('failure');
    }
  });
});

describe('bad input never throws', () => {
  it('identifier mismatch → failure', async () => {
    const conv = new EapConversation(deps());
    const id = decodeEap(conv.start()).identifier;
    const out = await conv.process(encodeEap({ code: EapCode.RESPONSE, identifier: (id + 1) & 0xff, type: EapType.IDENTITY, data: utf8('alice') }));
    expect(out.kind).toBe('failure');
    if (out.kind === 'failure') {
      expect(out.reason).toMatch(/identifier mismatch/);
      expect(decodeEap(out.packet).code).toBe(EapCode.FAILURE);
    }
  });

  it('garbage, truncation, wrong codes and wrong types → failure outcomes', async () => {
    const inputs: ((id: number) => Uint8Array)[] = [
      () => new Uint8Array(0),
      () => Uint8Array.of(2, 1),
      (id) => Uint8Array.of(2, id, 0, 9, 1), // Length beyond the data
      (id) => Uint8Array.of(2, id, 0, 4), // Response without a Type
      (id) => Uint8Array.of(9, id, 0, 4), // unknown code
      (id) => encodeEap({ code: EapCode.REQUEST, identifier: id, type: EapType.IDENTITY, data: utf8('x') }),
      (id) => encodeEap({ code: EapCode.SUCCESS, identifier: id, data: new Uint8Array(0) }),
      (id) => encodeEap({ code: EapCode.RESPONSE, identifier: id, type: EapType.MSCHAPV2, data: Uint8Array.of(2) }),
    ];
    for (const make of inputs) {
      const conv = new EapConversation(deps());
      const id = decodeEap(conv.start()).identifier;
      const out = await conv.process(make(id));
      expect(out.kind).toBe('failure');
    }
  });

  it('malformed MS-CHAPv2 responses → failure', async () => {
    const bodies = [
      Uint8Array.of(2), // OpCode only
      Uint8Array.of(9, 0, 0, 4), // unknown OpCode
      new Uint8Array(53).fill(2), // one octet short
    ];
    for (const body of bodies) {
      const conv = new EapConversation(deps());
      const peer = new TestPeer({ identity: 'alice', password: 'correct horse' });
      const ch = await conv.process(peer.respond(conv.start()));
      if (ch.kind !== 'continue') throw new Error('no challenge');
      const id = decodeEap(ch.packet).identifier;
      const out = await conv.process(encodeEap({ code: EapCode.RESPONSE, identifier: id, type: EapType.MSCHAPV2, data: body }));
      expect(out.kind).toBe('failure');
    }
  });

  it('property: any bytes at any stage give an outcome, never an exception', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 2 }), async (junk, stage) => {
        const conv = new EapConversation(deps());
        const peer = new TestPeer({ identity: 'alice', password: 'correct horse' });
        let packet = conv.start();
        for (let i = 0; i < stage; i++) {
          const out = await conv.process(peer.respond(packet));
          if (out.kind !== 'continue') return;
          packet = out.packet;
        }
        // Keep the right identifier half of the time so the junk reaches the method.
        if (junk.length >= 2 && junk[0]! & 1) junk[1] = decodeEap(packet).identifier;
        const out = await conv.process(junk);
        expect(['continue', 'success', 'failure']).toContain(out.kind);
      }),
      { numRuns: 300 },
    );
  });

  it('responses after the end fail; start() twice is a programming error', async () => {
    const conv = new EapConversation(deps());
    const first = conv.start();
    expect(() => conv.start()).toThrow();
    const peer = new TestPeer({ identity: 'nobody-allowed', password: 'x' });
    const d = deps({ eapIdPattern: () => false });
    const c2 = new EapConversation(d);
    const out1 = await c2.process(peer.respond(c2.start()));
    expect(out1.kind).toBe('failure');
    const out2 = await c2.process(first);
    expect(out2.kind).toBe('failure');
    if (out2.kind === 'failure') expect(out2.reason).toMatch(/ended/);
  });

  it(`bounds the conversation at ${EAP_MAX_ROUNDS} requests (see conversation-eap-tls.test.ts for a method that never ends)`, () => {
    expect(EAP_MAX_ROUNDS).toBeGreaterThanOrEqual(20);
  });
});
