// Immutable policy objects the engine works from, built by src/config from swanctl.conf
// (connections, children, pools, secrets, authorities) plus the top-level `ikegate { }` section.
import type { Transform } from '../ike/codec/payload.js';

/** An IKE identity as carried in IDi/IDr (RFC 7296 §3.5). */
export interface IkeIdentity {
  type: number; // IdType
  data: Uint8Array;
}

/**
 * A configured identity to match against: `%any` matches everything; otherwise the same type
 * and value, where FQDN/RFC822 patterns may start with `*` (suffix match) and DN patterns
 * may use `*` for any single RDN value (strongSwan semantics).
 */
export type IdentityPattern = { any: true; text: '%any' } | { any: false; text: string; id: IkeIdentity };

/** One proposal: one list of transform ids per transform type (strongSwan proposal keywords). */
export interface ProposalSpec {
  /** The text it came from, e.g. "aes256gcm16-prfsha384-ecp384". */
  text: string;
  protocol: 'ike' | 'esp';
  encr: { id: number; keyBits?: number }[];
  prf: number[];
  integ: number[];
  ke: number[]; // for ESP: empty = no PFS; containing KeId.NONE (0) = PFS optional
  esn: number[]; // ESP only; default [NO_ESN]
}

export type AuthClass =
  | 'pubkey' // certificate signature (RSA/ECDSA, RFC 7427 when possible)
  | 'psk'
  | 'eap-mschapv2'
  | 'eap-tls'
  | 'eap-md5'
  | 'eap-dynamic';

export interface AuthRound {
  auth: AuthClass;
  id: IdentityPattern;
  /** Local: certificate files (already loaded by the credential store, referenced by index). */
  certs: string[];
  /** Remote: restrict trusted CAs to these (file names or subject DNs); empty = any loaded CA. */
  cacerts: string[];
  /** EAP identity to request ('%any' = ask the client with EAP-Identity). */
  eapId: IdentityPattern;
  /** Remote: end-entity certificate files the peer must use (swanctl `certs`); empty = any. */
  peerCerts?: string[];
  /** Remote: certificate revocation policy (swanctl `revocation`, default relaxed). */
  revocation?: 'strict' | 'ifuri' | 'relaxed';
  /** swanctl `round`: rounds are sorted by it, then by file order. */
  round?: number;
}

export interface ChildConfig {
  name: string;
  localTs: string[]; // CIDRs or "dynamic"
  remoteTs: string[];
  espProposals: ProposalSpec[];
  mode: 'tunnel' | 'transport';
  rekeyTime: number; // seconds, 0 = never
  lifeTime: number; // seconds (hard)
  rekeyBytes: number;
  lifeBytes: number;
  dpdAction: 'clear' | 'none' | 'restart';
  updown?: string;
  replayWindow: number;
  /** Jitter subtracted from rekeyTime (default lifeTime - rekeyTime). */
  randTime?: number;
  randBytes?: number;
  startAction?: 'none' | 'trap' | 'start';
  closeAction?: 'none' | 'trap' | 'start';
  hostaccess?: boolean;
  /** Install IPsec policies (swanctl `policies`, default yes). */
  policies?: boolean;
  ipcomp?: boolean;
  /** Close the CHILD_SA after this many idle seconds, 0 = never. */
  inactivity?: number;
}

export interface Connection {
  name: string;
  localAddrs: string[]; // '%any' or addresses/CIDRs/ranges
  remoteAddrs: string[];
  ikeProposals: ProposalSpec[];
  /** Prefer our proposal order instead of the client's (strongSwan `prefer_configured_proposals`-like). */
  preferServerOrder: boolean;
  local: AuthRound[]; // usually one round
  remote: AuthRound[];
  pools: string[];
  children: ChildConfig[];
  fragmentation: 'yes' | 'no' | 'accept' | 'force';
  fragmentSize: number; // bytes of an IKE fragment datagram, 0 = default (1280)
  mobike: boolean;
  encap: boolean; // force UDP encapsulation
  dpdDelay: number; // seconds, 0 = off
  dpdTimeout: number;
  rekeyTime: number; // IKE_SA rekey seconds, 0 = never
  reauthTime: number;
  overTime: number;
  unique: 'never' | 'replace' | 'keep' | 'no';
  sendCert: 'always' | 'ifasked' | 'never';
  sendCertreq: boolean;
  keyingTries: number;
  /** Jitter subtracted from rekey/reauth times (swanctl `rand_time`, default overTime). */
  randTime?: number;
  localPort?: number;
  remotePort?: number;
  /** Source file and line of the `connections.NAME` section, for error messages. */
  where: string;
}

export interface PoolConfig {
  name: string;
  /** CIDR ("10.3.0.0/24", "2001:db8::/120") or range ("10.3.0.1-10.3.0.100"). */
  addrs: string;
  dns: string[];
  nbns: string[];
  /** Extra CP attributes (swanctl `pools.<name>.<attr>`), by attribute type; text values. */
  attributes?: { type: number; values: string[] }[];
  where: string;
}

export interface SecretConfig {
  kind: 'ike' | 'eap' | 'xauth' | 'ntlm' | 'private' | 'rsa' | 'ecdsa' | 'pkcs8' | 'pkcs12';
  name: string;
  ids: IdentityPattern[]; // empty = matches any
  /** Raw secret bytes (from `secret = ...`, 0x/0s prefixes decoded). */
  secret?: Uint8Array;
  /** NT hash MD4(UTF-16LE(password)): from `secrets.ntlm<suffix>.secret` (swanctl) or, as an
   *  ikegate extension, `nt_hash = 0x..` in an `eap` section. */
  ntHash?: Uint8Array;
  file?: string;
  where: string;
}

export interface DaemonSettings {
  listen: string[]; // addresses to bind, default ['0.0.0.0', '::']
  port: number; // 500
  portNatT: number; // 4500
  stateDir: string;
  controlSocket: string;
  logLevel: 'trace' | 'debug' | 'info' | 'warn' | 'error';
  dataplane: 'auto' | 'memory' | 'xfrm' | 'userspace';
  /** Half-open IKE_SAs from which on a COOKIE is demanded (RFC 7296 §2.6). */
  cookieThreshold: number;
  halfOpenTimeout: number; // seconds
  retransmitTimeout: number;
  retransmitTries: number;
  retransmitBase: number;
  keepaliveInterval: number; // NAT-T keepalive seconds
  routingTable: number;
  /** Whose proposal order wins among acceptable proposals: the client's (default) or ours. */
  proposalOrder: 'client' | 'server';
  /** Largest IKE fragment datagram we send, IP and UDP headers included (RFC 7383 §2.5.1). */
  fragmentSize: number;
  /**
   * RFC 5998 EAP-only authentication: when a client asks for it and the EAP method authenticates
   * both sides (MSCHAPv2, TLS), skip our certificate AUTH. Off by default: the certificate is what
   * protects clients from a rogue gateway that merely knows their EAP secrets.
   */
  eapOnly: boolean;
  /**
   * EAP-MSCHAPv2 `DOMAIN\user` identities: the domain is always stripped before the secret lookup
   * (RFC 2759 §4); when this is set, the domain a client sends must also equal it.
   */
  mschapv2Domain?: string;
}

export interface GatewayConfig {
  daemon: DaemonSettings;
  connections: Connection[];
  pools: PoolConfig[];
  secrets: SecretConfig[];
  /** Directory laid out like /etc/swanctl (x509, x509ca, private, rsa, ecdsa, pkcs8). */
  credentialDir: string;
  /** Files the config was read from (first = the main file). */
  files: string[];
  /** swanctl `authorities` sections (CRL/OCSP locations per CA). */
  authorities?: AuthorityConfig[];
}

export interface AuthorityConfig {
  name: string;
  /** CA certificate file, relative to the credential dir's x509ca/ or absolute. */
  cacert?: string;
  file?: string;
  crlUris: string[];
  ocspUris: string[];
  where: string;
}

export type { Transform };
