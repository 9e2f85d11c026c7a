// The server side of one EAP authentication method (RFC 3748 §5: method Types 4 and up), after
// strongSwan's eap_method_t. EapConversation (conversation.ts) drives a method: it sends the
// method's first Request, hands it every Response of the method's Type, and maps the steps to
// EAP Requests, EAP-Success or EAP-Failure.
//
// Identifiers: the conversation owns the EAP Identifier and overwrites it on every Request a
// method returns; a method that needs the Identifier (EAP-MD5 hashes it) reads it from the
// Response it is processing, or from start(identifier) for its first Request.
import type { EapPacket } from './packet.js';

export interface EapServerMethod {
  /** EAP Type, e.g. 26. */
  readonly type: number;
  /** For logs, e.g. 'EAP-MSCHAPv2'. */
  readonly name: string;
  /** The method's first Request. */
  start(identifier: number): EapPacket | Promise<EapPacket>;
  /** A Response of this method's Type. */
  process(response: EapPacket): Promise<EapStep>;
  /** Releases state (wipes secrets); called once when the conversation is done with the method. */
  close?(): void;
}

export type EapStep =
  | { kind: 'request'; packet: EapPacket }
  /** identity = the identity the method authenticated. */
  | { kind: 'success'; msk?: Uint8Array; identity: string }
  /** reason is for the log only, never sent. */
  | { kind: 'failure'; reason: string };
