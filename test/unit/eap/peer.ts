// A scripted EAP peer for the conversation tests, built from the RFC functions: answers
// EAP-Identity (RFC 3748 §5.1), EAP-MSCHAPv2 (draft-kamath-pppext-eap-mschapv2-02 §2 with
// RFC 2759 §8), EAP-MD5 (RFC 3748 §5.4 / RFC 1994 §4.1), and Naks (RFC 3748 §5.3.1) any type it
// does not accept. Not a test file itself.
import { EapCode, EapType } from '../../../src/ike/constants.js';
import { decodeEap, encodeEap, type EapPacket } from '../../../src/eap/packet.js';
import { splitDomainUser } from '../../../src/eap/identity.js';
import { md5ChallengeResponse } from '../../../src/eap/md5.js';
import {
  checkAuthenticatorResponse,
  generateNtResponse,
  hashNtPasswordHash,
  msk,
  ntPasswordHash,
} from '../../../src/eap/mschapv2/chap-ms.js';
import { utf8 } from '../../../src/crypto/bytes.js';

export interface PeerOptions {
  /** What the peer answers to EAP-Identity (may be ''). */
  identity: string;
  /** MS-CHAPv2 Name; defaults to the identity. */
  name?: string;
  password: string;
  /** EAP types the peer is willing to run, in its preference order (default: MSCHAPv2, MD5). */
  accepts?: number[];
  peerChallenge?: Uint8Array;
}

export class TestPeer {
  readonly seen: EapPacket[] = [];
  authenticatorOk: boolean | undefined;
  msk: Uint8Array | undefined;
  successMessage: string | undefined;
  failureMessage: string | undefined;
  private ntResponse: Uint8Array | undefined;
  private authChallenge: Uint8Array | undefined;
  private readonly peerChallenge: Uint8Array;

  constructor(private readonly o: PeerOptions) {
    this.peerChallenge = o.peerChallenge ?? Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  }

  respond(request: Uint8Array): Uint8Array {
    const req = decodeEap(request);
    this.seen.push(req);
    if (req.code !== EapCode.REQUEST) throw new Error(`peer got code ${req.code}, not a Request`);
    const res = (type: number, data: Uint8Array): Uint8Array => encodeEap({ code: EapCode.RESPONSE, identifier: req.identifier, type, data });
    const accepts = this.o.accepts ?? [EapType.MSCHAPV2, EapType.MD5];
    if (req.type === EapType.IDENTITY) return res(EapType.IDENTITY, utf8(this.o.identity));
    if (req.type === undefined || !accepts.includes(req.type)) return res(EapType.NAK, Uint8Array.from(accepts.length ? accepts : [0]));
    if (req.type === EapType.MD5) {
      const challenge = req.data.subarray(1, 1 + req.data[0]!);
      const value = md5ChallengeResponse(req.identifier, utf8(this.o.password), challenge);
      return res(EapType.MD5, Uint8Array.of(16, ...value, ...utf8(this.o.identity)));
    }
    if (req.type === EapType.MSCHAPV2) return res(EapType.MSCHAPV2, this.mschapv2(req));
    throw new Error(`peer cannot answer type ${req.type}`);
  }

  private mschapv2(req: EapPacket): Uint8Array {
    const d = req.data;
    const opCode = d[0]!;
    const msChapId = d[1]!;
    const name = this.o.name ?? this.o.identity;
    const passwordHash = ntPasswordHash(this.o.password);
    if (opCode === 1) {
      this.authChallenge = d.slice(5, 5 + d[4]!);
      // RFC 2759 §4: the user name without the domain goes into ChallengeHash.
      this.ntResponse = generateNtResponse(this.authChallenge, this.peerChallenge, splitDomainUser(name).user, passwordHash);
      const nameBytes = utf8(name);
      const out = new Uint8Array(4 + 1 + 49 + nameBytes.length);
      out.set([2, msChapId, out.length >> 8, out.length & 0xff, 49]);
      out.set(this.peerChallenge, 5);
      out.set(this.ntResponse, 5 + 16 + 8);
      out.set(nameBytes, 5 + 49);
      return out;
    }
    const text = new TextDecoder().decode(d.subarray(4));
    if (opCode === 3) {
      this.successMessage = text;
      const s = text.split(' ')[0] ?? '';
      this.authenticatorOk = checkAuthenticatorResponse(passwordHash, this.ntResponse!, this.peerChallenge, this.authChallenge!, splitDomainUser(name).user, s);
      if (!this.authenticatorOk) return Uint8Array.of(4);
      this.msk = msk(hashNtPasswordHash(passwordHash), this.ntResponse!);
      return Uint8Array.of(3);
    }
    if (opCode === 4) {
      this.failureMessage = text;
      return Uint8Array.of(4);
    }
    throw new Error(`peer got MS-CHAPv2 OpCode ${opCode}`);
  }
}
