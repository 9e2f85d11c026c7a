// Virtual IP pools for configuration payloads (RFC 7296 §3.15, INTERNAL_IP4/6_ADDRESS), modelled
// on strongSwan's in-memory pools: leases belong to an identity and go offline on release, so a
// returning client gets its previous address; fresh addresses come from a cursor (no array per
// address, so an IPv6 /64 costs nothing). Network addresses are never handed out (field facts
// §2.1.4: Windows fails on `prefix::`).
import type { PoolConfig } from './policy.js';
import { type AddrRange, type Family, familyOf, formatIp, fromBig, parseAddrRange, parseIp, toBig } from '../net/address.js';

export interface PoolLease {
  pool: string;
  address: string;
  identity: string;
  online: boolean;
}

interface Lease {
  addr: bigint;
  key: string;
  /** Number of SAs currently using it (reauthentication may overlap old and new SA). */
  holders: number;
  /** For choosing the least recently released offline lease to reassign. */
  releasedAt: number;
}

export class AddressPool {
  readonly name: string;
  readonly family: Family;
  readonly range: AddrRange;
  private readonly first: bigint;
  private readonly last: bigint;
  private cursor: bigint;
  private readonly byAddr = new Map<bigint, Lease>();
  private readonly byKey = new Map<string, Lease[]>();
  private clock = 0;

  constructor(name: string, addrs: string) {
    const r = parseAddrRange(addrs);
    if (!r) throw new Error(`pool ${name}: invalid addrs '${addrs}'`);
    this.name = name;
    this.family = r.family;
    this.range = r;
    let first = r.start;
    let last = r.end;
    if (r.prefix !== undefined) {
      const bits = r.family === 4 ? 32 : 128;
      const hostBits = bits - r.prefix;
      // A CIDR never hands out its network address; IPv4 also skips broadcast. /31, /32 and
      // /127, /128 have no room for that (RFC 3021) and are used whole.
      if (hostBits >= 2) {
        first += 1n;
        if (r.family === 4) last -= 1n;
      }
    }
    this.first = first;
    this.last = last;
    this.cursor = first;
  }

  static fromConfig(p: PoolConfig): AddressPool {
    return new AddressPool(p.name, p.addrs);
  }

  /** Addresses this pool can hand out (bigint: a v6 /64 exceeds Number). */
  get size(): bigint {
    let n = this.last - this.first + 1n;
    if (this.family === 6 && this.range.prefix === undefined) n -= this.zeroIidCount();
    return n < 0n ? 0n : n;
  }

  private zeroIidCount(): bigint {
    // Ranges: count addresses with an all-zero interface id (the /64's subnet-router anycast).
    const step = 1n << 64n;
    const firstZero = ((this.first + step - 1n) / step) * step;
    return firstZero > this.last ? 0n : (this.last - firstZero) / step + 1n;
  }

  /** A usable address of this pool (inside, not a network address). */
  private usable(v: bigint): boolean {
    if (v < this.first || v > this.last) return false;
    // In IPv6 ranges, skip addresses whose interface id is zero: Windows treats them as a
    // network address too.
    if (this.family === 6 && this.range.prefix === undefined && (v & ((1n << 64n) - 1n)) === 0n) return false;
    return true;
  }

  /**
   * An address for `key` (an identityKey()), preferring: the requested address if it is this
   * identity's; any offline lease of this identity; a never-used address; the oldest offline
   * lease of another identity. Undefined when exhausted (→ INTERNAL_ADDRESS_FAILURE).
   */
  acquire(key: string, requested?: Uint8Array | string): Uint8Array | undefined {
    const mine = this.byKey.get(key) ?? [];
    const req = typeof requested === 'string' ? parseIp(requested) : requested;
    if (req && familyOf(req) === this.family) {
      const v = toBig(req);
      const l = mine.find((x) => x.addr === v);
      if (l) return this.take(l);
    }
    const offline = mine.find((x) => x.holders === 0);
    if (offline) return this.take(offline);
    const fresh = this.nextFresh();
    if (fresh !== undefined) {
      const l: Lease = { addr: fresh, key, holders: 0, releasedAt: 0 };
      this.byAddr.set(fresh, l);
      this.byKey.set(key, [...mine, l]);
      return this.take(l);
    }
    let oldest: Lease | undefined;
    for (const l of this.byAddr.values()) if (l.holders === 0 && (!oldest || l.releasedAt < oldest.releasedAt)) oldest = l;
    if (!oldest) return undefined;
    // Reassign: the previous owner loses its claim on this address.
    const prev = this.byKey.get(oldest.key) ?? [];
    const rest = prev.filter((x) => x !== oldest);
    if (rest.length) this.byKey.set(oldest.key, rest);
    else this.byKey.delete(oldest.key);
    oldest.key = key;
    this.byKey.set(key, [...mine, oldest]);
    return this.take(oldest);
  }

  private take(l: Lease): Uint8Array {
    l.holders++;
    return fromBig(l.addr, this.family);
  }

  private nextFresh(): bigint | undefined {
    while (this.cursor <= this.last) {
      const v = this.cursor;
      this.cursor++;
      if (this.usable(v) && !this.byAddr.has(v)) return v;
    }
    return undefined;
  }

  /** Marks the identity's lease (or all its leases) offline; the address stays reserved for it. */
  release(key: string, address?: Uint8Array | string): boolean {
    const mine = this.byKey.get(key);
    if (!mine) return false;
    const a = typeof address === 'string' ? parseIp(address) : address;
    const v = a ? toBig(a) : undefined;
    let changed = false;
    for (const l of mine) {
      if (l.holders > 0 && (v === undefined || l.addr === v)) {
        l.holders = v === undefined ? 0 : l.holders - 1;
        if (l.holders === 0) l.releasedAt = ++this.clock;
        changed = true;
      }
    }
    return changed;
  }

  contains(addr: Uint8Array): boolean {
    return familyOf(addr) === this.family && this.usable(toBig(addr));
  }

  list(): PoolLease[] {
    return [...this.byAddr.values()]
      .sort((a, b) => (a.addr < b.addr ? -1 : 1))
      .map((l) => ({ pool: this.name, address: formatIp(fromBig(l.addr, this.family)), identity: l.key, online: l.holders > 0 }));
  }

  get onlineCount(): number {
    let n = 0;
    for (const l of this.byAddr.values()) if (l.holders > 0) n++;
    return n;
  }
}

/** The pools of a gateway by name; a connection asks its own pools in order, per family. */
export class PoolSet {
  private readonly pools = new Map<string, AddressPool>();

  constructor(configs: PoolConfig[]) {
    for (const c of configs) this.pools.set(c.name, AddressPool.fromConfig(c));
  }

  get(name: string): AddressPool | undefined {
    return this.pools.get(name);
  }

  /** First address of `family` from the named pools, or undefined (INTERNAL_ADDRESS_FAILURE). */
  acquire(poolNames: readonly string[], family: Family, key: string, requested?: Uint8Array): { pool: string; address: Uint8Array } | undefined {
    const candidates = poolNames.map((n) => this.pools.get(n)).filter((p): p is AddressPool => !!p && p.family === family);
    // A requested address that one of the pools holds for this identity wins over pool order.
    if (requested) {
      for (const p of candidates) {
        if (!p.contains(requested)) continue;
        const a = p.acquire(key, requested);
        if (a) return { pool: p.name, address: a };
      }
    }
    for (const p of candidates) {
      const a = p.acquire(key, requested);
      if (a) return { pool: p.name, address: a };
    }
    return undefined;
  }

  release(poolName: string, key: string, address: Uint8Array): boolean {
    return this.pools.get(poolName)?.release(key, address) ?? false;
  }

  list(): PoolLease[] {
    return [...this.pools.values()].flatMap((p) => p.list());
  }
}
