// Routes for the peer's virtual IPs (issue 4): without one, traffic towards a client's virtual IP
// (LAN replies) dies at the routing lookup, before the XFRM out policy can claim it, on any
// gateway without a default route that happens to cover the pool.
//
// What is routed: each remote traffic selector of a tunnel-mode CHILD_SA that is a single host
// equal to one of the IKE_SA's virtual IPs. strongSwan (install_routes) routes every remote
// selector of an outbound policy that has no protocol/port restriction, site-to-site subnets
// included; here a subnet behind a peer is left to the operator's routing, since it is not ours
// to assign. Protocol or port restrictions on the virtual IP's selector do not matter: the
// address is reachable through this tunnel only.
//
// Each route is held by one CHILD_SA (ChildSa.routes, destinations in CIDR form). A rekey hands
// them to the successor as it does the policies (installChild, retireChild); removeChild deletes
// them. The dataplane reference-counts (table, destination), so CHILD_SAs sharing a virtual IP,
// or an old and a new IKE_SA of the same client, each install and delete their own reference.
import { formatIp, parseIp } from '../../../net/address.js';
import type { ChildSa, IkeSa } from '../../sa/ike-sa.js';
import type { EngineContext } from '../context.js';

/** The routed destinations of a CHILD_SA's remote selectors: its peer's virtual IPs as /32 or /128. */
export function vipRouteDestinations(sa: IkeSa, child: ChildSa): string[] {
  if (child.config.mode !== 'tunnel' || !child.selectors) return [];
  const vips = new Set(sa.vips.map((v) => formatIp(parseIp(v) ?? new Uint8Array(0))));
  const out = new Set<string>();
  for (const ts of child.selectors.remote) {
    if (Buffer.compare(ts.startAddr, ts.endAddr) !== 0) continue;
    const host = formatIp(ts.startAddr);
    if (vips.has(host)) out.add(`${host}/${ts.startAddr.length * 8}`);
  }
  return [...out];
}

/**
 * Routes the CHILD_SA's virtual IPs it does not hold yet (a rekey inherited the others) in the
 * dataplane's table (0: its own, 220 for XFRM) along the path to the peer. A refusal is logged,
 * never fatal: the CHILD_SA is sound, and a default route may still carry its traffic.
 */
export async function installVipRoutes(ctx: EngineContext, sa: IkeSa, child: ChildSa): Promise<void> {
  for (const destination of vipRouteDestinations(sa, child)) {
    if (child.routes.includes(destination)) continue;
    try {
      await ctx.ports.dataplane.installRoute({ destination, table: 0, via: { peer: sa.remote.address } });
      child.routes.push(destination);
    } catch (err) {
      sa.log.warn({ err, child: child.name }, `CHILD_SA ${child.name}{${child.reqid}}: routing virtual IP ${destination} failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
}

/** Deletes the routes a CHILD_SA holds (removeChild). */
export async function removeVipRoutes(ctx: EngineContext, sa: IkeSa, child: ChildSa): Promise<void> {
  for (const destination of child.routes) {
    await ctx.ports.dataplane.deleteRoute({ destination, table: 0 }).catch((err: unknown) => sa.log.warn({ err }, `removing route ${destination} of CHILD_SA ${child.name} failed`));
  }
  child.routes = [];
}
