// The plain-data view of an IKE_SA shown by `ikegate list-sas` (one object per IKE_SA).
import { toHex } from '../../crypto/bytes.js';
import { formatEndpoint } from '../../net/endpoint.js';
import { formatIdentity } from '../../policy/identity.js';
import type { IkeSa } from './ike-sa.js';
import type { SaUsage } from '../../xfrm/dataplane.js';

export interface ChildSaSummary {
  name: string;
  reqid: number;
  spiIn: string;
  spiOut: string;
  proposal: string;
  localTs: string[];
  remoteTs: string[];
  encap: boolean;
  ageSeconds: number;
  /** Traffic counters from the dataplane (list-sas asks for them): bytes, packets, last use (ms). */
  usageIn?: SaUsage;
  usageOut?: SaUsage;
}

export interface IkeSaSummary {
  id: string;
  name: string;
  connection?: string;
  state: string;
  local: string;
  remote: string;
  localId?: string;
  remoteId?: string;
  remoteAuth?: string;
  eapIdentity?: string;
  eapMethod?: string;
  ispi: string;
  rspi: string;
  proposal: string;
  natLocal: boolean;
  natRemote: boolean;
  vips: string[];
  ageSeconds: number;
  children: ChildSaSummary[];
}

export function summarise(sa: IkeSa, now: number): IkeSaSummary {
  return {
    id: sa.id,
    name: sa.label,
    ...(sa.conn ? { connection: sa.conn.name } : {}),
    state: sa.phase.toUpperCase(),
    local: formatEndpoint(sa.local),
    remote: formatEndpoint(sa.remote),
    ...(sa.localId ? { localId: formatIdentity(sa.localId) } : {}),
    ...(sa.remoteId ? { remoteId: formatIdentity(sa.remoteId) } : {}),
    ...(sa.remoteAuth ? { remoteAuth: sa.remoteAuth } : {}),
    ...(sa.eapIdentity ? { eapIdentity: sa.eapIdentity } : {}),
    ...(sa.eapMethod ? { eapMethod: sa.eapMethod } : {}),
    ispi: toHex(sa.ispi),
    rspi: toHex(sa.rspi),
    proposal: sa.negotiated.text,
    natLocal: sa.natLocal,
    natRemote: sa.natRemote,
    vips: [...sa.vips],
    ageSeconds: Math.round((now - sa.createdAt) / 1000),
    children: sa.children.map((c) => ({
      name: c.name,
      reqid: c.reqid,
      spiIn: c.spiIn.toString(16).padStart(8, '0'),
      spiOut: c.spiOut.toString(16).padStart(8, '0'),
      proposal: c.proposal,
      localTs: c.localTs,
      remoteTs: c.remoteTs,
      encap: c.encap,
      ageSeconds: Math.round((now - c.createdAt) / 1000),
    })),
  };
}
