// EAP Identity (Type 1, RFC 3748 §5.1) helpers and the Windows "DOMAIN\user" split used by
// MS-CHAPv2 (RFC 2759 §4: the user name is sent "without any domain prefix" into ChallengeHash;
// strongSwan eap_mschapv2.c extract_username splits at the first backslash).
//
// Identity Request Type-Data is an optional displayable message; the Response carries the
// peer's identity, not NUL-terminated (§5.1), though some peers append NULs anyway.
import { EapCode, EapType } from '../ike/constants.js';
import type { EapPacket } from './packet.js';

/** EAP-Request/Identity with an optional displayable prompt (strongSwan sends none). */
export function identityRequest(identifier: number, prompt = ''): EapPacket {
  return { code: EapCode.REQUEST, identifier, type: EapType.IDENTITY, data: new TextEncoder().encode(prompt) };
}

/** The identity in an EAP-Response/Identity Type-Data: UTF-8 (invalid octets → U+FFFD), trailing NULs removed. */
export function parseIdentity(data: Uint8Array): string {
  let end = data.length;
  while (end > 0 && data[end - 1] === 0) end--;
  return new TextDecoder('utf-8', { fatal: false }).decode(data.subarray(0, end));
}

export interface DomainUser {
  /** The part before the first backslash; undefined when there is none. */
  domain?: string;
  user: string;
}

/** Splits "DOMAIN\user" at the first backslash; an identity without one is all user. */
export function splitDomainUser(identity: string): DomainUser {
  const i = identity.indexOf('\\');
  if (i < 0) return { user: identity };
  return { domain: identity.slice(0, i), user: identity.slice(i + 1) };
}
