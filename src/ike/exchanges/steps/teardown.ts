// Removing an IKE_SA and everything hanging off it: CHILD_SA dataplane state, virtual IP leases,
// timers and the SA table entries. Dataplane failures are logged, never allowed to keep an SA alive.
import type { IkeSa, ChildSa } from '../../sa/ike-sa.js';
import { transition } from '../../sa/ike-sa.js';
import type { EngineContext } from '../context.js';
import { emitChildEvent } from './child-events.js';
import { removeVipRoutes } from './vip-routes.js';
import { wipe } from '../../../crypto/bytes.js';
import { spiHex } from '../../sa/spi.js';

export async function removeChild(ctx: EngineContext, sa: IkeSa, child: ChildSa, reason: string): Promise<void> {
  const dp = ctx.ports.dataplane;
  // Counters are read before the SAs go, for the log and for the down hook.
  const [inbound, outbound] = await Promise.all(child.installedSas.map((id) => dp.querySa(id).catch(() => undefined)));
  const usage = { bytesIn: inbound?.bytes ?? 0, bytesOut: outbound?.bytes ?? 0 };
  // Routes before policies: a virtual IP routed without its out policy would leave in clear.
  await removeVipRoutes(ctx, sa, child);
  for (const p of child.installedPolicies) {
    await dp.deletePolicy(p).catch((err: unknown) => sa.log.warn({ err }, `removing policy of CHILD_SA ${child.name} failed`));
  }
  for (const id of child.installedSas) {
    await dp.deleteSa(id).catch((err: unknown) => sa.log.warn({ err }, `removing SA ${id.spi.toString(16)} failed`));
  }
  sa.children = sa.children.filter((c) => c !== child);
  emitChildEvent(ctx, sa, child, 'down', usage);
  sa.log.info(
    { child: child.name, spiIn: child.spiIn.toString(16), spiOut: child.spiOut.toString(16), reason, ...usage },
    `CHILD_SA ${child.name}{${child.reqid}} with SPIs ${spiHex(child.spiIn)}_i ${spiHex(child.spiOut)}_o deleted: ${reason}`,
  );
}

export async function teardownIkeSa(ctx: EngineContext, sa: IkeSa, reason: string): Promise<void> {
  if (sa.phase === 'dead') return;
  if (sa.phase === 'established') transition(sa, 'deleting', reason);
  for (const child of [...sa.children]) await removeChild(ctx, sa, child, reason);
  for (const lease of sa.leases) ctx.pools.release(lease.pool, lease.key, lease.address);
  sa.leases = [];
  releaseEap(sa);
  transition(sa, 'dead', reason);
  // A dead SA only replays its cached last response (no keys needed): SK_* go now (§12.10).
  wipe(...Object.values(sa.keys));
  ctx.engine.unregister(sa);
  ctx.ports.events?.ikeDown?.({ id: sa.id, reason });
}

/** Drops the EAP conversation of an IKE_SA (its TLS session, the MSK): nothing needs them after IKE_AUTH. */
export function releaseEap(sa: IkeSa): void {
  if (!sa.eap) return;
  sa.eap.conversation.close();
  wipe(sa.eap.result?.msk);
  delete sa.eap;
}

