// Configuration payload handling (RFC 7296 §3.15, §3.15.4): answer a CFG_REQUEST with virtual
// IPs from the connection's pools and the pools' DNS/NBNS servers. Attributes we do not serve
// (e.g. Microsoft's 23456/23457, APPLICATION_VERSION) are ignored rather than refused, which
// RFC 7296 §3.15.1 allows ("the responder ... MAY ignore").
import { CfgType, CpAttr } from '../../constants.js';
import type { CpAttribute, Payload } from '../../codec/payload.js';
import type { Connection, PoolConfig } from '../../../policy/policy.js';
import type { PoolSet } from '../../../policy/pool.js';
import { formatIp, parseIp } from '../../../net/address.js';

export interface ConfigAnswer {
  /** The CFG_REPLY to send, if the request asked for anything we serve. */
  reply?: Extract<Payload, { kind: 'cp' }>;
  leases: { pool: string; key: string; address: Uint8Array }[];
  vips: string[];
  /** Addresses were requested but none could be assigned (→ INTERNAL_ADDRESS_FAILURE). */
  addressFailure?: string;
}

export function answerConfigRequest(
  cp: Extract<Payload, { kind: 'cp' }>,
  conn: Connection,
  pools: PoolSet,
  poolConfigs: readonly PoolConfig[],
  leaseKey: string,
): ConfigAnswer {
  if (cp.cfgType !== CfgType.CFG_REQUEST) return { leases: [], vips: [] };
  const wants = new Set(cp.attributes.map((a) => a.type));
  const requested = (type: number, len: number) => cp.attributes.find((a) => a.type === type && a.value.length >= len)?.value.subarray(0, len);
  const attrs: CpAttribute[] = [];
  const leases: ConfigAnswer['leases'] = [];
  const askedV4 = wants.has(CpAttr.INTERNAL_IP4_ADDRESS);
  const askedV6 = wants.has(CpAttr.INTERNAL_IP6_ADDRESS);
  if (askedV4) {
    const hint = requested(CpAttr.INTERNAL_IP4_ADDRESS, 4);
    const got = pools.acquire(conn.pools, 4, leaseKey, hint && hint.some((b) => b !== 0) ? hint : undefined);
    if (got) {
      leases.push({ pool: got.pool, key: leaseKey, address: got.address });
      attrs.push({ type: CpAttr.INTERNAL_IP4_ADDRESS, value: got.address });
    }
  }
  if (askedV6) {
    const hint = requested(CpAttr.INTERNAL_IP6_ADDRESS, 16);
    const got = pools.acquire(conn.pools, 6, leaseKey, hint && hint.some((b) => b !== 0) ? hint : undefined);
    if (got) {
      leases.push({ pool: got.pool, key: leaseKey, address: got.address });
      // INTERNAL_IP6_ADDRESS is the address followed by a prefix-length octet (RFC 7296 §3.15.1).
      const value = new Uint8Array(17);
      value.set(got.address);
      value[16] = 128;
      attrs.push({ type: CpAttr.INTERNAL_IP6_ADDRESS, value });
    }
  }
  // DNS and NBNS servers of the connection's pools, each in the attribute of its family.
  const used = poolConfigs.filter((p) => conn.pools.includes(p.name));
  const servers = (list: (p: PoolConfig) => string[]) => [...new Set(used.flatMap(list))];
  for (const dns of servers((p) => p.dns)) {
    const b = parseIp(dns);
    if (b) attrs.push({ type: b.length === 4 ? CpAttr.INTERNAL_IP4_DNS : CpAttr.INTERNAL_IP6_DNS, value: b });
  }
  for (const nbns of servers((p) => p.nbns)) {
    const b = parseIp(nbns);
    if (b && b.length === 4) attrs.push({ type: CpAttr.INTERNAL_IP4_NBNS, value: b });
  }
  const vips = leases.map((l) => formatIp(l.address));
  const answer: ConfigAnswer = { leases, vips };
  if ((askedV4 || askedV6) && leases.length === 0) {
    answer.addressFailure = conn.pools.length === 0 ? `connection ${conn.name} has no pools` : `pools ${conn.pools.join(', ')} have no free address`;
  }
  if (attrs.length > 0) answer.reply = { kind: 'cp', critical: false, cfgType: CfgType.CFG_REPLY, attributes: attrs };
  return answer;
}
