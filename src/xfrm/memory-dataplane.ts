// In-memory dataplane: records what would be installed. The twin of the kernel dataplane for
// tests and for hosts where the operator runs ikegate as a pure IKE responder (dataplane = memory).
import type { Dataplane, DataplaneEvent, PolicySpec, RouteSpec, SaId, SaSpec, SaUsage } from './dataplane.js';

const saKey = (id: SaId) => `${id.dst}/${id.spi.toString(16)}`;
const policyKey = (p: PolicySpec) => `${p.direction} ${p.selector.local}<->${p.selector.remote}/${p.selector.protocol}`;

export class MemoryDataplane implements Dataplane {
  readonly name = 'memory';
  readonly sas = new Map<string, SaSpec>();
  readonly policies = new Map<string, PolicySpec>();
  readonly routes = new Map<string, RouteSpec>();
  /** installRoute() calls not yet matched by a deleteRoute(), per destination. */
  readonly routeRefs = new Map<string, number>();
  /** Every call in order, for assertions on ordering (e.g. inbound SA before outbound). */
  readonly calls: string[] = [];
  private nextSpi = 0xc0000001;
  private readonly listeners = new Set<(e: DataplaneEvent) => void>();

  async allocateSpi(dst: string): Promise<number> {
    this.calls.push(`allocateSpi ${dst}`);
    return this.nextSpi++;
  }

  async installSa(sa: SaSpec): Promise<void> {
    this.calls.push(`installSa ${sa.direction} ${saKey(sa.id)}`);
    this.sas.set(saKey(sa.id), sa);
  }

  async deleteSa(id: SaId): Promise<void> {
    this.calls.push(`deleteSa ${saKey(id)}`);
    this.sas.delete(saKey(id));
  }

  async querySa(id: SaId): Promise<SaUsage | undefined> {
    return this.sas.has(saKey(id)) ? { bytes: 0, packets: 0 } : undefined;
  }

  async installPolicy(p: PolicySpec): Promise<void> {
    this.calls.push(`installPolicy ${policyKey(p)}`);
    this.policies.set(policyKey(p), p);
  }

  async deletePolicy(p: PolicySpec): Promise<void> {
    this.calls.push(`deletePolicy ${policyKey(p)}`);
    this.policies.delete(policyKey(p));
  }

  async installRoute(r: RouteSpec): Promise<void> {
    this.calls.push(`installRoute ${r.destination}${r.via ? ` via ${r.via.peer}` : ''}`);
    this.routes.set(r.destination, r);
    this.routeRefs.set(r.destination, (this.routeRefs.get(r.destination) ?? 0) + 1);
  }

  async deleteRoute(r: RouteSpec): Promise<void> {
    this.calls.push(`deleteRoute ${r.destination}`);
    // Reference-counted like the real dataplanes: a route two CHILD_SAs need stays until both went.
    const refs = (this.routeRefs.get(r.destination) ?? 1) - 1;
    if (refs > 0) {
      this.routeRefs.set(r.destination, refs);
      return;
    }
    this.routeRefs.delete(r.destination);
    this.routes.delete(r.destination);
  }

  onEvent(listener: (e: DataplaneEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Test hook: deliver a kernel-like event. */
  emit(e: DataplaneEvent): void {
    for (const l of this.listeners) l(e);
  }

  async close(): Promise<void> {
    this.sas.clear();
    this.policies.clear();
    this.routes.clear();
    this.routeRefs.clear();
  }
}
