// NAT-T keepalives (RFC 3948 §2.3, §4; RFC 7296 §2.23): a single 0xFF byte from our NAT-T port
// to the peer, sent every `ikegate { keepalive = 20s }` in which nothing else (IKE or ESP) went
// to that peer, so the NAT's UDP mapping does not expire while the tunnel is idle.
//
// Who sends: strongSwan sends keepalives only when the LOCAL side is behind NAT (COND_NAT_HERE),
// because RFC 3948 §4 gives the job to the peer behind the NAT, whose outbound packets create and
// refresh the mapping. ikegate also sends them when the PEER is behind NAT. A gateway serves
// clients behind home and carrier NATs, and field reports (field facts §2.1.8: Windows shows
// "Connected" while the server has lost the SA) show clients that do not keep their mapping
// alive. Most NATs (Linux conntrack, typical CPE) refresh a UDP mapping on packets in either
// direction, so our packets help there and cost one byte per idle peer and interval where they
// do not. A packet the NAT no longer maps is dropped by it, which is harmless.
// Forced encapsulation (encap = yes, userspace ESP) counts as a NAT in front of the peer.
import type { IkeSa } from '../sa/ike-sa.js';
import type { EngineContext } from './context.js';

/** The last time we sent anything to the peer: IKE messages, or ESP on an outbound CHILD_SA. */
async function lastOutbound(ctx: EngineContext, sa: IkeSa): Promise<number> {
  let last = sa.lastOutboundAt ?? sa.establishedAt ?? sa.createdAt;
  for (const child of sa.children) {
    const outbound = child.installedSas.find((id) => id.spi === child.spiOut);
    if (!outbound) continue;
    const usage = await ctx.ports.dataplane.querySa(outbound).catch(() => undefined);
    if (usage?.lastUse !== undefined) last = Math.max(last, usage.lastUse);
  }
  return last;
}

/**
 * Arms (or re-arms) the keepalive timer of an established IKE_SA. Called when the SA is
 * established and whenever its addresses or NAT state change (MOBIKE, NAT mapping changes).
 */
export function scheduleKeepalive(ctx: EngineContext, sa: IkeSa): void {
  const interval = ctx.config.daemon.keepaliveInterval * 1000;
  const send = ctx.ports.transport.sendKeepalive;
  sa.timers.get('keepalive')?.();
  sa.timers.delete('keepalive');
  if (interval <= 0 || !send || !(sa.natLocal || sa.natRemote)) return;
  const arm = (wait: number) => {
    sa.timers.set('keepalive', ctx.ports.clock.setTimer(wait, () => void ctx.engine.onSa(sa, check)));
  };
  const check = async () => {
    if (sa.phase !== 'established') return;
    // Keepalives only make sense on the NAT-T port, where ESP-in-UDP and IKE share the mapping.
    if (sa.local.port !== ctx.config.daemon.portNatT || !(sa.natLocal || sa.natRemote)) return;
    const idle = ctx.ports.clock.now() - (await lastOutbound(ctx, sa));
    if (idle < interval) return arm(interval - idle);
    sa.log.debug(`sending NAT-T keepalive to ${sa.remote.address}:${sa.remote.port}`);
    send.call(ctx.ports.transport, sa.local, sa.remote);
    arm(interval);
  };
  arm(interval);
}
