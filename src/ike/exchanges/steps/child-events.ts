// CHILD_SA up/down events for observers outside the engine (updown scripts, metrics): plain data
// describing the SA, built in one place for both directions.
import type { ChildEventInfo } from '../../../hooks/updown.js';
import { formatIdentity } from '../../../policy/identity.js';
import type { ChildSa, IkeSa } from '../../sa/ike-sa.js';
import type { EngineContext } from '../context.js';

export function emitChildEvent(ctx: EngineContext, sa: IkeSa, child: ChildSa, verb: 'up' | 'down', usage?: { bytesIn: number; bytesOut: number }): void {
  const listener = ctx.ports.events?.child;
  if (!listener) return;
  const pools = ctx.config.pools.filter((p) => sa.conn?.pools.includes(p.name));
  const info: ChildEventInfo = {
    verb,
    child: child.name,
    reqid: child.reqid,
    ikeSerial: sa.serial,
    ...(child.config.updown ? { updown: child.config.updown } : {}),
    me: sa.local.address,
    myPort: sa.local.port,
    peer: sa.remote.address,
    peerPort: sa.remote.port,
    myId: sa.localId ? formatIdentity(sa.localId) : '',
    peerId: sa.remoteId ? formatIdentity(sa.remoteId) : '',
    ...(sa.eapIdentity ? { eapId: sa.eapIdentity } : {}),
    localTs: child.localTs,
    remoteTs: child.remoteTs,
    peerVips: [...sa.vips],
    dns: [...new Set(pools.flatMap((p) => p.dns))],
    encap: child.encap,
    spiIn: child.spiIn,
    spiOut: child.spiOut,
    ...(usage ?? {}),
  };
  listener(info);
}
