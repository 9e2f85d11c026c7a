// EAP-MSCHAPv2 server method (src/eap/mschapv2/mschapv2.ts) on its own, packet by packet,
// against draft-kamath-pppext-eap-mschapv2-02 §2 and the RFC 2759 §9.2 worked example.
import { describe, expect, it } from 'vitest';
import { createMsChapV2Server } from '../../../src/eap/mschapv2/mschapv2.js';
import { generateNtResponse, hashNtPasswordHash, msk, ntPasswordHash } from '../../../src/eap/mschapv2/chap-ms.js';
import { EapCode, EapType } from '../../../src/ike/constants.js';
import type { EapPacket } from '../../../src/eap/packet.js';
import type { Rng } from '../../../src/crypto/random.js';
import { fromHex, toHex, utf8 } from '../../../src/crypto/bytes.js';

// RFC 2759 §9.2: the server's AuthenticatorChallenge comes from this Rng.
const authenticatorChallenge = fromHex('5B5D7C7D7B3F2F3E3C2C602132262628');
const peerChallenge = fromHex('21402324255E262A28295F2B3A337C7E');
function rfcRng(): Rng {
  let first = true;
  return {
    bytes(n: number) {
      if (first && n === 16) {
        first = false;
        return authenticatorChallenge.slice();
      }
      return new Uint8Array(n).fill(0x11);
    },
  };
}

const res = (identifier: number, data: Uint8Array): EapPacket => ({ code: EapCode.RESPONSE, identifier, type: EapType.MSCHAPV2, data });

function responseBody(msChapId: number, ntResponse: Uint8Array, name: string, lengthDelta = 0, valueSize = 49): Uint8Array {
  const n = utf8(name);
  const out = new Uint8Array(54 + n.length);
  const msLength = out.length + lengthDelta;
  out.set([2, msChapId, msLength >> 8, msLength & 0xff, valueSize]);
  out.set(peerChallenge, 5);
  out.set(ntResponse, 29);
  out.set(n, 54);
  return out;
}

const server = (identity = 'User') =>
  createMsChapV2Server({ identity, secretFor: (u) => (u === 'User' ? { password: utf8('clientPass') } : undefined), rng: rfcRng() });

describe('EAP-MSCHAPv2 server with the RFC 2759 §9.2 values', () => {
  it('Challenge → Response → Success Request "S=407A…" → Success Response → MSK', async () => {
    const m = server();
    const ch = await m.start(0x42);
    expect(ch).toMatchObject({ code: EapCode.REQUEST, identifier: 0x42, type: EapType.MSCHAPV2 });
    // OpCode 1, MS-CHAPv2-ID 0x42, MS-Length 28, Value-Size 16, challenge, "ikegate"
    expect(toHex(ch.data)).toBe(`0142001c10${toHex(authenticatorChallenge)}${toHex(utf8('ikegate'))}`);

    const nt = fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
    const step = await m.process(res(0x42, responseBody(0x42, nt, 'User')));
    expect(step.kind).toBe('request');
    if (step.kind !== 'request') return;
    const d = step.packet.data;
    expect(d[0]).toBe(3);
    expect(d[1]).toBe(0x42);
    expect((d[2]! << 8) | d[3]!).toBe(d.length);
    expect(new TextDecoder().decode(d.subarray(4))).toBe('S=407A5589115FD0D6209F510FE9C04566932CDA56 M=Welcome to ikegate');

    const done = await m.process(res(0x43, Uint8Array.of(3)));
    expect(done.kind).toBe('success');
    if (done.kind !== 'success') return;
    expect(done.identity).toBe('User');
    // RFC 3079 §3.5.3 SendStartKey128 sits at MSK[16..32] (MasterSendKey of the server).
    expect(toHex(done.msk!.subarray(16, 32)).toUpperCase()).toBe('8B7CDC149B993A1BA118CB153F56DCCB');
    expect(toHex(done.msk!)).toBe(toHex(msk(fromHex('41C00C584BD2D91C4017A2A12FA59F3F'), nt)));
  });

  it('a stored NT hash gives the same result', async () => {
    const m = createMsChapV2Server({ identity: 'User', secretFor: () => ({ ntHash: fromHex('44EBBA8D5312B8D611474411F56989AE') }), rng: rfcRng() });
    await m.start(1);
    const step = await m.process(res(1, responseBody(1, fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF'), 'User')));
    expect(step.kind).toBe('request');
    if (step.kind === 'request') expect(new TextDecoder().decode(step.packet.data.subarray(4, 46))).toBe('S=407A5589115FD0D6209F510FE9C04566932CDA56');
  });

  it('DOMAIN\\User: ChallengeHash over "User" only (RFC 2759 §4)', async () => {
    const m = server('WORKGROUP\\User');
    await m.start(1);
    const step = await m.process(res(1, responseBody(1, fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF'), 'WORKGROUP\\User')));
    expect(step.kind).toBe('request');
    if (step.kind === 'request') expect(step.packet.data[0]).toBe(3);
  });

  it('a peer that rejects our authenticator (Failure Response after Success Request) fails', async () => {
    const m = server();
    await m.start(1);
    await m.process(res(1, responseBody(1, fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF'), 'User')));
    const out = await m.process(res(2, Uint8Array.of(4)));
    expect(out).toEqual({ kind: 'failure', reason: 'EAP-MSCHAPv2: peer rejected our authenticator response' });
  });

  it('wrong NT-Response → Failure Request "E=691 R=0 C=<32 hex> V=3 M=…" → Failure Response → failure', async () => {
    const m = server();
    await m.start(7);
    const wrong = generateNtResponse(authenticatorChallenge, peerChallenge, 'User', ntPasswordHash('other'));
    const step = await m.process(res(7, responseBody(7, wrong, 'User')));
    expect(step.kind).toBe('request');
    if (step.kind !== 'request') return;
    expect(step.packet.data[0]).toBe(4);
    expect(step.packet.data[1]).toBe(7);
    expect(new TextDecoder().decode(step.packet.data.subarray(4))).toMatch(/^E=691 R=0 C=[0-9A-F]{32} V=3 M=Authentication failed$/);
    const out = await m.process(res(8, Uint8Array.of(4)));
    expect(out.kind).toBe('failure');
    if (out.kind === 'failure') expect(out.reason).toBe("EAP-MSCHAPv2: wrong password for 'User'");
  });

  it('checks MS-CHAPv2-ID, MS-Length and Value-Size', async () => {
    const nt = fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
    const cases: [Uint8Array, RegExp][] = [
      [responseBody(2, nt, 'User'), /MS-CHAPv2-ID 2 does not match 1/],
      [responseBody(1, nt, 'User', 1), /MS-Length/],
      [responseBody(1, nt, 'User', 0, 48), /Value-Size 48/],
    ];
    for (const [body, reason] of cases) {
      const m = server();
      await m.start(1);
      const out = await m.process(res(1, body));
      expect(out.kind).toBe('failure');
      if (out.kind === 'failure') expect(out.reason).toMatch(reason);
    }
  });

  it('the MSK wire layout matches the peer-side derivation (both ends compute the same 64 octets)', () => {
    const hash = ntPasswordHash('clientPass');
    const nt = generateNtResponse(authenticatorChallenge, peerChallenge, 'User', hash);
    expect(msk(hashNtPasswordHash(hash), nt).length).toBe(64);
  });
});
