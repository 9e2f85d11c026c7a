// XFRM netlink numbers from linux/xfrm.h (uapi), plus the few from linux/in.h, linux/socket.h
// and linux/udp.h that XFRM messages carry. Names are the kernel's.

export const AF_INET = 2;
export const AF_INET6 = 10;

export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_COMP = 108;

/** linux/udp.h: RFC 3948 ESP-in-UDP (non-IKE marker). */
export const UDP_ENCAP_ESPINUDP = 2;

/** linux/xfrm.h XFRM_INF: "no limit" for byte and packet counters. */
export const XFRM_INF = 0xffff_ffff_ffff_ffffn;

export const XfrmMsg = {
  XFRM_MSG_NEWSA: 0x10,
  XFRM_MSG_DELSA: 0x11,
  XFRM_MSG_GETSA: 0x12,
  XFRM_MSG_NEWPOLICY: 0x13,
  XFRM_MSG_DELPOLICY: 0x14,
  XFRM_MSG_GETPOLICY: 0x15,
  XFRM_MSG_ALLOCSPI: 0x16,
  XFRM_MSG_ACQUIRE: 0x17,
  XFRM_MSG_EXPIRE: 0x18,
  XFRM_MSG_UPDPOLICY: 0x19,
  XFRM_MSG_UPDSA: 0x1a,
  XFRM_MSG_POLEXPIRE: 0x1b,
  XFRM_MSG_FLUSHSA: 0x1c,
  XFRM_MSG_FLUSHPOLICY: 0x1d,
  XFRM_MSG_NEWAE: 0x1e,
  XFRM_MSG_GETAE: 0x1f,
  XFRM_MSG_REPORT: 0x20,
  XFRM_MSG_MIGRATE: 0x21,
  XFRM_MSG_NEWSADINFO: 0x22,
  XFRM_MSG_GETSADINFO: 0x23,
  XFRM_MSG_NEWSPDINFO: 0x24,
  XFRM_MSG_GETSPDINFO: 0x25,
  XFRM_MSG_MAPPING: 0x26,
  XFRM_MSG_SETDEFAULT: 0x27,
  XFRM_MSG_GETDEFAULT: 0x28,
} as const;

/** enum xfrm_attr_type_t */
export const XfrmAttr = {
  XFRMA_UNSPEC: 0,
  XFRMA_ALG_AUTH: 1,
  XFRMA_ALG_CRYPT: 2,
  XFRMA_ALG_COMP: 3,
  XFRMA_ENCAP: 4,
  XFRMA_TMPL: 5,
  XFRMA_SA: 6,
  XFRMA_POLICY: 7,
  XFRMA_SEC_CTX: 8,
  XFRMA_LTIME_VAL: 9,
  XFRMA_REPLAY_VAL: 10,
  XFRMA_REPLAY_THRESH: 11,
  XFRMA_ETIMER_THRESH: 12,
  XFRMA_SRCADDR: 13,
  XFRMA_COADDR: 14,
  XFRMA_LASTUSED: 15,
  XFRMA_POLICY_TYPE: 16,
  XFRMA_MIGRATE: 17,
  XFRMA_ALG_AEAD: 18,
  XFRMA_KMADDRESS: 19,
  XFRMA_ALG_AUTH_TRUNC: 20,
  XFRMA_MARK: 21,
  XFRMA_TFCPAD: 22,
  XFRMA_REPLAY_ESN_VAL: 23,
  XFRMA_SA_EXTRA_FLAGS: 24,
  XFRMA_PROTO: 25,
  XFRMA_ADDRESS_FILTER: 26,
  XFRMA_PAD: 27,
  XFRMA_OFFLOAD_DEV: 28,
  XFRMA_SET_MARK: 29,
  XFRMA_SET_MARK_MASK: 30,
  XFRMA_IF_ID: 31,
  XFRMA_MTIMER_THRESH: 32,
  /** Linux 6.10+ */
  XFRMA_SA_DIR: 33,
} as const;

/** enum xfrm_spdattr_type_t (XFRM_MSG_NEWSPDINFO / GETSPDINFO) */
export const XfrmSpdAttr = {
  XFRMA_SPD_UNSPEC: 0,
  XFRMA_SPD_INFO: 1,
  XFRMA_SPD_HINFO: 2,
  XFRMA_SPD_IPV4_HTHRESH: 3,
  XFRMA_SPD_IPV6_HTHRESH: 4,
} as const;

export const XfrmMode = {
  XFRM_MODE_TRANSPORT: 0,
  XFRM_MODE_TUNNEL: 1,
  XFRM_MODE_ROUTEOPTIMIZATION: 2,
  XFRM_MODE_IN_TRIGGER: 3,
  XFRM_MODE_BEET: 4,
} as const;

export const XfrmPolicyDir = { XFRM_POLICY_IN: 0, XFRM_POLICY_OUT: 1, XFRM_POLICY_FWD: 2 } as const;
export const XfrmPolicyAction = { XFRM_POLICY_ALLOW: 0, XFRM_POLICY_BLOCK: 1 } as const;
export const XfrmPolicyFlags = { XFRM_POLICY_LOCALOK: 1, XFRM_POLICY_ICMP: 2 } as const;
export const XfrmPolicyType = { XFRM_POLICY_TYPE_MAIN: 0, XFRM_POLICY_TYPE_SUB: 1, XFRM_POLICY_TYPE_ANY: 255 } as const;
export const XfrmShare = { XFRM_SHARE_ANY: 0, XFRM_SHARE_SESSION: 1, XFRM_SHARE_USER: 2, XFRM_SHARE_UNIQUE: 3 } as const;

/** xfrm_usersa_info.flags */
export const XfrmStateFlags = {
  XFRM_STATE_NOECN: 1,
  XFRM_STATE_DECAP_DSCP: 2,
  XFRM_STATE_NOPMTUDISC: 4,
  XFRM_STATE_WILDRECV: 8,
  XFRM_STATE_ICMP: 16,
  XFRM_STATE_AF_UNSPEC: 32,
  XFRM_STATE_ALIGN4: 64,
  XFRM_STATE_ESN: 128,
} as const;

/** enum xfrm_nlgroups: group numbers; a bind() bitmask holds bit (group - 1). */
export const XfrmNlGroup = {
  XFRMNLGRP_NONE: 0,
  XFRMNLGRP_ACQUIRE: 1,
  XFRMNLGRP_EXPIRE: 2,
  XFRMNLGRP_SA: 3,
  XFRMNLGRP_POLICY: 4,
  XFRMNLGRP_AEVENTS: 5,
  XFRMNLGRP_REPORT: 6,
  XFRMNLGRP_MIGRATE: 7,
  XFRMNLGRP_MAPPING: 8,
} as const;

/** The bind() bitmask for a set of groups (strongSwan's XFRMNLGRP(x) macro). */
export const xfrmGroupMask = (...groups: number[]): number => groups.reduce((m, g) => m | (1 << (g - 1)), 0);

/** The largest replay window the kernel accepts in XFRMA_REPLAY_ESN_VAL (XFRMA_REPLAY_ESN_MAX bits). */
export const XFRMA_REPLAY_ESN_MAX = 4096;

const MSG_NAMES = new Map<number, string>(Object.entries(XfrmMsg).map(([k, v]) => [v, k]));
/** "XFRM_MSG_NEWSA" for 0x10; used in error messages. */
export function xfrmMsgName(type: number): string {
  return MSG_NAMES.get(type) ?? `XFRM message ${type}`;
}
