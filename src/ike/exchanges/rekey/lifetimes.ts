// SA lifetimes (RFC 7296 §2.8): the soft lifetime (rekey_time, less up to rand_time of jitter so
// that both peers rarely rekey at once) starts our own rekey; the hard lifetime (life_time)
// deletes the CHILD_SA with an INFORMATIONAL Delete. The dataplane's own expire events (XFRM
// soft/hard byte or time limits) lead to the same actions. Towards a Windows client behind NAT
// we never start a CHILD_SA rekey — it fails with 13863 (field facts §2.1.7) — and leave the
// rekey to the client, enforcing only the hard lifetime.
// IKE_SA: rekey_time rekeys the IKE_SA (§2.18); reauth_time is implemented as "delete the IKE_SA
// and let the client reconnect" (a full reauthentication as initiator is not done by a
// responder-only gateway).
import { bytesEqual } from '../../../crypto/bytes.js';
import type { DataplaneEvent } from '../../../xfrm/dataplane.js';
import type { ChildSa, IkeSa } from '../../sa/ike-sa.js';
import type { EngineContext } from '../context.js';

import { startChildDelete, startChildRekey, startIkeDelete } from './initiator-rekey.js';
import { startIkeRekey } from './ike-rekey.js';
import { spiHex } from '../../sa/spi.js';

/** MS NT5 ISAKMPOAKLEY (the version follows; field facts §2.1.2). */
const MS_NT5_VID = new Uint8Array([0x1e, 0x2b, 0x51, 0x69, 0x05, 0x99, 0x1c, 0x7d, 0x7c, 0x96, 0xfc, 0xbf, 0xb5, 0x87, 0xe4, 0x61]);
/** Microsoft's private CP attributes, sent only by Windows in its first IKE_AUTH CFG_REQUEST. */
const MS_CP_ATTRIBUTES = new Set<number>([23456, 23457]);

export function isWindowsPeer(sa: IkeSa): boolean {
  if (sa.peerVendorIds.some((v) => v.length >= 16 && bytesEqual(v.subarray(0, 16), MS_NT5_VID))) return true;
  // The first IKE_AUTH request is kept only for EAP conversations (Windows' usual method).
  const cp = sa.eap?.firstInner.find((p) => p.kind === 'cp');
  return cp?.kind === 'cp' && cp.attributes.some((a) => MS_CP_ATTRIBUTES.has(a.type));
}

/** Seconds of random jitter in [0, rand], never more than half the lifetime it shortens. */
function jitter(ctx: EngineContext, rand: number | undefined, base: number): number {
  const max = Math.min(rand ?? 0, base / 2);
  if (max <= 0) return 0;
  const r = ctx.ports.rng.bytes(4);
  return ((((r[0]! << 24) | (r[1]! << 16) | (r[2]! << 8) | r[3]!) >>> 0) / 0x1_0000_0000) * max;
}

const rekeyKey = (c: ChildSa) => `child-rekey:${spiHex(c.spiIn)}`;
const expireKey = (c: ChildSa) => `child-expire:${spiHex(c.spiIn)}`;

/** Fixes a new CHILD_SA's rekey and expiry times and arms their timers. */
export function scheduleChildLifetimes(ctx: EngineContext, sa: IkeSa, child: ChildSa): void {
  const now = ctx.ports.clock.now();
  const cfg = child.config;
  if (child.rekeyAt === undefined && cfg.rekeyTime > 0) child.rekeyAt = now + (cfg.rekeyTime - jitter(ctx, cfg.randTime, cfg.rekeyTime)) * 1000;
  if (child.expireAt === undefined && cfg.lifeTime > 0) child.expireAt = now + cfg.lifeTime * 1000;
  armChildTimers(ctx, sa, child);
}

/** (Re-)arms a CHILD_SA's timers on the IKE_SA that now holds it (after an IKE_SA rekey too). */
export function armChildTimers(ctx: EngineContext, sa: IkeSa, child: ChildSa): void {
  const now = ctx.ports.clock.now();
  cancelChildTimers(sa, child);
  if (child.rekeyAt !== undefined) {
    sa.timers.set(rekeyKey(child), ctx.ports.clock.setTimer(Math.max(0, child.rekeyAt - now), () => void ctx.engine.onSa(sa, () => softExpire(ctx, sa, child, 'rekey_time reached'))));
  }
  if (child.expireAt !== undefined) {
    sa.timers.set(expireKey(child), ctx.ports.clock.setTimer(Math.max(0, child.expireAt - now), () => void ctx.engine.onSa(sa, () => hardExpire(ctx, sa, child, 'life_time reached'))));
  }
}

export function cancelChildTimers(sa: IkeSa, child: ChildSa): void {
  for (const key of [rekeyKey(child), expireKey(child)]) {
    sa.timers.get(key)?.();
    sa.timers.delete(key);
  }
}

async function softExpire(ctx: EngineContext, sa: IkeSa, child: ChildSa, why: string): Promise<void> {
  // Ignored while the SA is already being rekeyed or waits for its Delete (strongSwan
  // test_regular_responder_ignore_soft_expire), and on an IKE_SA that is itself going.
  if (!sa.children.includes(child) || (child.state ?? 'installed') !== 'installed' || sa.phase !== 'established') return;
  if (sa.natRemote && isWindowsPeer(sa)) {
    sa.log.info(`CHILD_SA ${child.name}{${child.reqid}} ${why}: not rekeying towards a Windows client behind NAT (it fails with 13863), leaving it to the client until life_time`);
    return;
  }
  await startChildRekey(ctx, sa, child, why);
}

async function hardExpire(ctx: EngineContext, sa: IkeSa, child: ChildSa, why: string): Promise<void> {
  if (!sa.children.includes(child) || child.state === 'deleting' || (sa.phase !== 'established' && sa.phase !== 'rekeyed')) return;
  await startChildDelete(ctx, sa, child, why);
}

/** Routes the dataplane's expire events to the CHILD_SA owning the SA. Returns the unsubscribe. */
export function watchDataplaneExpiry(ctx: EngineContext): () => void {
  return ctx.ports.dataplane.onEvent((e: DataplaneEvent) => {
    if (e.kind !== 'expire') return;
    for (const sa of ctx.engine.sas.values()) {
      const child = sa.children.find((c) => c.installedSas.some((id) => id.spi === e.id.spi && id.dst === e.id.dst));
      if (!child) continue;
      const why = `dataplane reported a ${e.hard ? 'hard' : 'soft'} expire of SA ${spiHex(e.id.spi)}`;
      void ctx.engine.onSa(sa, () => (e.hard ? hardExpire(ctx, sa, child, why) : softExpire(ctx, sa, child, why)));
      return;
    }
  });
}

/** IKE_SA rekey_time / reauth_time timers, armed when an IKE_SA is established (also by a rekey). */
export function scheduleIkeLifetimes(ctx: EngineContext, sa: IkeSa): void {
  const conn = sa.conn;
  if (!conn) return;
  if (conn.rekeyTime > 0) {
    const wait = (conn.rekeyTime - jitter(ctx, conn.randTime, conn.rekeyTime)) * 1000;
    sa.timers.set('ike-rekey', ctx.ports.clock.setTimer(wait, () => void ctx.engine.onSa(sa, () => startIkeRekey(ctx, sa, 'rekey_time reached'))));
  }
  if (conn.reauthTime > 0) {
    const wait = (conn.reauthTime - jitter(ctx, conn.randTime, conn.reauthTime)) * 1000;
    sa.timers.set(
      'ike-reauth',
      ctx.ports.clock.setTimer(wait, () =>
        void ctx.engine.onSa(sa, () => (sa.phase === 'established' ? startIkeDelete(ctx, sa, 'reauth_time reached: deleting so the client reconnects') : undefined)),
      ),
    );
  }
}

