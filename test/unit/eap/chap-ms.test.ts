// MS-CHAPv2 computations (src/eap/mschapv2/chap-ms.ts) against RFC 2759 §9.2 (complete worked
// example) and RFC 3079 §3.5.3 (128-bit key derivation from the same exchange).
import { describe, expect, it } from 'vitest';
import {
  challengeHash,
  challengeResponse,
  checkAuthenticatorResponse,
  generateAuthenticatorResponse,
  generateNtResponse,
  getAsymmetricStartKey,
  getMasterKey,
  hashNtPasswordHash,
  msk,
  ntPasswordHash,
  utf8ToUtf16le,
} from '../../../src/eap/mschapv2/chap-ms.js';
import { fromHex, toHex, utf8 } from '../../../src/crypto/bytes.js';

const H = (b: Uint8Array): string => toHex(b).toUpperCase();

// RFC 2759 §9.2 "Hash Example" inputs.
const userName = 'User';
const password = 'clientPass';
const authenticatorChallenge = fromHex('5B5D7C7D7B3F2F3E3C2C602132262628');
const peerChallenge = fromHex('21402324255E262A28295F2B3A337C7E');

describe('RFC 2759 §9.2 worked example', () => {
  it('ChallengeHash = D02E4386BCE91226', () => {
    expect(H(challengeHash(peerChallenge, authenticatorChallenge, userName))).toBe('D02E4386BCE91226');
    expect(H(challengeHash(peerChallenge, authenticatorChallenge, utf8(userName)))).toBe('D02E4386BCE91226');
  });

  it('NtPasswordHash = 44EBBA8D5312B8D611474411F56989AE (string and UTF-8 bytes)', () => {
    expect(H(ntPasswordHash(password))).toBe('44EBBA8D5312B8D611474411F56989AE');
    expect(H(ntPasswordHash(utf8(password)))).toBe('44EBBA8D5312B8D611474411F56989AE');
  });

  it('PasswordHashHash = 41C00C584BD2D91C4017A2A12FA59F3F', () => {
    expect(H(hashNtPasswordHash(fromHex('44EBBA8D5312B8D611474411F56989AE')))).toBe('41C00C584BD2D91C4017A2A12FA59F3F');
  });

  it('NT-Response = 82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF', () => {
    const hash = ntPasswordHash(password);
    expect(H(challengeResponse(fromHex('D02E4386BCE91226'), hash))).toBe('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
    expect(H(generateNtResponse(authenticatorChallenge, peerChallenge, userName, hash))).toBe('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
  });

  it('AuthenticatorResponse = S=407A5589115FD0D6209F510FE9C04566932CDA56', () => {
    const hash = ntPasswordHash(password);
    const nt = fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');
    expect(generateAuthenticatorResponse(hash, nt, peerChallenge, authenticatorChallenge, userName)).toBe('S=407A5589115FD0D6209F510FE9C04566932CDA56');
    expect(checkAuthenticatorResponse(hash, nt, peerChallenge, authenticatorChallenge, userName, 'S=407A5589115FD0D6209F510FE9C04566932CDA56')).toBe(true);
    expect(checkAuthenticatorResponse(hash, nt, peerChallenge, authenticatorChallenge, userName, 'S=407a5589115fd0d6209f510fe9c04566932cda56')).toBe(true);
    expect(checkAuthenticatorResponse(hash, nt, peerChallenge, authenticatorChallenge, userName, 'S=407A5589115FD0D6209F510FE9C04566932CDA57')).toBe(false);
    expect(checkAuthenticatorResponse(hash, nt, peerChallenge, authenticatorChallenge, userName, '')).toBe(false);
  });
});

describe('RFC 3079 §3.5.3 (128-bit keys from the RFC 2759 example)', () => {
  const passwordHashHash = fromHex('41C00C584BD2D91C4017A2A12FA59F3F');
  const ntResponse = fromHex('82309ECD8D708B5EA08FAA3981CD83544233114A3D85D6DF');

  it('MasterKey = FDECE3717A8C838CB388E527AE3CDD31', () => {
    expect(H(getMasterKey(passwordHashHash, ntResponse))).toBe('FDECE3717A8C838CB388E527AE3CDD31');
  });

  it('SendStartKey128 = 8B7CDC149B993A1BA118CB153F56DCCB (the server\'s send key: IsSend, IsServer → Magic3)', () => {
    const master = fromHex('FDECE3717A8C838CB388E527AE3CDD31');
    expect(H(getAsymmetricStartKey(master, 16, true, true))).toBe('8B7CDC149B993A1BA118CB153F56DCCB');
    // The client's receive key is the same key (RFC 3079 §3.4 table of Magic2/Magic3).
    expect(H(getAsymmetricStartKey(master, 16, false, false))).toBe('8B7CDC149B993A1BA118CB153F56DCCB');
    // RFC 3079 §3.5.2 uses the first 8 octets of the same start key for 56-bit keys.
    expect(H(getAsymmetricStartKey(master, 8, true, true))).toBe('8B7CDC149B993A1B');
  });

  it('the receive direction uses Magic2 and differs from the send key', () => {
    const master = fromHex('FDECE3717A8C838CB388E527AE3CDD31');
    const serverReceive = getAsymmetricStartKey(master, 16, false, true);
    expect(H(serverReceive)).toBe(H(getAsymmetricStartKey(master, 16, true, false))); // = client send
    expect(H(serverReceive)).not.toBe('8B7CDC149B993A1BA118CB153F56DCCB');
    // Not printed in RFC 3079; the value other MS-CHAPv2 implementations' tests carry for this
    // example (computed here with the RFC 3079 §3.4 pseudo-code).
    expect(H(serverReceive)).toBe('D5F0E9521E3EA9589645E86051C82226');
  });

  it('MSK = MasterReceiveKey ‖ MasterSendKey ‖ 32 zero octets ([MS-CHAP] MSK derivation; strongSwan GenerateMSK)', () => {
    const key = msk(passwordHashHash, ntResponse);
    expect(key.length).toBe(64);
    expect(H(key.subarray(0, 16))).toBe('D5F0E9521E3EA9589645E86051C82226');
    expect(H(key.subarray(16, 32))).toBe('8B7CDC149B993A1BA118CB153F56DCCB');
    expect([...key.subarray(32)].every((b) => b === 0)).toBe(true);
  });
});

describe('password encoding (RFC 2759 §8.3: Unicode password)', () => {
  it('UTF-8 → UTF-16LE handles BMP, astral and invalid input', () => {
    expect(toHex(utf8ToUtf16le(utf8('aé€')))).toBe('6100e900ac20');
    expect(toHex(utf8ToUtf16le(utf8('😀')))).toBe('3dd800de');
    expect(toHex(utf8ToUtf16le(Uint8Array.of(0x61, 0xff, 0x62)))).toBe('6100fdff6200');
    expect(toHex(utf8ToUtf16le(Uint8Array.of(0xe2, 0x82)))).toBe('fdff');
  });

  it('the UTF-8 and string paths agree for non-ASCII passwords', () => {
    for (const pw of ['Pässwörd', '密码', 'x😀y']) expect(toHex(ntPasswordHash(utf8(pw)))).toBe(toHex(ntPasswordHash(pw)));
  });
});
