// One-line renderings of IKE messages for logs, in strongSwan's notation (message.c
// get_string(), notify_type_short_names, configuration_attribute_type_short_names,
// eap_type_short_names), so that our logs and a strongSwan peer's logs read alike:
//   IKE_AUTH request 1 [ IDi CERT N(INIT_CONTACT) IDr AUTH CPRQ(ADDR DNS) SA TSi TSr ]
// Only types and short labels are printed: never key material, nonces or payload data.
import { EapCode, NotifyType, exchangeName } from '../constants.js';
import { isResponse, type IkeHeader } from './header.js';
import type { Payload, PayloadKind } from './payload.js';

/** Short payload labels (strongSwan payload_type_short_names; SK is strongSwan's "E"). */
const KIND_LABEL: Readonly<Record<PayloadKind, string>> = {
  sa: 'SA',
  ke: 'KE',
  idi: 'IDi',
  idr: 'IDr',
  cert: 'CERT',
  certreq: 'CERTREQ',
  auth: 'AUTH',
  nonce: 'No',
  notify: 'N',
  delete: 'D',
  vendor: 'V',
  tsi: 'TSi',
  tsr: 'TSr',
  sk: 'SK',
  cp: 'CP',
  eap: 'EAP',
  skf: 'EF',
  unknown: '??',
};

export function kindLabel(kind: PayloadKind): string {
  return KIND_LABEL[kind];
}

/** strongSwan prints values missing from a name table as "(n)". */
function lookup(table: ReadonlyMap<number, string>, v: number): string {
  return table.get(v) ?? `(${v})`;
}

/** Fills consecutive values starting at `from` (the way strongSwan's ENUM_NEXT ranges do). */
function range(from: number, names: readonly string[]): [number, string][] {
  return names.map((n, i) => [from + i, n]);
}

const NOTIFY_SHORT: ReadonlyMap<number, string> = new Map([
  [1, 'CRIT'],
  ...range(4, ['INVAL_IKE_SPI', 'INVAL_MAJOR']),
  [7, 'INVAL_SYN'],
  [9, 'INVAL_MID'],
  [11, 'INVAL_SPI'],
  ...range(13, ['ATTR_UNSUP', 'NO_PROP']),
  ...range(16, ['PLD_MAL', 'INVAL_KE', 'INVAL_ID', 'INVAL_CERTEN', 'INVAL_CERT', 'CERT_UNSUP', 'INVAL_CA', 'INVAL_HASH', 'AUTH_FAILED']),
  ...range(34, [
    'SINGLE_PAIR', 'NO_ADD_SAS', 'INT_ADDR_FAIL', 'FAIL_CP_REQ', 'TS_UNACCEPT', 'INVAL_SEL',
    'UNACCEPT_ADDR', 'UNEXPECT_NAT', 'ASSIGNED_HoA', 'TEMP_FAIL', 'NO_CHILD_SA',
  ]),
  [47, 'NO_STATE'],
  [12345, 'MS_STATUS'],
  ...range(16384, [
    'INIT_CONTACT', 'SET_WINSIZE', 'ADD_TS_POSS', 'IPCOMP_SUP', 'NATD_S_IP', 'NATD_D_IP', 'COOKIE',
    'USE_TRANSP', 'HTTP_CERT_LOOK', 'REKEY_SA', 'ESP_TFC_PAD_N', 'NON_FIRST_FRAG', 'MOBIKE_SUP',
    'ADD_4_ADDR', 'ADD_6_ADDR', 'NO_ADD_ADDR', 'UPD_SA_ADDR', 'COOKIE2', 'NO_NATS', 'AUTH_LFT',
    'MULT_AUTH', 'AUTH_FOLLOWS', 'REDIR_SUP', 'REDIR', 'REDIR_FROM', 'TKT_LT_OPAK', 'TKT_REQ',
    'TKT_ACK', 'TKT_NACK', 'TKT_OPAK', 'LINK_ID', 'WESP_MODE', 'ROHC_SUP', 'EAP_ONLY', 'CHDLESS_SUP',
    'CRASH_DET', 'MSG_ID_SYN_SUP', 'RPL_CTR_SYN_SUP', 'MSG_ID_SYN', 'RPL_CTR_SYN', 'SEC_PASSWD',
    'PSK_PST', 'PSK_CFM', 'ERX_SUP', 'IFOM_CAP', 'SENDER_REQ_ID', 'FRAG_SUP', 'HASH_ALG',
  ]),
  ...range(16435, ['USE_PPK', 'PPK_ID', 'NO_PPK', 'IKE_INT_SUP']),
  [16441, 'ADD_KE'],
]);

const CP_ATTR_SHORT: ReadonlyMap<number, string> = new Map([
  ...range(1, [
    'ADDR', 'MASK', 'DNS', 'NBNS', 'EXP', 'DHCP', 'VER', 'ADDR6', 'MASK6', 'DNS6', 'NBNS6', 'DHCP6',
    'SUBNET', 'SUP', 'SUBNET6', 'MIP6HPFX', 'LINK6', 'PFX6', 'HOA',
  ]),
  ...range(23456, ['SRV', 'SRV6']), // Microsoft INTERNAL_IP4_SERVER / INTERNAL_IP6_SERVER
]);

const CFG_PREFIX: ReadonlyMap<number, string> = new Map([
  [1, 'RQ('],
  [2, 'RP('],
  [3, 'S('],
  [4, 'A('],
]);

const EAP_CODE_SHORT: ReadonlyMap<number, string> = new Map(range(1, ['REQ', 'RES', 'SUCC', 'FAIL']));

const EAP_TYPE_SHORT: ReadonlyMap<number, string> = new Map([
  ...range(1, ['ID', 'NTF', 'NAK', 'MD5', 'OTP', 'GTC']),
  [13, 'TLS'],
  [18, 'SIM'],
  [21, 'TTLS'],
  [23, 'AKA'],
  ...range(25, ['PEAP', 'MSCHAPV2']),
  [33, 'MSTLV'],
  [38, 'TNC'],
  [54, 'PT'],
  ...range(254, ['EXP', 'XP']),
]);

const EAP_EXPANDED = 254;

export function notifyShortName(notify: number): string {
  return lookup(NOTIFY_SHORT, notify);
}

export function cpAttrShortName(type: number): string {
  return lookup(CP_ATTR_SHORT, type);
}

/** `/REQ/ID`, `/RES/MSCHAPV2`, `/SUCC`; expanded types as `/type-vendor`. */
function describeEap(d: Uint8Array): string {
  const code = d[0];
  if (code === undefined) return '';
  let out = `/${lookup(EAP_CODE_SHORT, code)}`;
  const hasType = code === EapCode.REQUEST || code === EapCode.RESPONSE;
  const type = d[4];
  if (!hasType || type === undefined || type === 0) return out;
  if (type === EAP_EXPANDED && d.length >= 12) {
    // RFC 3748 §5.7: 3-octet Vendor-Id, then a 4-octet Vendor-Type.
    const vendor = (d[5]! << 16) | (d[6]! << 8) | d[7]!;
    const vendorType = ((d[8]! << 24) | (d[9]! << 16) | (d[10]! << 8) | d[11]!) >>> 0;
    out += `/${vendorType}-${vendor}`;
  } else {
    out += `/${lookup(EAP_TYPE_SHORT, type)}`;
  }
  return out;
}

/** One payload in strongSwan notation, e.g. `N(NATD_S_IP)`, `CPRQ(ADDR DNS)`, `EF(1/3)`. */
export function describePayload(p: Payload): string {
  const label = KIND_LABEL[p.kind];
  switch (p.kind) {
    case 'notify': {
      // Windows servers put a Win32 error code in MS_NOTIFY_STATUS; it is worth showing.
      if (p.notify === NotifyType.MS_NOTIFY_STATUS && p.data.length === 4) {
        const code = ((p.data[0]! << 24) | (p.data[1]! << 16) | (p.data[2]! << 8) | p.data[3]!) >>> 0;
        return `${label}(${notifyShortName(p.notify)}(${code}))`;
      }
      return `${label}(${notifyShortName(p.notify)})`;
    }
    case 'eap':
      return label + describeEap(p.data);
    case 'cp': {
      if (p.attributes.length === 0) return label;
      const names = p.attributes.map((a) => cpAttrShortName(a.type)).join(' ');
      return `${label}${CFG_PREFIX.get(p.cfgType) ?? '('}${names})`;
    }
    case 'skf':
      return `${label}(${p.fragmentNumber}/${p.totalFragments})`;
    case 'unknown':
      return `${label}(${p.type})`;
    default:
      return label;
  }
}

/**
 * `EXCHANGE request|response MID [ payloads ]`. With `inner` (the decrypted payloads), they
 * are listed in place of the SK/SKF payload, as strongSwan logs a parsed message.
 */
export function describeMessage(
  header: Pick<IkeHeader, 'exchange' | 'flags' | 'messageId'>,
  payloads: readonly Payload[],
  inner?: readonly Payload[],
): string {
  const parts: string[] = [];
  for (const p of payloads) {
    if (inner && (p.kind === 'sk' || p.kind === 'skf')) parts.push(...inner.map(describePayload));
    else parts.push(describePayload(p));
  }
  const dir = isResponse(header) ? 'response' : 'request';
  const body = parts.length > 0 ? ` ${parts.join(' ')}` : '';
  return `${exchangeName(header.exchange)} ${dir} ${header.messageId} [${body} ]`;
}
