// One log line per IKE message in strongSwan's notation ("received IKE_AUTH request 1 [ IDi AUTH … ]").
// The line is only built when info is enabled: it walks every payload, and it runs for every
// message on the handshake hot path.
import type { IkeHeader } from '../ike/codec/header.js';
import { describeMessage } from '../ike/codec/describe.js';
import type { Payload } from '../ike/codec/payload.js';
import { formatEndpoint, type Endpoint } from '../net/endpoint.js';
import type { Logger } from './logger.js';

/** Stands for the Encrypted payload when the inner payloads are shown. */
const SK_ENVELOPE: Payload[] = [{ kind: 'sk', critical: false, firstInner: 0, body: new Uint8Array(0) }];

export function logIkeMessage(
  log: Logger,
  verb: string,
  header: Pick<IkeHeader, 'exchange' | 'flags' | 'messageId'>,
  payloads: readonly Payload[] | 'encrypted',
  inner: readonly Payload[] | undefined,
  peer: Endpoint,
  suffix = '',
): void {
  if (!log.isLevelEnabled('info')) return;
  const outer = payloads === 'encrypted' ? SK_ENVELOPE : payloads;
  const direction = verb === 'received' ? 'from' : 'to';
  log.info(`${verb} ${describeMessage(header, outer, inner)}${suffix} ${direction} ${formatEndpoint(peer)}`);
}
