// EAP-MD5-Challenge server (EAP Type 4), RFC 3748 §5.4 with the CHAP computation of RFC 1994
// §4.1: Response Value = MD5(Identifier ‖ secret ‖ Challenge). One round, no MSK (RFC 3748
// §5.4: "does not provide ... key derivation"), so IKEv2 falls back to SK_pi/SK_pr for AUTH
// (RFC 7296 §2.16). Needs the plaintext password.
//
// Type-Data of the Request and the Response (RFC 1994 §4.1):
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
//   |  Value-Size   |  Value ...  |  Name ...
//   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
import { createHash } from 'node:crypto';
import { EapCode, EapType } from '../ike/constants.js';
import type { Rng } from '../crypto/random.js';
import { ctEqual, utf8, wipe } from '../crypto/bytes.js';
import type { Logger } from '../log/logger.js';
import type { EapPacket } from './packet.js';
import type { EapServerMethod, EapStep } from './method.js';

const CHALLENGE_LEN = 16;
const MD5_LEN = 16;

export interface Md5ServerOptions {
  /** The EAP identity; the secret is looked up under it. */
  identity: string;
  secretFor(identity: string): { password?: Uint8Array } | undefined;
  rng: Rng;
  log?: Logger;
  serverName?: string;
}

/** RFC 1994 §4.1 Response Value. */
export function md5ChallengeResponse(identifier: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('md5').update(Uint8Array.of(identifier)).update(secret).update(challenge).digest());
}

class Md5Server implements EapServerMethod {
  readonly type = EapType.MD5;
  readonly name = 'EAP-MD5';
  private challenge: Uint8Array | undefined;

  constructor(private readonly opts: Md5ServerOptions) {}

  start(identifier: number): EapPacket {
    if (this.challenge) throw new Error('EAP-MD5 started twice');
    this.challenge = this.opts.rng.bytes(CHALLENGE_LEN);
    const name = utf8(this.opts.serverName ?? 'ikegate');
    const data = new Uint8Array(1 + CHALLENGE_LEN + name.length);
    data[0] = CHALLENGE_LEN;
    data.set(this.challenge, 1);
    data.set(name, 1 + CHALLENGE_LEN);
    return { code: EapCode.REQUEST, identifier, type: EapType.MD5, data };
  }

  async process(response: EapPacket): Promise<EapStep> {
    const challenge = this.challenge;
    if (!challenge) return { kind: 'failure', reason: 'EAP-MD5: response without a challenge' };
    this.challenge = undefined; // one round only
    const d = response.data;
    if (d.length < 1 + MD5_LEN || d[0] !== MD5_LEN) return { kind: 'failure', reason: `EAP-MD5: malformed response (${d.length} octets, Value-Size ${d[0] ?? '-'})` };
    const value = d.subarray(1, 1 + MD5_LEN);

    const secret = this.opts.secretFor(this.opts.identity);
    const known = secret?.password !== undefined;
    // Unknown user (or one with only an NT hash): the same hash over a random stand-in secret.
    const password = secret?.password ?? this.opts.rng.bytes(16);
    const expected = md5ChallengeResponse(response.identifier, password, challenge);
    const ok = ctEqual(expected, value);
    if (!known) wipe(password);
    wipe(expected, challenge);
    if (ok && known) {
      this.opts.log?.debug({ user: this.opts.identity }, 'EAP-MD5 response verified');
      return { kind: 'success', identity: this.opts.identity };
    }
    const reason = !known
      ? secret === undefined
        ? `EAP-MD5: unknown user '${this.opts.identity}'`
        : `EAP-MD5: no plaintext password for '${this.opts.identity}'`
      : `EAP-MD5: wrong password for '${this.opts.identity}'`;
    return { kind: 'failure', reason };
  }

  close(): void {
    if (this.challenge) wipe(this.challenge);
    this.challenge = undefined;
  }
}

export function createMd5Server(opts: Md5ServerOptions): EapServerMethod {
  return new Md5Server(opts);
}
