// structLayout(): "<struct>.size" and "<struct>.<member>" for every member of the XFRM and
// netlink structs ikegate encodes in TypeScript (src/xfrm/netlink/), as this build of the
// addon sees them. test/native compares them with a C program compiled at test time and
// with the table in test/native/layout.ts. Type names ending in _t are typedefs.
#include "layout.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/xfrm.h>

#include <cstddef>

namespace ikegate {

namespace {

struct Entry {
  const char* name;
  size_t value;
};

#define SIZE(type, name) {name ".size", sizeof(type)}
#define FIELD(type, name, member) {name "." #member, offsetof(type, member)}
#define STRUCT_SIZE(s) SIZE(struct s, #s)
#define STRUCT_FIELD(s, member) FIELD(struct s, #s, member)

const Entry kLayout[] = {
    // xfrm_address_t (union of a4 / a6)
    SIZE(xfrm_address_t, "xfrm_address_t"),
    FIELD(xfrm_address_t, "xfrm_address_t", a4),
    FIELD(xfrm_address_t, "xfrm_address_t", a6),

    STRUCT_SIZE(xfrm_id),
    STRUCT_FIELD(xfrm_id, daddr),
    STRUCT_FIELD(xfrm_id, spi),
    STRUCT_FIELD(xfrm_id, proto),

    STRUCT_SIZE(xfrm_selector),
    STRUCT_FIELD(xfrm_selector, daddr),
    STRUCT_FIELD(xfrm_selector, saddr),
    STRUCT_FIELD(xfrm_selector, dport),
    STRUCT_FIELD(xfrm_selector, dport_mask),
    STRUCT_FIELD(xfrm_selector, sport),
    STRUCT_FIELD(xfrm_selector, sport_mask),
    STRUCT_FIELD(xfrm_selector, family),
    STRUCT_FIELD(xfrm_selector, prefixlen_d),
    STRUCT_FIELD(xfrm_selector, prefixlen_s),
    STRUCT_FIELD(xfrm_selector, proto),
    STRUCT_FIELD(xfrm_selector, ifindex),
    STRUCT_FIELD(xfrm_selector, user),

    STRUCT_SIZE(xfrm_lifetime_cfg),
    STRUCT_FIELD(xfrm_lifetime_cfg, soft_byte_limit),
    STRUCT_FIELD(xfrm_lifetime_cfg, hard_byte_limit),
    STRUCT_FIELD(xfrm_lifetime_cfg, soft_packet_limit),
    STRUCT_FIELD(xfrm_lifetime_cfg, hard_packet_limit),
    STRUCT_FIELD(xfrm_lifetime_cfg, soft_add_expires_seconds),
    STRUCT_FIELD(xfrm_lifetime_cfg, hard_add_expires_seconds),
    STRUCT_FIELD(xfrm_lifetime_cfg, soft_use_expires_seconds),
    STRUCT_FIELD(xfrm_lifetime_cfg, hard_use_expires_seconds),

    STRUCT_SIZE(xfrm_lifetime_cur),
    STRUCT_FIELD(xfrm_lifetime_cur, bytes),
    STRUCT_FIELD(xfrm_lifetime_cur, packets),
    STRUCT_FIELD(xfrm_lifetime_cur, add_time),
    STRUCT_FIELD(xfrm_lifetime_cur, use_time),

    STRUCT_SIZE(xfrm_stats),
    STRUCT_FIELD(xfrm_stats, replay_window),
    STRUCT_FIELD(xfrm_stats, replay),
    STRUCT_FIELD(xfrm_stats, integrity_failed),

    STRUCT_SIZE(xfrm_usersa_info),
    STRUCT_FIELD(xfrm_usersa_info, sel),
    STRUCT_FIELD(xfrm_usersa_info, id),
    STRUCT_FIELD(xfrm_usersa_info, saddr),
    STRUCT_FIELD(xfrm_usersa_info, lft),
    STRUCT_FIELD(xfrm_usersa_info, curlft),
    STRUCT_FIELD(xfrm_usersa_info, stats),
    STRUCT_FIELD(xfrm_usersa_info, seq),
    STRUCT_FIELD(xfrm_usersa_info, reqid),
    STRUCT_FIELD(xfrm_usersa_info, family),
    STRUCT_FIELD(xfrm_usersa_info, mode),
    STRUCT_FIELD(xfrm_usersa_info, replay_window),
    STRUCT_FIELD(xfrm_usersa_info, flags),

    STRUCT_SIZE(xfrm_usersa_id),
    STRUCT_FIELD(xfrm_usersa_id, daddr),
    STRUCT_FIELD(xfrm_usersa_id, spi),
    STRUCT_FIELD(xfrm_usersa_id, family),
    STRUCT_FIELD(xfrm_usersa_id, proto),

    STRUCT_SIZE(xfrm_userspi_info),
    STRUCT_FIELD(xfrm_userspi_info, info),
    STRUCT_FIELD(xfrm_userspi_info, min),
    STRUCT_FIELD(xfrm_userspi_info, max),

    STRUCT_SIZE(xfrm_userpolicy_info),
    STRUCT_FIELD(xfrm_userpolicy_info, sel),
    STRUCT_FIELD(xfrm_userpolicy_info, lft),
    STRUCT_FIELD(xfrm_userpolicy_info, curlft),
    STRUCT_FIELD(xfrm_userpolicy_info, priority),
    STRUCT_FIELD(xfrm_userpolicy_info, index),
    STRUCT_FIELD(xfrm_userpolicy_info, dir),
    STRUCT_FIELD(xfrm_userpolicy_info, action),
    STRUCT_FIELD(xfrm_userpolicy_info, flags),
    STRUCT_FIELD(xfrm_userpolicy_info, share),

    STRUCT_SIZE(xfrm_userpolicy_id),
    STRUCT_FIELD(xfrm_userpolicy_id, sel),
    STRUCT_FIELD(xfrm_userpolicy_id, index),
    STRUCT_FIELD(xfrm_userpolicy_id, dir),

    STRUCT_SIZE(xfrm_algo),
    STRUCT_FIELD(xfrm_algo, alg_name),
    STRUCT_FIELD(xfrm_algo, alg_key_len),
    STRUCT_FIELD(xfrm_algo, alg_key),

    STRUCT_SIZE(xfrm_algo_auth),
    STRUCT_FIELD(xfrm_algo_auth, alg_name),
    STRUCT_FIELD(xfrm_algo_auth, alg_key_len),
    STRUCT_FIELD(xfrm_algo_auth, alg_trunc_len),
    STRUCT_FIELD(xfrm_algo_auth, alg_key),

    STRUCT_SIZE(xfrm_algo_aead),
    STRUCT_FIELD(xfrm_algo_aead, alg_name),
    STRUCT_FIELD(xfrm_algo_aead, alg_key_len),
    STRUCT_FIELD(xfrm_algo_aead, alg_icv_len),
    STRUCT_FIELD(xfrm_algo_aead, alg_key),

    STRUCT_SIZE(xfrm_encap_tmpl),
    STRUCT_FIELD(xfrm_encap_tmpl, encap_type),
    STRUCT_FIELD(xfrm_encap_tmpl, encap_sport),
    STRUCT_FIELD(xfrm_encap_tmpl, encap_dport),
    STRUCT_FIELD(xfrm_encap_tmpl, encap_oa),

    STRUCT_SIZE(xfrm_user_tmpl),
    STRUCT_FIELD(xfrm_user_tmpl, id),
    STRUCT_FIELD(xfrm_user_tmpl, family),
    STRUCT_FIELD(xfrm_user_tmpl, saddr),
    STRUCT_FIELD(xfrm_user_tmpl, reqid),
    STRUCT_FIELD(xfrm_user_tmpl, mode),
    STRUCT_FIELD(xfrm_user_tmpl, share),
    STRUCT_FIELD(xfrm_user_tmpl, optional),
    STRUCT_FIELD(xfrm_user_tmpl, aalgos),
    STRUCT_FIELD(xfrm_user_tmpl, ealgos),
    STRUCT_FIELD(xfrm_user_tmpl, calgos),

    STRUCT_SIZE(xfrm_replay_state_esn),
    STRUCT_FIELD(xfrm_replay_state_esn, bmp_len),
    STRUCT_FIELD(xfrm_replay_state_esn, oseq),
    STRUCT_FIELD(xfrm_replay_state_esn, seq),
    STRUCT_FIELD(xfrm_replay_state_esn, oseq_hi),
    STRUCT_FIELD(xfrm_replay_state_esn, seq_hi),
    STRUCT_FIELD(xfrm_replay_state_esn, replay_window),
    STRUCT_FIELD(xfrm_replay_state_esn, bmp),

    STRUCT_SIZE(xfrm_user_expire),
    STRUCT_FIELD(xfrm_user_expire, state),
    STRUCT_FIELD(xfrm_user_expire, hard),

    STRUCT_SIZE(xfrm_user_polexpire),
    STRUCT_FIELD(xfrm_user_polexpire, pol),
    STRUCT_FIELD(xfrm_user_polexpire, hard),

    STRUCT_SIZE(xfrm_usersa_flush),
    STRUCT_FIELD(xfrm_usersa_flush, proto),

    STRUCT_SIZE(xfrm_mark),
    STRUCT_FIELD(xfrm_mark, v),
    STRUCT_FIELD(xfrm_mark, m),

    // Events the dataplane listens for (XFRMNLGRP_ACQUIRE, XFRMNLGRP_MAPPING).
    STRUCT_SIZE(xfrm_user_acquire),
    STRUCT_FIELD(xfrm_user_acquire, id),
    STRUCT_FIELD(xfrm_user_acquire, saddr),
    STRUCT_FIELD(xfrm_user_acquire, sel),
    STRUCT_FIELD(xfrm_user_acquire, policy),
    STRUCT_FIELD(xfrm_user_acquire, aalgos),
    STRUCT_FIELD(xfrm_user_acquire, ealgos),
    STRUCT_FIELD(xfrm_user_acquire, calgos),
    STRUCT_FIELD(xfrm_user_acquire, seq),

    STRUCT_SIZE(xfrm_user_mapping),
    STRUCT_FIELD(xfrm_user_mapping, id),
    STRUCT_FIELD(xfrm_user_mapping, reqid),
    STRUCT_FIELD(xfrm_user_mapping, old_saddr),
    STRUCT_FIELD(xfrm_user_mapping, new_saddr),
    STRUCT_FIELD(xfrm_user_mapping, old_sport),
    STRUCT_FIELD(xfrm_user_mapping, new_sport),

    // MOBIKE/migration (XFRM_MSG_MIGRATE) and SPD hash thresholds (XFRMA_SPD_IPV4_HTHRESH).
    STRUCT_SIZE(xfrm_user_migrate),
    STRUCT_FIELD(xfrm_user_migrate, old_daddr),
    STRUCT_FIELD(xfrm_user_migrate, old_saddr),
    STRUCT_FIELD(xfrm_user_migrate, new_daddr),
    STRUCT_FIELD(xfrm_user_migrate, new_saddr),
    STRUCT_FIELD(xfrm_user_migrate, proto),
    STRUCT_FIELD(xfrm_user_migrate, mode),
    STRUCT_FIELD(xfrm_user_migrate, reserved),
    STRUCT_FIELD(xfrm_user_migrate, reqid),
    STRUCT_FIELD(xfrm_user_migrate, old_family),
    STRUCT_FIELD(xfrm_user_migrate, new_family),

    STRUCT_SIZE(xfrm_user_kmaddress),
    STRUCT_FIELD(xfrm_user_kmaddress, local),
    STRUCT_FIELD(xfrm_user_kmaddress, remote),
    STRUCT_FIELD(xfrm_user_kmaddress, reserved),
    STRUCT_FIELD(xfrm_user_kmaddress, family),

    STRUCT_SIZE(xfrmu_spdhthresh),
    STRUCT_FIELD(xfrmu_spdhthresh, lbits),
    STRUCT_FIELD(xfrmu_spdhthresh, rbits),

    // Netlink framing and rtnetlink (routes, addresses and links for the TUN dataplane).
    STRUCT_SIZE(nlmsghdr),
    STRUCT_FIELD(nlmsghdr, nlmsg_len),
    STRUCT_FIELD(nlmsghdr, nlmsg_type),
    STRUCT_FIELD(nlmsghdr, nlmsg_flags),
    STRUCT_FIELD(nlmsghdr, nlmsg_seq),
    STRUCT_FIELD(nlmsghdr, nlmsg_pid),

    STRUCT_SIZE(nlmsgerr),
    STRUCT_FIELD(nlmsgerr, error),
    STRUCT_FIELD(nlmsgerr, msg),

    STRUCT_SIZE(rtmsg),
    STRUCT_FIELD(rtmsg, rtm_family),
    STRUCT_FIELD(rtmsg, rtm_dst_len),
    STRUCT_FIELD(rtmsg, rtm_src_len),
    STRUCT_FIELD(rtmsg, rtm_tos),
    STRUCT_FIELD(rtmsg, rtm_table),
    STRUCT_FIELD(rtmsg, rtm_protocol),
    STRUCT_FIELD(rtmsg, rtm_scope),
    STRUCT_FIELD(rtmsg, rtm_type),
    STRUCT_FIELD(rtmsg, rtm_flags),

    STRUCT_SIZE(rtattr),
    STRUCT_FIELD(rtattr, rta_len),
    STRUCT_FIELD(rtattr, rta_type),

    STRUCT_SIZE(ifaddrmsg),
    STRUCT_FIELD(ifaddrmsg, ifa_family),
    STRUCT_FIELD(ifaddrmsg, ifa_prefixlen),
    STRUCT_FIELD(ifaddrmsg, ifa_flags),
    STRUCT_FIELD(ifaddrmsg, ifa_scope),
    STRUCT_FIELD(ifaddrmsg, ifa_index),

    STRUCT_SIZE(ifinfomsg),
    STRUCT_FIELD(ifinfomsg, ifi_family),
    STRUCT_FIELD(ifinfomsg, ifi_type),
    STRUCT_FIELD(ifinfomsg, ifi_index),
    STRUCT_FIELD(ifinfomsg, ifi_flags),
    STRUCT_FIELD(ifinfomsg, ifi_change),
};

#undef STRUCT_FIELD
#undef STRUCT_SIZE
#undef FIELD
#undef SIZE

}  // namespace

Napi::Value StructLayout(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object layout = Napi::Object::New(env);
  for (const Entry& entry : kLayout) layout.Set(entry.name, Napi::Number::New(env, double(entry.value)));
  return layout;
}

}  // namespace ikegate
