// EAP-MSCHAPv2 server (EAP Type 26), draft-kamath-pppext-eap-mschapv2-02 §2 carrying the
// MS-CHAP-v2 exchange of RFC 2759 §3–§6; MSK per RFC 3079 §3.4 as Windows/strongSwan build it
// (chap-ms.ts msk()).
//
//   Challenge Request  (OpCode 1)  server → peer: AuthenticatorChallenge, server Name
//   Response           (OpCode 2)  peer → server: PeerChallenge, NT-Response, Flags, Name
//   Success Request    (OpCode 3)  "S=<AuthenticatorResponse> M=<message>"
//   Success Response   (OpCode 3)  → method success with the MSK
//   Failure Request    (OpCode 4)  "E=691 R=0 C=<challenge> V=3 M=<message>"  (no retry)
//   Failure Response   (OpCode 4)  → method failure
//
// Type-Data of every Request and of the peer's Response (the EAP header and Type precede it):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |    OpCode     |  MS-CHAPv2-ID |           MS-Length           |
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Value-Size   |  Value ...  (Challenge: 16, Response: 49)  |  Name ...
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   Response Value (49): Peer-Challenge (16) | Reserved (8, zero) | NT-Response (24) | Flags (1)
//   Success/Failure Request: OpCode | MS-CHAPv2-ID | MS-Length | Message
//   Success/Failure Response: OpCode only.
// MS-Length = EAP Length - 5 (= the Type-Data length).
//
// "DOMAIN\user": the domain is stripped before ChallengeHash (RFC 2759 §4, strongSwan
// extract_username) and the secret is looked up by the user part. An unknown user is answered
// exactly like a wrong password, after the same computation against a random stand-in NT hash.
import { EapCode, EapType } from '../../ike/constants.js';
import type { Rng } from '../../crypto/random.js';
import { ctEqual, toHex, utf8, wipe } from '../../crypto/bytes.js';
import type { Logger } from '../../log/logger.js';
import type { EapPacket } from '../packet.js';
import type { EapServerMethod, EapStep } from '../method.js';
import { splitDomainUser } from '../identity.js';
import {
  AUTHENTICATOR_CHALLENGE_LEN,
  NT_HASH_LEN,
  authenticatorResponseFromHashHash,
  generateNtResponse,
  hashNtPasswordHash,
  msk as generateMsk,
  ntPasswordHash,
} from './chap-ms.js';

export const MsChapV2OpCode = { CHALLENGE: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4, CHANGE_PASSWORD: 7 } as const;

/** RFC 2759 §6 error codes. */
export const ERROR_AUTHENTICATION_FAILURE = 691;

export const MSCHAPV2_SERVER_NAME = 'ikegate';
const RESPONSE_VALUE_SIZE = 49;
const SUCCESS_MESSAGE = 'Welcome to ikegate';
const FAILURE_MESSAGE = 'Authentication failed';

export interface MsChapV2Secret {
  password?: Uint8Array;
  ntHash?: Uint8Array;
}

export interface MsChapV2ServerOptions {
  /** The EAP identity (after the Identity round), possibly "DOMAIN\user". */
  identity: string;
  /** Secret of a user part (no domain); undefined = unknown user. */
  secretFor(user: string): MsChapV2Secret | undefined;
  /** When set, the identity's domain must equal it (case-insensitive). */
  requireDomain?: string;
  rng: Rng;
  log?: Logger;
  serverName?: string;
}

type State =
  | { kind: 'challenge-sent'; challenge: Uint8Array; msChapId: number }
  | { kind: 'success-sent'; msk: Uint8Array; identity: string }
  | { kind: 'failure-sent'; reason: string }
  | { kind: 'done' };

function typeData(opCode: number, msChapId: number, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + body.length);
  out[0] = opCode;
  out[1] = msChapId;
  out[2] = out.length >>> 8;
  out[3] = out.length & 0xff;
  out.set(body, 4);
  return out;
}

const request = (identifier: number, data: Uint8Array): EapPacket => ({ code: EapCode.REQUEST, identifier, type: EapType.MSCHAPV2, data });

class MsChapV2Server implements EapServerMethod {
  readonly type = EapType.MSCHAPV2;
  readonly name = 'EAP-MSCHAPv2';
  private state: State | undefined;

  constructor(private readonly opts: MsChapV2ServerOptions) {}

  start(identifier: number): EapPacket {
    if (this.state) throw new Error('EAP-MSCHAPv2 started twice');
    const challenge = this.opts.rng.bytes(AUTHENTICATOR_CHALLENGE_LEN);
    const msChapId = identifier; // strongSwan and hostapd start MS-CHAPv2-ID at the EAP Identifier
    const name = utf8(this.opts.serverName ?? MSCHAPV2_SERVER_NAME);
    const body = new Uint8Array(1 + challenge.length + name.length);
    body[0] = challenge.length; // Value-Size
    body.set(challenge, 1);
    body.set(name, 1 + challenge.length);
    this.state = { kind: 'challenge-sent', challenge, msChapId };
    return request(identifier, typeData(MsChapV2OpCode.CHALLENGE, msChapId, body));
  }

  async process(response: EapPacket): Promise<EapStep> {
    const state = this.state;
    const d = response.data;
    if (!state || state.kind === 'done') return { kind: 'failure', reason: 'EAP-MSCHAPv2: response without an outstanding request' };
    if (d.length < 1) return this.fail('EAP-MSCHAPv2: empty response');
    const opCode = d[0]!;

    switch (state.kind) {
      case 'challenge-sent':
        if (opCode !== MsChapV2OpCode.RESPONSE) return this.fail(`EAP-MSCHAPv2: expected a Response (OpCode 2), got OpCode ${opCode}`);
        return this.verify(state, response);
      case 'success-sent':
        if (opCode === MsChapV2OpCode.SUCCESS) {
          this.state = { kind: 'done' };
          return { kind: 'success', msk: state.msk, identity: state.identity };
        }
        wipe(state.msk);
        return this.fail(
          opCode === MsChapV2OpCode.FAILURE
            ? 'EAP-MSCHAPv2: peer rejected our authenticator response'
            : `EAP-MSCHAPv2: expected a Success Response (OpCode 3), got OpCode ${opCode}`,
        );
      case 'failure-sent':
        if (opCode === MsChapV2OpCode.FAILURE) return this.fail(state.reason);
        return this.fail(`${state.reason}; then unexpected OpCode ${opCode} after the Failure Request`);
    }
  }

  close(): void {
    if (this.state?.kind === 'success-sent') wipe(this.state.msk);
    this.state = { kind: 'done' };
  }

  private fail(reason: string): EapStep {
    this.state = { kind: 'done' };
    return { kind: 'failure', reason };
  }

  private verify(state: Extract<State, { kind: 'challenge-sent' }>, response: EapPacket): EapStep {
    const d = response.data;
    // OpCode, MS-CHAPv2-ID, MS-Length (2), Value-Size, Value (49), Name (≥ 0)
    if (d.length < 5 + RESPONSE_VALUE_SIZE) return this.fail(`EAP-MSCHAPv2: Response of ${d.length} octets is too short`);
    const msChapId = d[1]!;
    const msLength = (d[2]! << 8) | d[3]!;
    const valueSize = d[4]!;
    if (msChapId !== state.msChapId) return this.fail(`EAP-MSCHAPv2: MS-CHAPv2-ID ${msChapId} does not match ${state.msChapId}`);
    if (msLength !== d.length) return this.fail(`EAP-MSCHAPv2: MS-Length ${msLength} disagrees with the ${d.length} octets received`);
    if (valueSize !== RESPONSE_VALUE_SIZE) return this.fail(`EAP-MSCHAPv2: Value-Size ${valueSize} (must be 49)`);
    const peerChallenge = d.subarray(5, 21);
    const ntResponse = d.subarray(29, 53);
    const nameBytes = d.subarray(5 + RESPONSE_VALUE_SIZE);
    const name = new TextDecoder('utf-8', { fatal: false }).decode(nameBytes);

    // Domain handling: ChallengeHash uses the Name exactly as the peer sent it, domain removed.
    const fromName = splitDomainUser(name);
    const fromIdentity = splitDomainUser(this.opts.identity);
    const slash = nameBytes.indexOf(0x5c);
    const hashedUser = slash < 0 ? nameBytes : nameBytes.subarray(slash + 1);

    // Every reason to refuse is decided first, then the same computation runs in every case.
    let refusal: string | undefined;
    if (fromName.user.toLowerCase() !== fromIdentity.user.toLowerCase()) {
      refusal = `EAP-MSCHAPv2: Name '${name}' does not match the EAP identity '${this.opts.identity}'`;
    } else if (fromName.domain !== undefined && fromIdentity.domain !== undefined && fromName.domain.toLowerCase() !== fromIdentity.domain.toLowerCase()) {
      refusal = `EAP-MSCHAPv2: domain of Name '${name}' does not match the EAP identity '${this.opts.identity}'`;
    } else if (this.opts.requireDomain !== undefined && (fromIdentity.domain ?? '').toLowerCase() !== this.opts.requireDomain.toLowerCase()) {
      refusal = `EAP-MSCHAPv2: identity '${this.opts.identity}' is not in the required domain '${this.opts.requireDomain}'`;
    }

    const user = fromIdentity.user;
    const secret = refusal === undefined ? this.opts.secretFor(user) : undefined;
    let passwordHash: Uint8Array | undefined;
    if (secret?.ntHash !== undefined && secret.ntHash.length === NT_HASH_LEN) passwordHash = secret.ntHash.slice();
    else if (secret?.password !== undefined) passwordHash = ntPasswordHash(secret.password);
    if (refusal === undefined && passwordHash === undefined) {
      refusal = secret === undefined ? `EAP-MSCHAPv2: unknown user '${user}'` : `EAP-MSCHAPv2: no usable secret for '${user}'`;
    }
    // Stand-in: the hash of a random password, so an unknown user costs the same MD4 as a known one.
    if (passwordHash === undefined) {
      const standIn = this.opts.rng.bytes(16);
      passwordHash = ntPasswordHash(standIn);
      wipe(standIn);
    }

    const expected = generateNtResponse(state.challenge, peerChallenge, hashedUser, passwordHash);
    const matches = ctEqual(expected, ntResponse);
    const passwordHashHash = hashNtPasswordHash(passwordHash);
    const authenticatorResponse = authenticatorResponseFromHashHash(passwordHashHash, ntResponse, peerChallenge, state.challenge, hashedUser);
    const key = generateMsk(passwordHashHash, ntResponse);
    wipe(passwordHash, passwordHashHash, expected);

    if (matches && refusal === undefined) {
      this.state = { kind: 'success-sent', msk: key, identity: user };
      this.opts.log?.debug({ user }, 'EAP-MSCHAPv2 NT-Response verified');
      const body = utf8(`${authenticatorResponse} M=${SUCCESS_MESSAGE}`);
      return { kind: 'request', packet: request(response.identifier, typeData(MsChapV2OpCode.SUCCESS, msChapId, body)) };
    }
    wipe(key, state.challenge);
    const reason = refusal ?? `EAP-MSCHAPv2: wrong password for '${user}'`;
    this.state = { kind: 'failure-sent', reason };
    // Logged now: Windows and strongSwan clients do not answer the Failure Request, they give up.
    this.opts.log?.warn({ user }, `EAP-MSCHAPv2 authentication failed: ${reason}`);
    // R=0: no retry (Windows 7 mishandles R=1 retries); C= a fresh challenge as RFC 2759 §6 wants.
    const nextChallenge = this.opts.rng.bytes(AUTHENTICATOR_CHALLENGE_LEN);
    const body = utf8(`E=${ERROR_AUTHENTICATION_FAILURE} R=0 C=${toHex(nextChallenge).toUpperCase()} V=3 M=${FAILURE_MESSAGE}`);
    return { kind: 'request', packet: request(response.identifier, typeData(MsChapV2OpCode.FAILURE, msChapId, body)) };
  }
}

export function createMsChapV2Server(opts: MsChapV2ServerOptions): EapServerMethod {
  return new MsChapV2Server(opts);
}
