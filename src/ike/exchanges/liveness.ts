// Dead peer detection (RFC 7296 §2.4): when nothing authenticated arrived from the peer for
// `dpd_delay`, and its CHILD_SAs carried no inbound traffic either, send an empty INFORMATIONAL
// request. If every retransmission goes unanswered the peer is gone: its SAs, leases and
// dataplane state are removed (dpd_action = clear, the default) or kept (none).
import type { IkeSa } from '../sa/ike-sa.js';
import { ExchangeType } from '../constants.js';
import type { EngineContext } from './context.js';
import { teardownIkeSa } from './steps/teardown.js';

async function lastTraffic(ctx: EngineContext, sa: IkeSa): Promise<number> {
  let last = sa.lastInboundAt ?? sa.establishedAt ?? sa.createdAt;
  for (const child of sa.children) {
    const inbound = child.installedSas[0];
    if (!inbound) continue;
    const usage = await ctx.ports.dataplane.querySa(inbound).catch(() => undefined);
    if (usage?.lastUse !== undefined) last = Math.max(last, usage.lastUse);
  }
  return last;
}

export function scheduleLiveness(ctx: EngineContext, sa: IkeSa): void {
  const delay = (sa.conn?.dpdDelay ?? 0) * 1000;
  if (delay <= 0) return;
  const arm = (wait: number) => {
    sa.timers.get('dpd')?.();
    sa.timers.set('dpd', ctx.ports.clock.setTimer(wait, () => void ctx.engine.onSa(sa, check)));
  };
  const check = async () => {
    if (sa.phase !== 'established') return;
    const idle = ctx.ports.clock.now() - (await lastTraffic(ctx, sa));
    if (idle < delay) return arm(delay - idle);
    if (sa.pendingRequest) return arm(delay); // an exchange of ours is running; it checks liveness too
    sa.log.debug(`no traffic from the peer for ${Math.round(idle / 1000)}s: checking liveness`);
    ctx.engine.startRequest(sa, ExchangeType.INFORMATIONAL, [], async (r) => {
      if (r.kind === 'response') return arm(delay);
      const action = sa.children[0]?.config.dpdAction ?? 'clear';
      if (action === 'none') {
        sa.log.warn('peer did not answer the liveness check; dpd_action = none keeps its SAs');
        return arm(delay);
      }
      sa.log.warn(`peer ${sa.label} is dead: no answer to the liveness check`);
      await teardownIkeSa(ctx, sa, 'dead peer detected');
    });
  };
  arm(delay);
}
