// Shared pieces of the interop scenarios: the gateway's swanctl-syntax configuration,
// identities, pools, and the client connection that matches it.
import { logLevel } from './gateway.js';
import type { Gateway, LogLine } from './gateway.js';
import { GATEWAY_ID } from './pki.js';
import { waitFor } from './proc.js';
import type { ClientConnection } from './strongswan-client.js';

export const CLIENT_ID = 'client.example.org';
export const POOL_V4 = '198.18.0.0/24';
export const POOL_V6 = '2001:db8:f00d::/120';
export const DNS_V4 = '198.18.255.53';
export const DNS_V6 = '2001:db8::53';

/** Everything the gateway offers (each scenario client offers a subset). */
export const GATEWAY_IKE_PROPOSALS = [
  'aes256gcm16-prfsha384-ecp384',
  'aes256gcm16-prfsha256-x25519',
  'aes256-sha1-modp1024',
];
export const GATEWAY_ESP_PROPOSALS = ['aes256gcm16', 'aes256-sha1'];

export interface GatewayConfigOptions {
  auth: 'psk' | 'pubkey';
  /** PSK secrets by client identity. */
  psks?: Array<{ id: string; secret: string }>;
  proposals?: string[];
  espProposals?: string[];
}

/** The gateway configuration (without the `ikegate { }` section; startIkegate adds it). */
export function gatewayConfig(o: GatewayConfigOptions): string {
  const local =
    o.auth === 'pubkey'
      ? `auth = pubkey\n      certs = server.pem\n      id = ${GATEWAY_ID}`
      : `auth = psk\n      id = ${GATEWAY_ID}`;
  const secrets = (o.psks ?? [])
    .map((p, i) => `  ike-${i + 1} {\n    id = ${p.id}\n    secret = "${p.secret}"\n  }`)
    .join('\n');
  return remoteAccessConfig({
    name: 'rw',
    proposals: o.proposals ?? GATEWAY_IKE_PROPOSALS,
    espProposals: o.espProposals ?? GATEWAY_ESP_PROPOSALS,
    local,
    remote: `auth = ${o.auth}`,
    secrets,
  });
}

/** One remote-access connection with the v4/v6 pools and a full-tunnel child, plus secrets. */
function remoteAccessConfig(c: { name: string; proposals: string[]; espProposals: string[]; local: string; remote: string; secrets: string }): string {
  return `connections {
  ${c.name} {
    version = 2
    remote_addrs = %any
    pools = v4, v6
    proposals = ${c.proposals.join(', ')}
    local {
      ${c.local}
    }
    remote {
      ${c.remote}
    }
    children {
      net {
        local_ts = 0.0.0.0/0, ::/0
        esp_proposals = ${c.espProposals.join(', ')}
      }
    }
  }
}
pools {
  v4 {
    addrs = ${POOL_V4}
    dns = ${DNS_V4}
  }
  v6 {
    addrs = ${POOL_V6}
    dns = ${DNS_V6}
  }
}
secrets {
${c.secrets}
}
`;
}

export type EapMethod = 'eap-mschapv2' | 'eap-tls';

/** The IKE proposals of the EAP gateway (Windows' defaults first, then a modern one). */
export const EAP_GATEWAY_IKE_PROPOSALS = [
  'aes256-sha1-modp1024',
  'aes256-sha256-modp1024',
  'aes256gcm16-prfsha256-x25519',
];
export const EAP_GATEWAY_ESP_PROPOSALS = ['aes256-sha1', 'aes256gcm16'];

export interface EapGatewayConfigOptions {
  method: EapMethod;
  /** EAP secrets (EAP-MSCHAPv2 users). */
  users?: Array<{ id: string; secret: string }>;
  proposals?: string[];
  espProposals?: string[];
}

/** Quotes a swanctl.conf string value (backslashes and quotes escaped). */
function confString(v: string): string {
  return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/**
 * The EAP gateway configuration (connection "eap"): the gateway authenticates with its
 * certificate, clients with EAP (eap_id = %any, so the gateway opens with EAP-Identity),
 * addresses from the v4 and v6 pools.
 */
export function eapGatewayConfig(o: EapGatewayConfigOptions): string {
  const secrets = (o.users ?? [])
    .map((u, i) => `  eap-${i + 1} {\n    id = ${confString(u.id)}\n    secret = ${confString(u.secret)}\n  }`)
    .join('\n');
  return remoteAccessConfig({
    name: 'eap',
    proposals: o.proposals ?? EAP_GATEWAY_IKE_PROPOSALS,
    espProposals: o.espProposals ?? EAP_GATEWAY_ESP_PROPOSALS,
    local: `auth = pubkey\n      certs = server.pem\n      id = ${GATEWAY_ID}`,
    remote: `auth = ${o.method}\n      eap_id = %any`,
    secrets,
  });
}

/**
 * A Windows-like EAP-MSCHAPv2 client: IDi is its own outer IP address (ID_IPV4_ADDR), no IDr
 * (remote id %any: the gateway's certificate, from the trusted CA, decides), EAP identity
 * eapId with its password.
 */
export function mschapv2Client(
  remoteAddrs: string,
  ownIp: string,
  eapId: string,
  password: string,
  over: Partial<ClientConnection> = {},
): ClientConnection {
  return {
    remoteAddrs,
    proposals: ['aes256-sha1-modp1024'],
    children: { net: { espProposals: ['aes256-sha1'] } },
    local: { auth: 'eap-mschapv2', id: ownIp, eapId },
    remote: { auth: 'pubkey' },
    secrets: [{ type: 'eap', id: eapId, secret: password }],
    ...over,
  };
}

/** An EAP-TLS client with the certificate x509/<certName>.pem; EAP identity eapId. */
export function eapTlsClient(
  remoteAddrs: string,
  ownId: string,
  eapId: string,
  certName: string,
  over: Partial<ClientConnection> = {},
): ClientConnection {
  return {
    remoteAddrs,
    proposals: ['aes256gcm16-prfsha256-x25519'],
    local: { auth: 'eap-tls', id: ownId, certs: [`${certName}.pem`], eapId },
    remote: { auth: 'pubkey' },
    ...over,
  };
}

/** A PSK client connection to the gateway. */
export function pskClient(remoteAddrs: string, secret: string, over: Partial<ClientConnection> = {}): ClientConnection {
  return {
    remoteAddrs,
    local: { auth: 'psk', id: CLIENT_ID },
    remote: { auth: 'psk', id: GATEWAY_ID },
    secrets: [{ type: 'ike', ids: [CLIENT_ID, GATEWAY_ID], secret }],
    ...over,
  };
}

/** A certificate client connection (certificate file x509/<certName>.pem in the client's dir). */
export function certClient(remoteAddrs: string, id: string, certName: string, over: Partial<ClientConnection> = {}): ClientConnection {
  return {
    remoteAddrs,
    local: { auth: 'pubkey', id, certs: [`${certName}.pem`] },
    remote: { auth: 'pubkey', id: GATEWAY_ID },
    ...over,
  };
}

export function isInPool4(a: string): boolean {
  return /^198\.18\.0\.\d{1,3}$/.test(a);
}

export function isInPool6(a: string): boolean {
  return /^2001:db8:f00d::[0-9a-f]{1,2}$/.test(a);
}

export function randomSecret(): string {
  return `psk-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
}

/**
 * Waits for the gateway to log why it rejected an IKE_AUTH. For ikegate: a pino line at
 * level info (30) or above whose JSON mentions AUTHENTICATION_FAILED or "authentication
 * failed". For the strongSwan reference responder: its own wording. Only log lines from
 * index sinceLine on count: pass `gw.logLines().length` taken before an attempt to demand a
 * line about that attempt rather than an earlier one.
 */
export async function waitForAuthFailureLog(gw: Gateway, timeoutMs = 5000, sinceLine = 0): Promise<LogLine> {
  const reference = gw.kind === 'strongswan';
  const pred = reference
    ? (l: LogLine): boolean =>
        /MAC mismatched|N\(AUTH_FAILED\)|constraint check failed|no trusted .* found|EAP method \S+ failed|verification failed for user|no EAP key found/.test(
          l.msg ?? '',
        )
    : (l: LogLine): boolean => logLevel(l) >= 30 && /AUTHENTICATION_FAILED|authentication failed/i.test(JSON.stringify(l));
  const what = reference
    ? 'strongSwan rejecting IKE_AUTH'
    : 'gateway log: a line (level >= info) naming AUTHENTICATION_FAILED / "authentication failed"';
  try {
    return await waitFor(what, () => gw.logLines().slice(sinceLine).find(pred), timeoutMs, 50);
  } catch (e) {
    throw new Error(`${(e as Error).message}\n${gw.describe()}`);
  }
}

/** Polls the gateway's IKE_SA list until it has `count` entries (e.g. after a DELETE). */
export async function waitForGatewaySaCount(gw: Gateway, count: number, timeoutMs = 5000): Promise<Array<Record<string, unknown>>> {
  let last: Array<Record<string, unknown>> = [];
  try {
    return await waitFor(
      `${count} IKE_SA(s) on the gateway`,
      async () => {
        last = await gw.listSas();
        return last.length === count ? last : undefined;
      },
      timeoutMs,
      200,
    );
  } catch (e) {
    throw new Error(`${(e as Error).message}; last list-sas: ${JSON.stringify(last)}`);
  }
}

/**
 * Runs a test file's setup in beforeAll without letting a failure turn the tests into
 * "skipped": the error is kept and every test rethrows it through check(), so a missing
 * tool or a daemon that does not start shows up as failed tests with the reason.
 */
export class FileSetup {
  private error: unknown;
  private failed = false;

  async run(fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      this.failed = true;
      this.error = e;
    }
  }

  check(): void {
    if (this.failed) throw this.error instanceof Error ? this.error : new Error(String(this.error));
  }
}

/**
 * True when (JSON) text mentions the address as a whole: "addr", "addr/len", "addr:port",
 * "[v6addr]:port" all count; 198.18.0.1 does not match inside 198.18.0.10.
 */
export function jsonMentionsAddress(json: string, address: string): boolean {
  const esc = address.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const re = address.includes(':')
    ? new RegExp(`(?<![0-9a-f:])${esc}(?![0-9a-f:])`, 'i')
    : new RegExp(`(?<![0-9.])${esc}(?![0-9.])`);
  return re.test(json);
}
