// Expected sizeof/offsetof of the kernel structs ikegate encodes by hand, for LP64 Linux
// (x86_64, aarch64, ...; on 32-bit x86 userspace xfrm_usersa_info and friends differ — the
// reason the addon reports its own view). Keys as in native structLayout(): "<type>.size" is
// sizeof, "<type>.<member>" is offsetof; names ending in _t are typedefs, the rest struct tags.
//
// Source of truth: <linux/xfrm.h>, <linux/netlink.h>, <linux/rtnetlink.h>. test/native/
// native.test.ts checks this table against a C program compiled at test time and against the
// addon, so TS codecs (src/xfrm/netlink/) can compare their own offsets with it.
export const EXPECTED_LAYOUT = {
  'xfrm_address_t.size': 16,
  'xfrm_address_t.a4': 0,
  'xfrm_address_t.a6': 0,

  'xfrm_id.size': 24,
  'xfrm_id.daddr': 0,
  'xfrm_id.spi': 16,
  'xfrm_id.proto': 20,

  'xfrm_selector.size': 56,
  'xfrm_selector.daddr': 0,
  'xfrm_selector.saddr': 16,
  'xfrm_selector.dport': 32,
  'xfrm_selector.dport_mask': 34,
  'xfrm_selector.sport': 36,
  'xfrm_selector.sport_mask': 38,
  'xfrm_selector.family': 40,
  'xfrm_selector.prefixlen_d': 42,
  'xfrm_selector.prefixlen_s': 43,
  'xfrm_selector.proto': 44,
  'xfrm_selector.ifindex': 48,
  'xfrm_selector.user': 52,

  'xfrm_lifetime_cfg.size': 64,
  'xfrm_lifetime_cfg.soft_byte_limit': 0,
  'xfrm_lifetime_cfg.hard_byte_limit': 8,
  'xfrm_lifetime_cfg.soft_packet_limit': 16,
  'xfrm_lifetime_cfg.hard_packet_limit': 24,
  'xfrm_lifetime_cfg.soft_add_expires_seconds': 32,
  'xfrm_lifetime_cfg.hard_add_expires_seconds': 40,
  'xfrm_lifetime_cfg.soft_use_expires_seconds': 48,
  'xfrm_lifetime_cfg.hard_use_expires_seconds': 56,

  'xfrm_lifetime_cur.size': 32,
  'xfrm_lifetime_cur.bytes': 0,
  'xfrm_lifetime_cur.packets': 8,
  'xfrm_lifetime_cur.add_time': 16,
  'xfrm_lifetime_cur.use_time': 24,

  'xfrm_stats.size': 12,
  'xfrm_stats.replay_window': 0,
  'xfrm_stats.replay': 4,
  'xfrm_stats.integrity_failed': 8,

  'xfrm_usersa_info.size': 224,
  'xfrm_usersa_info.sel': 0,
  'xfrm_usersa_info.id': 56,
  'xfrm_usersa_info.saddr': 80,
  'xfrm_usersa_info.lft': 96,
  'xfrm_usersa_info.curlft': 160,
  'xfrm_usersa_info.stats': 192,
  'xfrm_usersa_info.seq': 204,
  'xfrm_usersa_info.reqid': 208,
  'xfrm_usersa_info.family': 212,
  'xfrm_usersa_info.mode': 214,
  'xfrm_usersa_info.replay_window': 215,
  'xfrm_usersa_info.flags': 216,

  'xfrm_usersa_id.size': 24,
  'xfrm_usersa_id.daddr': 0,
  'xfrm_usersa_id.spi': 16,
  'xfrm_usersa_id.family': 20,
  'xfrm_usersa_id.proto': 22,

  'xfrm_userspi_info.size': 232,
  'xfrm_userspi_info.info': 0,
  'xfrm_userspi_info.min': 224,
  'xfrm_userspi_info.max': 228,

  'xfrm_userpolicy_info.size': 168,
  'xfrm_userpolicy_info.sel': 0,
  'xfrm_userpolicy_info.lft': 56,
  'xfrm_userpolicy_info.curlft': 120,
  'xfrm_userpolicy_info.priority': 152,
  'xfrm_userpolicy_info.index': 156,
  'xfrm_userpolicy_info.dir': 160,
  'xfrm_userpolicy_info.action': 161,
  'xfrm_userpolicy_info.flags': 162,
  'xfrm_userpolicy_info.share': 163,

  'xfrm_userpolicy_id.size': 64,
  'xfrm_userpolicy_id.sel': 0,
  'xfrm_userpolicy_id.index': 56,
  'xfrm_userpolicy_id.dir': 60,

  'xfrm_algo.size': 68,
  'xfrm_algo.alg_name': 0,
  'xfrm_algo.alg_key_len': 64,
  'xfrm_algo.alg_key': 68,

  'xfrm_algo_auth.size': 72,
  'xfrm_algo_auth.alg_name': 0,
  'xfrm_algo_auth.alg_key_len': 64,
  'xfrm_algo_auth.alg_trunc_len': 68,
  'xfrm_algo_auth.alg_key': 72,

  'xfrm_algo_aead.size': 72,
  'xfrm_algo_aead.alg_name': 0,
  'xfrm_algo_aead.alg_key_len': 64,
  'xfrm_algo_aead.alg_icv_len': 68,
  'xfrm_algo_aead.alg_key': 72,

  'xfrm_encap_tmpl.size': 24,
  'xfrm_encap_tmpl.encap_type': 0,
  'xfrm_encap_tmpl.encap_sport': 2,
  'xfrm_encap_tmpl.encap_dport': 4,
  'xfrm_encap_tmpl.encap_oa': 8,

  'xfrm_user_tmpl.size': 64,
  'xfrm_user_tmpl.id': 0,
  'xfrm_user_tmpl.family': 24,
  'xfrm_user_tmpl.saddr': 28,
  'xfrm_user_tmpl.reqid': 44,
  'xfrm_user_tmpl.mode': 48,
  'xfrm_user_tmpl.share': 49,
  'xfrm_user_tmpl.optional': 50,
  'xfrm_user_tmpl.aalgos': 52,
  'xfrm_user_tmpl.ealgos': 56,
  'xfrm_user_tmpl.calgos': 60,

  'xfrm_replay_state_esn.size': 24,
  'xfrm_replay_state_esn.bmp_len': 0,
  'xfrm_replay_state_esn.oseq': 4,
  'xfrm_replay_state_esn.seq': 8,
  'xfrm_replay_state_esn.oseq_hi': 12,
  'xfrm_replay_state_esn.seq_hi': 16,
  'xfrm_replay_state_esn.replay_window': 20,
  'xfrm_replay_state_esn.bmp': 24,

  'xfrm_user_expire.size': 232,
  'xfrm_user_expire.state': 0,
  'xfrm_user_expire.hard': 224,

  'xfrm_user_polexpire.size': 176,
  'xfrm_user_polexpire.pol': 0,
  'xfrm_user_polexpire.hard': 168,

  'xfrm_usersa_flush.size': 1,
  'xfrm_usersa_flush.proto': 0,

  'xfrm_mark.size': 8,
  'xfrm_mark.v': 0,
  'xfrm_mark.m': 4,

  'xfrm_user_acquire.size': 280,
  'xfrm_user_acquire.id': 0,
  'xfrm_user_acquire.saddr': 24,
  'xfrm_user_acquire.sel': 40,
  'xfrm_user_acquire.policy': 96,
  'xfrm_user_acquire.aalgos': 264,
  'xfrm_user_acquire.ealgos': 268,
  'xfrm_user_acquire.calgos': 272,
  'xfrm_user_acquire.seq': 276,

  'xfrm_user_mapping.size': 64,
  'xfrm_user_mapping.id': 0,
  'xfrm_user_mapping.reqid': 24,
  'xfrm_user_mapping.old_saddr': 28,
  'xfrm_user_mapping.new_saddr': 44,
  'xfrm_user_mapping.old_sport': 60,
  'xfrm_user_mapping.new_sport': 62,

  'nlmsghdr.size': 16,
  'nlmsghdr.nlmsg_len': 0,
  'nlmsghdr.nlmsg_type': 4,
  'nlmsghdr.nlmsg_flags': 6,
  'nlmsghdr.nlmsg_seq': 8,
  'nlmsghdr.nlmsg_pid': 12,

  'nlmsgerr.size': 20,
  'nlmsgerr.error': 0,
  'nlmsgerr.msg': 4,

  'rtmsg.size': 12,
  'rtmsg.rtm_family': 0,
  'rtmsg.rtm_dst_len': 1,
  'rtmsg.rtm_src_len': 2,
  'rtmsg.rtm_tos': 3,
  'rtmsg.rtm_table': 4,
  'rtmsg.rtm_protocol': 5,
  'rtmsg.rtm_scope': 6,
  'rtmsg.rtm_type': 7,
  'rtmsg.rtm_flags': 8,

  'rtattr.size': 4,
  'rtattr.rta_len': 0,
  'rtattr.rta_type': 2,

  'ifaddrmsg.size': 8,
  'ifaddrmsg.ifa_family': 0,
  'ifaddrmsg.ifa_prefixlen': 1,
  'ifaddrmsg.ifa_flags': 2,
  'ifaddrmsg.ifa_scope': 3,
  'ifaddrmsg.ifa_index': 4,

  'ifinfomsg.size': 16,
  'ifinfomsg.ifi_family': 0,
  'ifinfomsg.ifi_type': 2,
  'ifinfomsg.ifi_index': 4,
  'ifinfomsg.ifi_flags': 8,
  'ifinfomsg.ifi_change': 12,
} as const satisfies Record<string, number>;

export type LayoutKey = keyof typeof EXPECTED_LAYOUT;

/** Architectures whose C ABI gives this table (8-byte aligned __u64, 4-byte int). */
export const LP64_ARCHES: readonly string[] = ['x64', 'arm64', 'ppc64', 'riscv64', 'loong64', 's390x', 'mips64el'];
