// CREATE_CHILD_SA as responder (RFC 7296 §1.3, §2.8, §2.17, §2.18, §2.25): one exchange type for
// three requests, told apart by their payloads:
//   new CHILD_SA     HDR, SK { SA, Ni, [KEi], TSi, TSr }               (§1.3.1)
//   CHILD_SA rekey   HDR, SK { N(REKEY_SA), SA, Ni, [KEi], TSi, TSr }  (§1.3.3)
//   IKE_SA rekey     HDR, SK { SA(IKE), Ni, KEi }                      (§1.3.2)
// The work is in rekey/child-rekey.ts and rekey/ike-rekey.ts. Failures are CHILD_SA-level
// notifies that keep the IKE_SA; TEMPORARY_FAILURE answers requests that collide with our own
// IKE_SA rekey or deletion (§2.25.2).
import { validatePayloads } from '../codec/message.js';
import { checkRules, firstCriticalUnknown } from '../codec/rules.js';
import { ExchangeType, NotifyType, ProtocolId } from '../constants.js';
import { IkeError } from '../errors.js';
import type { IkeSa } from '../sa/ike-sa.js';
import { findNotify, firstOf, type EngineContext, type Inbound } from './context.js';
import { respondChild } from './rekey/child-rekey.js';
import { respondIkeRekey } from './rekey/ike-rekey.js';

export async function handleCreateChildSa(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  if (sa.phase === 'half-open' || sa.phase === 'authenticating') throw new IkeError(NotifyType.INVALID_SYNTAX, `CREATE_CHILD_SA in phase ${sa.phase}`);
  const critical = firstCriticalUnknown(m.inner);
  if (critical !== undefined) {
    throw new IkeError(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, `unsupported critical payload type ${critical}`, new Uint8Array([critical]));
  }
  checkRules(ExchangeType.CREATE_CHILD_SA, false, m.outer, m.inner);
  validatePayloads(m.inner);
  const saPayload = firstOf(m.inner, 'sa')!;
  const isIke = saPayload.proposals.length > 0 && saPayload.proposals.every((p) => p.protocol === ProtocolId.IKE);
  if (isIke) return respondIkeRekey(ctx, sa, m);
  // An IKE_SA that was rekeyed or is being deleted takes no new work (§2.18, §2.25.2).
  if (sa.phase !== 'established') throw new IkeError(NotifyType.TEMPORARY_FAILURE, `CREATE_CHILD_SA on an IKE_SA that is ${sa.phase}`);
  if (sa.ikeRekey) throw new IkeError(NotifyType.TEMPORARY_FAILURE, 'CREATE_CHILD_SA while we rekey the IKE_SA');
  await respondChild(ctx, sa, m, findNotify(m.inner, NotifyType.REKEY_SA));
}
