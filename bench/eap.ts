// EAP-MSCHAPv2 server cost: one verification as the server does it (src/eap/mschapv2/chap-ms.ts),
// i.e. NtPasswordHash of a plaintext password (or a stored NT hash), the expected NT-Response
// (ChallengeHash + 3 DES via 3DES K‖K‖K), the Success "S=" AuthenticatorResponse and the 64-octet
// MSK (RFC 2759 §8, RFC 3079 §3.4). Compare with crypto-costs.md §2 "EAP-MSCHAPv2" (25–34 µs).
import { randomBytes } from 'node:crypto';
import { ctEqual, utf8 } from '../src/crypto/bytes.js';
import {
  authenticatorResponseFromHashHash,
  generateNtResponse,
  hashNtPasswordHash,
  msk,
  ntPasswordHash,
} from '../src/eap/mschapv2/chap-ms.js';
import type { BenchCase } from './crypto.js';

const rnd = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

export function eapBenches(): BenchCase[] {
  const password = utf8('correct horse 16'); // 16 characters, as in crypto-costs.md
  const storedHash = ntPasswordHash(password);
  const authenticatorChallenge = rnd(16);
  const peerChallenge = rnd(16);
  const user = 'alice';
  const ntResponse = generateNtResponse(authenticatorChallenge, peerChallenge, user, storedHash);

  const verify = (passwordHash: Uint8Array): unknown => {
    const expected = generateNtResponse(authenticatorChallenge, peerChallenge, user, passwordHash);
    if (!ctEqual(expected, ntResponse)) throw new Error('bench: NT-Response mismatch');
    const hashHash = hashNtPasswordHash(passwordHash);
    const s = authenticatorResponseFromHashHash(hashHash, ntResponse, peerChallenge, authenticatorChallenge, user);
    return msk(hashHash, ntResponse)[s.length & 7];
  };

  return [
    {
      algorithm: 'EAP-MSCHAPv2 server verify + AuthResponse + MSK',
      impl: 'node',
      operation: 'from cleartext password',
      run: () => verify(ntPasswordHash(password)),
    },
    {
      algorithm: 'EAP-MSCHAPv2 server verify + AuthResponse + MSK',
      impl: 'node',
      operation: 'from stored NT hash',
      run: () => verify(storedHash),
    },
  ];
}

