// IANA "Internet Key Exchange Version 2 (IKEv2) Parameters" registries used by ikegate,
// as `as const` objects with derived number -> name lookups for logs (RFC 7296 §3).

/** Builds a lookup that names a registry value, or prints `PREFIX(n)` for unknown ones. */
export function nameOf<T extends Record<string, number>>(table: T, prefix: string): (v: number) => string {
  const names = new Map<number, string>();
  for (const [k, v] of Object.entries(table)) if (!names.has(v)) names.set(v, k);
  return (v: number) => names.get(v) ?? `${prefix}(${v})`;
}

type ValueOf<T> = T[keyof T];

export const IKE_MAJOR_VERSION = 2;
export const IKE_HEADER_LENGTH = 28;

/** IKE header flags (RFC 7296 §3.1). */
export const HeaderFlag = { INITIATOR: 0x08, VERSION: 0x10, RESPONSE: 0x20 } as const;

export const ExchangeType = {
  IKE_SA_INIT: 34,
  IKE_AUTH: 35,
  CREATE_CHILD_SA: 36,
  INFORMATIONAL: 37,
  IKE_SESSION_RESUME: 38,
  IKE_INTERMEDIATE: 43,
  IKE_FOLLOWUP_KE: 44,
} as const;
export type ExchangeType = ValueOf<typeof ExchangeType>;
export const exchangeName = nameOf(ExchangeType, 'EXCHANGE');

export const PayloadType = {
  NONE: 0,
  SA: 33,
  KE: 34,
  IDi: 35,
  IDr: 36,
  CERT: 37,
  CERTREQ: 38,
  AUTH: 39,
  NONCE: 40,
  NOTIFY: 41,
  DELETE: 42,
  VENDOR: 43,
  TSi: 44,
  TSr: 45,
  SK: 46,
  CP: 47,
  EAP: 48,
  SKF: 53,
} as const;
export type PayloadType = ValueOf<typeof PayloadType>;
export const payloadName = nameOf(PayloadType, 'PAYLOAD');

export const ProtocolId = { IKE: 1, AH: 2, ESP: 3 } as const;
export type ProtocolId = ValueOf<typeof ProtocolId>;
export const protocolName = nameOf(ProtocolId, 'PROTO');

export const TransformType = { ENCR: 1, PRF: 2, INTEG: 3, KE: 4, ESN: 5 } as const;
export type TransformType = ValueOf<typeof TransformType>;

export const EncrId = {
  DES: 2,
  '3DES': 3,
  NULL: 11,
  AES_CBC: 12,
  AES_CTR: 13,
  AES_CCM_8: 14,
  AES_CCM_12: 15,
  AES_CCM_16: 16,
  AES_GCM_8: 18,
  AES_GCM_12: 19,
  AES_GCM_16: 20,
  NULL_AUTH_AES_GMAC: 21,
  CHACHA20_POLY1305: 28,
} as const;

export const PrfId = {
  HMAC_MD5: 1,
  HMAC_SHA1: 2,
  AES128_XCBC: 4,
  HMAC_SHA2_256: 5,
  HMAC_SHA2_384: 6,
  HMAC_SHA2_512: 7,
  AES128_CMAC: 8,
} as const;

export const IntegId = {
  NONE: 0,
  HMAC_MD5_96: 1,
  HMAC_SHA1_96: 2,
  AES_XCBC_96: 5,
  HMAC_SHA2_256_128: 12,
  HMAC_SHA2_384_192: 13,
  HMAC_SHA2_512_256: 14,
} as const;

/** Key exchange methods (formerly "Diffie-Hellman Group Transform IDs"). */
export const KeId = {
  NONE: 0,
  MODP_768: 1,
  MODP_1024: 2,
  MODP_1536: 5,
  MODP_2048: 14,
  MODP_3072: 15,
  MODP_4096: 16,
  MODP_6144: 17,
  MODP_8192: 18,
  ECP_256: 19,
  ECP_384: 20,
  ECP_521: 21,
  CURVE25519: 31,
  CURVE448: 32,
} as const;

export const EsnId = { NO_ESN: 0, ESN: 1 } as const;

/** Transform attribute types (RFC 7296 §3.3.5): only Key Length is defined. */
export const TransformAttr = { KEY_LENGTH: 14 } as const;

export const IdType = {
  ID_IPV4_ADDR: 1,
  ID_FQDN: 2,
  ID_RFC822_ADDR: 3,
  ID_IPV6_ADDR: 5,
  ID_DER_ASN1_DN: 9,
  ID_DER_ASN1_GN: 10,
  ID_KEY_ID: 11,
} as const;
export type IdType = ValueOf<typeof IdType>;

export const CertEncoding = {
  X509_SIGNATURE: 4,
  CRL: 7,
  HASH_AND_URL_X509: 12,
  HASH_AND_URL_BUNDLE: 13,
} as const;

export const AuthMethod = {
  RSA_SIG: 1,
  SHARED_KEY_MIC: 2,
  DSS_SIG: 3,
  ECDSA_SHA256_P256: 9,
  ECDSA_SHA384_P384: 10,
  ECDSA_SHA512_P521: 11,
  GENERIC_SECURE_PASSWORD: 12,
  NULL_AUTH: 13,
  DIGITAL_SIGNATURE: 14,
} as const;
export type AuthMethod = ValueOf<typeof AuthMethod>;

/** RFC 7427 §7 hash algorithm identifiers used in SIGNATURE_HASH_ALGORITHMS. */
export const HashAlgorithm = { SHA1: 1, SHA2_256: 2, SHA2_384: 3, SHA2_512: 4, IDENTITY: 5 } as const;

export const TsType = { TS_IPV4_ADDR_RANGE: 7, TS_IPV6_ADDR_RANGE: 8 } as const;

export const CfgType = { CFG_REQUEST: 1, CFG_REPLY: 2, CFG_SET: 3, CFG_ACK: 4 } as const;

export const CpAttr = {
  INTERNAL_IP4_ADDRESS: 1,
  INTERNAL_IP4_NETMASK: 2,
  INTERNAL_IP4_DNS: 3,
  INTERNAL_IP4_NBNS: 4,
  INTERNAL_IP4_DHCP: 6,
  APPLICATION_VERSION: 7,
  INTERNAL_IP6_ADDRESS: 8,
  INTERNAL_IP6_DNS: 10,
  INTERNAL_IP6_DHCP: 12,
  INTERNAL_IP4_SUBNET: 13,
  SUPPORTED_ATTRIBUTES: 14,
  INTERNAL_IP6_SUBNET: 15,
  INTERNAL_DNS_DOMAIN: 25,
  /** Microsoft-private: INTERNAL_IP4_SERVER / INTERNAL_IP6_SERVER (MS-IKEE). */
  MS_INTERNAL_IP4_SERVER: 23456,
  MS_INTERNAL_IP6_SERVER: 23457,
} as const;
export const cpAttrName = nameOf(CpAttr, 'ATTR');

export const NotifyType = {
  // Errors (RFC 7296 §3.10.1)
  UNSUPPORTED_CRITICAL_PAYLOAD: 1,
  INVALID_IKE_SPI: 4,
  INVALID_MAJOR_VERSION: 5,
  INVALID_SYNTAX: 7,
  INVALID_MESSAGE_ID: 9,
  INVALID_SPI: 11,
  NO_PROPOSAL_CHOSEN: 14,
  INVALID_KE_PAYLOAD: 17,
  AUTHENTICATION_FAILED: 24,
  SINGLE_PAIR_REQUIRED: 34,
  NO_ADDITIONAL_SAS: 35,
  INTERNAL_ADDRESS_FAILURE: 36,
  FAILED_CP_REQUIRED: 37,
  TS_UNACCEPTABLE: 38,
  INVALID_SELECTORS: 39,
  // RFC 4555 §4.2.1 (MOBIKE)
  UNACCEPTABLE_ADDRESSES: 40,
  UNEXPECTED_NAT_DETECTED: 41,
  TEMPORARY_FAILURE: 43,
  CHILD_SA_NOT_FOUND: 44,
  // Status
  INITIAL_CONTACT: 16384,
  SET_WINDOW_SIZE: 16385,
  ADDITIONAL_TS_POSSIBLE: 16386,
  IPCOMP_SUPPORTED: 16387,
  NAT_DETECTION_SOURCE_IP: 16388,
  NAT_DETECTION_DESTINATION_IP: 16389,
  COOKIE: 16390,
  USE_TRANSPORT_MODE: 16391,
  HTTP_CERT_LOOKUP_SUPPORTED: 16392,
  REKEY_SA: 16393,
  ESP_TFC_PADDING_NOT_SUPPORTED: 16394,
  NON_FIRST_FRAGMENTS_ALSO: 16395,
  MOBIKE_SUPPORTED: 16396,
  ADDITIONAL_IP4_ADDRESS: 16397,
  ADDITIONAL_IP6_ADDRESS: 16398,
  NO_ADDITIONAL_ADDRESSES: 16399,
  UPDATE_SA_ADDRESSES: 16400,
  COOKIE2: 16401,
  NO_NATS_ALLOWED: 16402,
  AUTH_LIFETIME: 16403,
  MULTIPLE_AUTH_SUPPORTED: 16404,
  ANOTHER_AUTH_FOLLOWS: 16405,
  REDIRECT_SUPPORTED: 16406,
  REDIRECT: 16407,
  REDIRECTED_FROM: 16408,
  EAP_ONLY_AUTHENTICATION: 16417,
  CHILDLESS_IKEV2_SUPPORTED: 16418,
  IKEV2_FRAGMENTATION_SUPPORTED: 16430,
  SIGNATURE_HASH_ALGORITHMS: 16431,
  USE_PPK: 16435,
  INTERMEDIATE_EXCHANGE_SUPPORTED: 16438,
  /** Windows error code carried by Microsoft servers (strongSwan: MS_NOTIFY_STATUS). */
  MS_NOTIFY_STATUS: 12345,
} as const;
export type NotifyType = ValueOf<typeof NotifyType>;
export const notifyName = nameOf(NotifyType, 'NOTIFY');
/** Notify types below 16384 are errors (RFC 7296 §3.10.1). */
export const isErrorNotify = (n: number): boolean => n < 16384;

export const EapCode = { REQUEST: 1, RESPONSE: 2, SUCCESS: 3, FAILURE: 4 } as const;
export const EapType = { IDENTITY: 1, NOTIFICATION: 2, NAK: 3, MD5: 4, TLS: 13, TTLS: 21, PEAP: 25, MSCHAPV2: 26 } as const;
