// MS-CHAPv2 computations: RFC 2759 §8 (GenerateNTResponse, ChallengeHash, NtPasswordHash,
// HashNtPasswordHash, ChallengeResponse, DesEncrypt, GenerateAuthenticatorResponse,
// CheckAuthenticatorResponse) and RFC 3079 §3.4 (GetMasterKey, GetAsymmetricStartKey), plus
// the 64-octet EAP-MSCHAPv2 MSK used by IKEv2 (RFC 7296 §2.16). Names follow the RFCs.
//
// Deviation from the RFC signatures: functions that take "Password" in RFC 2759 take the
// PasswordHash (NtPasswordHash output) here, because a server may store only the NT hash
// (strongSwan `ntlm`/`nt_hash` secrets). Call ntPasswordHash() first for a plaintext password.
import { createHash } from 'node:crypto';
import { md4 } from '../../crypto/md4.js';
import { desEncrypt as desEncrypt56 } from '../../crypto/des.js';
import { concat, ctEqual, toHex, utf8 } from '../../crypto/bytes.js';

export const AUTHENTICATOR_CHALLENGE_LEN = 16;
export const PEER_CHALLENGE_LEN = 16;
export const NT_RESPONSE_LEN = 24;
export const NT_HASH_LEN = 16;
export const MSK_LEN = 64;

// RFC 2759 §8.7 Magic1 "Magic server to client signing constant",
// Magic2 "Pad to make it do more than one iteration".
const AUTH_MAGIC1 = utf8('Magic server to client signing constant');
const AUTH_MAGIC2 = utf8('Pad to make it do more than one iteration');
// RFC 3079 §3.4 Magic1..3 and SHSpad1/SHSpad2.
const KEY_MAGIC1 = utf8('This is the MPPE Master Key');
const KEY_MAGIC2 = utf8('On the client side, this is the send key; on the server side, it is the receive key.');
const KEY_MAGIC3 = utf8('On the client side, this is the receive key; on the server side, it is the send key.');
const SHS_PAD1 = new Uint8Array(40);
const SHS_PAD2 = new Uint8Array(40).fill(0xf2);

function sha1(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
}

const nameBytes = (userName: string | Uint8Array): Uint8Array => (typeof userName === 'string' ? utf8(userName) : userName);

function expectLen(what: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new RangeError(`${what} must be ${n} octets, got ${b.length}`);
}

/**
 * Converts a UTF-8 password to UTF-16LE ("Password is 0 to 256 unicode characters", RFC 2759
 * §8.3) without building a JS string, so the caller can wipe both buffers. Invalid sequences
 * become U+FFFD, as TextDecoder would do.
 */
export function utf8ToUtf16le(u8: Uint8Array): Uint8Array {
  const out = new Uint8Array(u8.length * 2 + 2);
  let o = 0;
  const put = (unit: number): void => {
    out[o++] = unit & 0xff;
    out[o++] = unit >>> 8;
  };
  let i = 0;
  while (i < u8.length) {
    const b0 = u8[i]!;
    let cp = 0xfffd;
    let need = 0;
    let min = 0;
    if (b0 < 0x80) {
      cp = b0;
    } else if (b0 >= 0xc2 && b0 < 0xe0) {
      cp = b0 & 0x1f;
      need = 1;
      min = 0x80;
    } else if (b0 >= 0xe0 && b0 < 0xf0) {
      cp = b0 & 0x0f;
      need = 2;
      min = 0x800;
    } else if (b0 >= 0xf0 && b0 < 0xf5) {
      cp = b0 & 0x07;
      need = 3;
      min = 0x10000;
    }
    i++;
    if (b0 >= 0x80 && need === 0) {
      put(0xfffd);
      continue;
    }
    let ok = true;
    for (let k = 0; k < need; k++) {
      const b = u8[i];
      if (b === undefined || (b & 0xc0) !== 0x80) {
        ok = false;
        break;
      }
      cp = (cp << 6) | (b & 0x3f);
      i++;
    }
    if (!ok || (need > 0 && (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)))) {
      put(0xfffd);
      continue;
    }
    if (cp >= 0x10000) {
      const v = cp - 0x10000;
      put(0xd800 | (v >>> 10));
      put(0xdc00 | (v & 0x3ff));
    } else {
      put(cp);
    }
  }
  const result = out.slice(0, o);
  out.fill(0);
  return result;
}

/**
 * RFC 2759 §8.3 NtPasswordHash(Password): MD4 of the UTF-16LE password. A string is encoded
 * directly; a Uint8Array is taken as UTF-8 (how ikegate stores plaintext EAP secrets).
 */
export function ntPasswordHash(password: string | Uint8Array): Uint8Array {
  let unicode: Uint8Array;
  if (typeof password === 'string') {
    unicode = new Uint8Array(password.length * 2);
    for (let i = 0; i < password.length; i++) {
      const u = password.charCodeAt(i);
      unicode[2 * i] = u & 0xff;
      unicode[2 * i + 1] = u >>> 8;
    }
  } else {
    unicode = utf8ToUtf16le(password);
  }
  try {
    return md4(unicode);
  } finally {
    unicode.fill(0);
  }
}

/** RFC 2759 §8.4 HashNtPasswordHash(PasswordHash): MD4(PasswordHash). */
export function hashNtPasswordHash(passwordHash: Uint8Array): Uint8Array {
  expectLen('PasswordHash', passwordHash, NT_HASH_LEN);
  return md4(passwordHash);
}

/**
 * RFC 2759 §8.2 ChallengeHash(PeerChallenge, AuthenticatorChallenge, UserName): the first 8
 * octets of SHA1(PeerChallenge ‖ AuthenticatorChallenge ‖ UserName). UserName is the name the
 * peer sent, without any "DOMAIN\" prefix.
 */
export function challengeHash(peerChallenge: Uint8Array, authenticatorChallenge: Uint8Array, userName: string | Uint8Array): Uint8Array {
  expectLen('PeerChallenge', peerChallenge, PEER_CHALLENGE_LEN);
  expectLen('AuthenticatorChallenge', authenticatorChallenge, AUTHENTICATOR_CHALLENGE_LEN);
  return sha1(peerChallenge, authenticatorChallenge, nameBytes(userName)).slice(0, 8);
}

/** RFC 2759 §8.6 DesEncrypt(Clear, Key): single DES-ECB with a 7-octet key. */
export function desEncrypt(clear: Uint8Array, key7: Uint8Array): Uint8Array {
  return desEncrypt56(clear, key7);
}

/**
 * RFC 2759 §8.5 ChallengeResponse(Challenge, PasswordHash): PasswordHash zero-padded to 21
 * octets, split into three 7-octet DES keys, each encrypting the 8-octet Challenge.
 */
export function challengeResponse(challenge: Uint8Array, passwordHash: Uint8Array): Uint8Array {
  expectLen('Challenge', challenge, 8);
  expectLen('PasswordHash', passwordHash, NT_HASH_LEN);
  const zPasswordHash = new Uint8Array(21);
  zPasswordHash.set(passwordHash);
  try {
    return concat(
      desEncrypt(challenge, zPasswordHash.subarray(0, 7)),
      desEncrypt(challenge, zPasswordHash.subarray(7, 14)),
      desEncrypt(challenge, zPasswordHash.subarray(14, 21)),
    );
  } finally {
    zPasswordHash.fill(0);
  }
}

/**
 * RFC 2759 §8.1 GenerateNTResponse(AuthenticatorChallenge, PeerChallenge, UserName, Password),
 * taking PasswordHash = NtPasswordHash(Password) instead of Password (see the file header).
 */
export function generateNtResponse(
  authenticatorChallenge: Uint8Array,
  peerChallenge: Uint8Array,
  userName: string | Uint8Array,
  passwordHash: Uint8Array,
): Uint8Array {
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  return challengeResponse(challenge, passwordHash);
}

/** The 20 octets behind "S=" (RFC 2759 §8.7), from PasswordHashHash. */
function authenticatorDigest(
  passwordHashHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string | Uint8Array,
): Uint8Array {
  expectLen('NT-Response', ntResponse, NT_RESPONSE_LEN);
  const digest = sha1(passwordHashHash, ntResponse, AUTH_MAGIC1);
  const challenge = challengeHash(peerChallenge, authenticatorChallenge, userName);
  return sha1(digest, challenge, AUTH_MAGIC2);
}

/**
 * RFC 2759 §8.7 GenerateAuthenticatorResponse(Password, NT-Response, PeerChallenge,
 * AuthenticatorChallenge, UserName) → "S=" followed by 40 uppercase hex digits; takes
 * PasswordHash instead of Password.
 */
export function generateAuthenticatorResponse(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string | Uint8Array,
): string {
  const passwordHashHash = hashNtPasswordHash(passwordHash);
  try {
    return authenticatorResponseFromHashHash(passwordHashHash, ntResponse, peerChallenge, authenticatorChallenge, userName);
  } finally {
    passwordHashHash.fill(0);
  }
}

/** GenerateAuthenticatorResponse from an already computed PasswordHashHash (the server has it anyway for the MSK). */
export function authenticatorResponseFromHashHash(
  passwordHashHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string | Uint8Array,
): string {
  const digest = authenticatorDigest(passwordHashHash, ntResponse, peerChallenge, authenticatorChallenge, userName);
  return `S=${toHex(digest).toUpperCase()}`;
}

/**
 * RFC 2759 §8.8 CheckAuthenticatorResponse(...): the peer's check of the "S=" string it
 * received (used by test clients). Compares in constant time; accepts lowercase hex too.
 */
export function checkAuthenticatorResponse(
  passwordHash: Uint8Array,
  ntResponse: Uint8Array,
  peerChallenge: Uint8Array,
  authenticatorChallenge: Uint8Array,
  userName: string | Uint8Array,
  receivedResponse: string,
): boolean {
  const mine = generateAuthenticatorResponse(passwordHash, ntResponse, peerChallenge, authenticatorChallenge, userName);
  return ctEqual(utf8(mine), utf8(receivedResponse.length === 42 ? `S=${receivedResponse.slice(2).toUpperCase()}` : receivedResponse));
}

/** RFC 3079 §3.4 GetMasterKey(PasswordHashHash, NTResponse): SHA1(… ‖ Magic1), first 16 octets. */
export function getMasterKey(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  expectLen('PasswordHashHash', passwordHashHash, NT_HASH_LEN);
  expectLen('NT-Response', ntResponse, NT_RESPONSE_LEN);
  return sha1(passwordHashHash, ntResponse, KEY_MAGIC1).slice(0, 16);
}

/**
 * RFC 3079 §3.4 GetAsymmetricStartKey(MasterKey, SessionKeyLength, IsSend, IsServer):
 * SHA1(MasterKey ‖ SHSpad1 ‖ s ‖ SHSpad2) truncated, s = Magic3 for the server's send key and
 * the client's receive key, Magic2 otherwise.
 */
export function getAsymmetricStartKey(masterKey: Uint8Array, sessionKeyLength: 8 | 16, isSend: boolean, isServer: boolean): Uint8Array {
  expectLen('MasterKey', masterKey, 16);
  const s = isSend === isServer ? KEY_MAGIC3 : KEY_MAGIC2;
  return sha1(masterKey, SHS_PAD1, s, SHS_PAD2).slice(0, sessionKeyLength);
}

/**
 * The 64-octet EAP-MSCHAPv2 MSK as Windows and strongSwan build it:
 *   MSK = MasterReceiveKey ‖ MasterSendKey ‖ 32 zero octets
 * with the 16-octet keys from the authenticator's (server's) point of view, RFC 3079 §3.4.
 * Sources: Microsoft [MS-CHAP] key-management page ("MSK = MasterReceiveKey + MasterSendKey +
 * 32 bytes zeroes (padding)", learn.microsoft.com/en-us/openspecs/windows_protocols/ms-chap/
 * 5a860bf5-2aeb-485b-82ee-fac1e8e6b76f); strongSwan eap_mschapv2.c GenerateMSK()
 * (receive key from Magic2, send key from Magic3, then two 16-octet zero pads). Both ends
 * compute the same bytes: the client's send key is the server's receive key.
 */
export function msk(passwordHashHash: Uint8Array, ntResponse: Uint8Array): Uint8Array {
  const masterKey = getMasterKey(passwordHashHash, ntResponse);
  const masterReceiveKey = getAsymmetricStartKey(masterKey, 16, false, true);
  const masterSendKey = getAsymmetricStartKey(masterKey, 16, true, true);
  const out = new Uint8Array(MSK_LEN);
  out.set(masterReceiveKey, 0);
  out.set(masterSendKey, 16);
  masterKey.fill(0);
  masterReceiveKey.fill(0);
  masterSendKey.fill(0);
  return out;
}
