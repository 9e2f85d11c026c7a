// EAP-MD5-Challenge server (src/eap/md5.ts): RFC 3748 §5.4 packet layout, RFC 1994 §4.1 value
// MD5(Identifier ‖ secret ‖ Challenge), one round, no MSK.
import { describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createMd5Server, md5ChallengeResponse } from '../../../src/eap/md5.js';
import { EapCode, EapType } from '../../../src/ike/constants.js';
import { seededRng } from '../../../src/crypto/random.js';
import { toHex, utf8 } from '../../../src/crypto/bytes.js';

const users: Record<string, { password?: Uint8Array; ntHash?: Uint8Array }> = { alice: { password: utf8('secret') }, bob: { ntHash: new Uint8Array(16) } };

async function attempt(identity: string, password: string): Promise<string> {
  const m = createMd5Server({ identity, secretFor: (id) => users[id], rng: seededRng('md5') });
  const req = await m.start(0x33);
  expect(req).toMatchObject({ code: EapCode.REQUEST, identifier: 0x33, type: EapType.MD5 });
  expect(req.data[0]).toBe(16);
  expect(new TextDecoder().decode(req.data.subarray(17))).toBe('ikegate');
  const value = md5ChallengeResponse(0x33, utf8(password), req.data.subarray(1, 17));
  const step = await m.process({ code: EapCode.RESPONSE, identifier: 0x33, type: EapType.MD5, data: Uint8Array.of(16, ...value) });
  if (step.kind === 'success') expect(step.msk).toBeUndefined();
  return step.kind === 'failure' ? step.reason : step.kind;
}

describe('EAP-MD5-Challenge', () => {
  it('Value = MD5(Identifier ‖ secret ‖ Challenge) (RFC 1994 §4.1)', () => {
    const ch = Uint8Array.from({ length: 16 }, (_, i) => i);
    const expected = createHash('md5').update(Buffer.concat([Buffer.of(9), Buffer.from('pw'), Buffer.from(ch)])).digest('hex');
    expect(toHex(md5ChallengeResponse(9, utf8('pw'), ch))).toBe(expected);
  });

  it('success with the right password, failure otherwise', async () => {
    expect(await attempt('alice', 'secret')).toBe('success');
    expect(await attempt('alice', 'Secret')).toMatch(/wrong password/);
    expect(await attempt('nobody', 'secret')).toMatch(/unknown user/);
    expect(await attempt('bob', 'x')).toMatch(/no plaintext password/);
  });

  it('rejects malformed responses and a second response', async () => {
    const m = createMd5Server({ identity: 'alice', secretFor: (id) => users[id], rng: seededRng('md5') });
    await m.start(1);
    expect((await m.process({ code: EapCode.RESPONSE, identifier: 1, type: EapType.MD5, data: Uint8Array.of(15, 1, 2) })).kind).toBe('failure');
    expect((await m.process({ code: EapCode.RESPONSE, identifier: 1, type: EapType.MD5, data: new Uint8Array(17).fill(16) })).kind).toBe('failure');
  });
});
