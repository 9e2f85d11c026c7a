// CREATE_CHILD_SA as responder (RFC 7296 §1.3). Additional CHILD_SAs and rekeying (§2.8) are
// not offered by this version: requests are refused with NO_ADDITIONAL_SAS, which keeps the
// IKE_SA and its existing CHILD_SAs intact (§1.3: the initiator then uses the existing ones).
import { NotifyType } from '../constants.js';
import { IkeError } from '../errors.js';
import type { IkeSa } from '../sa/ike-sa.js';
import type { EngineContext, Inbound } from './context.js';

export async function handleCreateChildSa(_ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  if (sa.phase !== 'established') throw new IkeError(NotifyType.INVALID_SYNTAX, `CREATE_CHILD_SA in phase ${sa.phase}`);
  throw new IkeError(NotifyType.NO_ADDITIONAL_SAS, `CREATE_CHILD_SA request ${m.header.messageId} refused: rekeying and additional CHILD_SAs are not supported yet`);
}
