// INFORMATIONAL as responder (RFC 7296 §1.4, §1.5, §3.11):
//   HDR, SK { [N], [D], [CP] }  -->  <--  HDR, SK { [N], [D], [CP] }
// An empty request is a liveness check and gets an empty response. Deleting the IKE_SA is
// answered with an empty response and then everything of the SA goes; deleting CHILD_SAs is
// answered with a Delete payload naming our inbound SPIs of the same pairs (§1.4.1).
import { ExchangeType, NotifyType, ProtocolId, notifyName } from '../constants.js';
import type { Payload } from '../codec/payload.js';
import { validatePayloads } from '../codec/message.js';
import { checkRules, firstCriticalUnknown } from '../codec/rules.js';
import { IkeError } from '../errors.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { allOf, type EngineContext, type Inbound } from './context.js';
import { formatIdentity } from '../../policy/identity.js';
import { formatEndpoint } from '../../net/endpoint.js';
import { teardownIkeSa } from './steps/teardown.js';
import { retireChild } from './rekey/child-rekey.js';
import { handleMobikeInformational, isMobikeInformational } from './mobike.js';
import { spiFromBytes } from '../sa/spi.js';

export async function handleInformational(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  // RFC 7296 §2.5: a message with an unknown critical payload is rejected as a whole.
  const critical = firstCriticalUnknown(m.inner);
  if (critical !== undefined) {
    throw new IkeError(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, `unsupported critical payload type ${critical}`, new Uint8Array([critical]));
  }
  checkRules(ExchangeType.INFORMATIONAL, false, m.outer, m.inner);
  validatePayloads(m.inner);
  // RFC 7296 §1.4: INFORMATIONAL exchanges occur only after the initial exchanges; before
  // IKE_AUTH the peer is unauthenticated and must not delete or report anything.
  // A rekeyed IKE_SA (RFC 7296 §2.18) or one we are deleting still takes the peer's Deletes.
  if (sa.phase !== 'established' && sa.phase !== 'rekeyed' && sa.phase !== 'deleting') {
    // Except a client giving up during EAP (strongSwan and Windows do so after an MSCHAPv2
    // failure instead of answering the Failure Request): acknowledge and drop the SA.
    if (sa.phase === 'authenticating' && allOf(m.inner, 'notify').some((n) => n.notify === NotifyType.AUTHENTICATION_FAILED)) {
      const who = sa.eapIdentity ?? (sa.remoteId ? formatIdentity(sa.remoteId) : 'peer');
      sa.log.warn(`authentication of '${who}' failed: the peer aborted with AUTHENTICATION_FAILED during ${sa.eap ? 'EAP' : 'IKE_AUTH'}`);
      ctx.ports.events?.authFailed?.({ remote: formatEndpoint(sa.remote), reason: 'peer aborted authentication' });
      ctx.engine.respond(sa, m.datagram, m.header, [], m.digest);
      await teardownIkeSa(ctx, sa, 'peer aborted authentication');
      return;
    }
    throw new IkeError(NotifyType.INVALID_SYNTAX, `INFORMATIONAL in phase ${sa.phase}`);
  }
  // RFC 4555: address updates, address lists, COOKIE2 and NAT-D liveness checks.
  if (isMobikeInformational(m.inner)) return handleMobikeInformational(ctx, sa, m);
  // RFC 7296 §2.21.2: an initiator that rejects our authentication (our certificate or identity)
  // says so with AUTHENTICATION_FAILED after IKE_AUTH; the SA is of no use to anyone.
  if (allOf(m.inner, 'notify').some((n) => n.notify === NotifyType.AUTHENTICATION_FAILED)) {
    sa.log.warn(`peer ${sa.label} rejected our authentication (AUTHENTICATION_FAILED): check the server certificate, its names and the client's trusted CAs`);
    ctx.engine.respond(sa, m.datagram, m.header, [], m.digest);
    await teardownIkeSa(ctx, sa, 'peer rejected our authentication');
    return;
  }
  const deletes = allOf(m.inner, 'delete');
  if (deletes.some((d) => d.protocol === ProtocolId.IKE)) {
    sa.log.info(`peer deleted IKE_SA ${sa.label}`);
    ctx.engine.respond(sa, m.datagram, m.header, [], m.digest);
    await teardownIkeSa(ctx, sa, 'deleted by peer');
    return;
  }
  const response: Payload[] = [];
  const ours: Uint8Array[] = [];
  for (const d of deletes) {
    if (d.protocol !== ProtocolId.ESP || d.spiSize !== 4) continue; // AH is not negotiated by us
    for (const spi of d.spis) {
      const peerSpi = spiFromBytes(spi);
      const child = sa.children.find((c) => c.spiOut === peerSpi);
      if (!child) {
        sa.log.info(`peer deleted unknown CHILD_SA with SPI ${peerSpi.toString(16)}: ignored`);
        continue;
      }
      // §1.4.1: when our own Delete of it crossed this one, the response names nothing.
      if (child.state !== 'deleting') ours.push(new Uint8Array([child.spiIn >>> 24, (child.spiIn >>> 16) & 0xff, (child.spiIn >>> 8) & 0xff, child.spiIn & 0xff]));
      // A CHILD_SA replaced by a rekey hands its policies to its successor (rekey/child-rekey.ts).
      await retireChild(ctx, sa, child, 'deleted by peer');
    }
  }
  if (ours.length > 0) response.push({ kind: 'delete', critical: false, protocol: ProtocolId.ESP, spiSize: 4, spis: ours });
  for (const n of allOf(m.inner, 'notify')) {
    if (n.notify < 16384) sa.log.warn(`peer reported error notify ${notifyName(n.notify)} in INFORMATIONAL`);
  }
  ctx.engine.respond(sa, m.datagram, m.header, response, m.digest);
}
