// The XFRM netlink structs of linux/xfrm.h as x86_64 (and every LP64 little-endian ABI) lays them
// out: one encoder/decoder per struct, each under its C definition. Sizes and offsets are in
// LAYOUT, which test/native compares with what the addon's structLayout() reads from the headers.
// Byte order: host (little-endian) for __u16/__u32/__u64; network (big-endian) for __be16/__be32
// (ports, SPI) and addresses.
import { AF_INET, AF_INET6 } from './xfrm-constants.js';

/** sizeof(struct X) on LP64 Linux. */
export const SIZEOF = {
  xfrm_address_t: 16,
  xfrm_id: 24,
  xfrm_selector: 56,
  xfrm_lifetime_cfg: 64,
  xfrm_lifetime_cur: 32,
  xfrm_stats: 12,
  xfrm_usersa_info: 224,
  xfrm_usersa_id: 24,
  xfrm_userspi_info: 232,
  xfrm_userpolicy_info: 168,
  xfrm_userpolicy_id: 64,
  xfrm_user_tmpl: 64,
  xfrm_encap_tmpl: 24,
  xfrm_algo: 68,
  xfrm_algo_auth: 72,
  xfrm_algo_aead: 72,
  xfrm_replay_state_esn: 24,
  xfrm_user_expire: 232,
  xfrm_user_polexpire: 176,
  xfrm_user_acquire: 280,
  xfrm_mark: 8,
  xfrm_usersa_flush: 1,
  xfrm_user_migrate: 76,
  xfrm_user_kmaddress: 40,
  xfrmu_spdhthresh: 2,
} as const;

/** offsetof(struct X, f) under "X.f" for the fields the codecs below place by hand. */
const OFFSETOF = {
  'xfrm_id.spi': 16,
  'xfrm_id.proto': 20,
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
  'xfrm_lifetime_cur.use_time': 24,
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
  'xfrm_usersa_id.spi': 16,
  'xfrm_usersa_id.family': 20,
  'xfrm_usersa_id.proto': 22,
  'xfrm_userspi_info.min': 224,
  'xfrm_userspi_info.max': 228,
  'xfrm_userpolicy_info.lft': 56,
  'xfrm_userpolicy_info.curlft': 120,
  'xfrm_userpolicy_info.priority': 152,
  'xfrm_userpolicy_info.index': 156,
  'xfrm_userpolicy_info.dir': 160,
  'xfrm_userpolicy_info.action': 161,
  'xfrm_userpolicy_info.flags': 162,
  'xfrm_userpolicy_info.share': 163,
  'xfrm_userpolicy_id.index': 56,
  'xfrm_userpolicy_id.dir': 60,
  'xfrm_user_tmpl.family': 24,
  'xfrm_user_tmpl.saddr': 28,
  'xfrm_user_tmpl.reqid': 44,
  'xfrm_user_tmpl.mode': 48,
  'xfrm_user_tmpl.share': 49,
  'xfrm_user_tmpl.optional': 50,
  'xfrm_user_tmpl.aalgos': 52,
  'xfrm_user_tmpl.ealgos': 56,
  'xfrm_user_tmpl.calgos': 60,
  'xfrm_encap_tmpl.encap_sport': 2,
  'xfrm_encap_tmpl.encap_dport': 4,
  'xfrm_encap_tmpl.encap_oa': 8,
  'xfrm_algo_auth.alg_trunc_len': 68,
  'xfrm_algo_aead.alg_icv_len': 68,
  'xfrm_replay_state_esn.replay_window': 20,
  'xfrm_user_expire.hard': 224,
  'xfrm_user_polexpire.hard': 168,
  'xfrm_user_acquire.saddr': 24,
  'xfrm_user_acquire.sel': 40,
  'xfrm_user_acquire.policy': 96,
  'xfrm_user_acquire.aalgos': 264,
  'xfrm_user_acquire.seq': 276,
  'xfrm_user_migrate.new_daddr': 32,
  'xfrm_user_migrate.new_saddr': 48,
  'xfrm_user_migrate.proto': 64,
  'xfrm_user_migrate.reqid': 68,
  'xfrm_user_migrate.old_family': 72,
  'xfrm_user_migrate.new_family': 74,
  'xfrm_user_kmaddress.family': 36,
} as const;

/**
 * Keys as the addon's structLayout() and test/native/layout.ts spell them: "X.size" is
 * sizeof, "X.f" is offsetof; the native test compares every key with the kernel headers.
 */
export const LAYOUT: Readonly<Record<string, number>> = {
  ...Object.fromEntries(Object.entries(SIZEOF).map(([k, v]) => [`${k}.size`, v])),
  ...OFFSETOF,
};

export class XfrmDecodeError extends Error {
  override readonly name = 'XfrmDecodeError';
}

// ---------------------------------------------------------------------------------------------
// Helpers

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

function need(b: Uint8Array, len: number, what: string): DataView {
  if (b.length < len) throw new XfrmDecodeError(`${what}: ${b.length} bytes, needs ${len}`);
  return view(b);
}

/** AF_INET / AF_INET6 of a 4- or 16-byte address. */
export function familyOfAddress(a: Uint8Array): number {
  if (a.length === 4) return AF_INET;
  if (a.length === 16) return AF_INET6;
  throw new RangeError(`an address has 4 or 16 bytes, not ${a.length}`);
}

/*
 * typedef union {
 *     __be32 a4;
 *     __be32 a6[4];
 *     struct in6_addr in6;
 * } xfrm_address_t;
 */
function writeAddress(out: Uint8Array, off: number, a: Uint8Array | undefined): void {
  if (!a) return;
  if (a.length !== 4 && a.length !== 16) throw new RangeError(`an address has 4 or 16 bytes, not ${a.length}`);
  out.set(a, off);
}

function readAddress(b: Uint8Array, off: number, family: number): Uint8Array {
  return b.slice(off, off + (family === AF_INET6 ? 16 : 4));
}

const ZERO4 = new Uint8Array(4);

// ---------------------------------------------------------------------------------------------

/*
 * struct xfrm_selector {
 *     xfrm_address_t daddr;        // 0
 *     xfrm_address_t saddr;        // 16
 *     __be16 dport;                // 32
 *     __be16 dport_mask;           // 34
 *     __be16 sport;                // 36
 *     __be16 sport_mask;           // 38
 *     __u16  family;               // 40
 *     __u8   prefixlen_d;          // 42
 *     __u8   prefixlen_s;          // 43
 *     __u8   proto;                // 44
 *     int    ifindex;              // 48
 *     __kernel_uid32_t user;       // 52
 * };                               // 56
 */
export interface XfrmSelector {
  daddr: Uint8Array;
  saddr: Uint8Array;
  dport: number;
  dportMask: number;
  sport: number;
  sportMask: number;
  /** AF_INET, AF_INET6, or 0 (AF_UNSPEC: any, for tunnel-mode SAs). */
  family: number;
  prefixlenD: number;
  prefixlenS: number;
  proto: number;
  ifindex: number;
  user: number;
}

/** The all-zero selector (AF_UNSPEC): what tunnel-mode SAs carry, like strongSwan's. */
export function anySelector(): XfrmSelector {
  return { daddr: ZERO4, saddr: ZERO4, dport: 0, dportMask: 0, sport: 0, sportMask: 0, family: 0, prefixlenD: 0, prefixlenS: 0, proto: 0, ifindex: 0, user: 0 };
}

export function writeSelector(out: Uint8Array, off: number, s: XfrmSelector): void {
  const dv = view(out);
  writeAddress(out, off + 0, s.daddr);
  writeAddress(out, off + 16, s.saddr);
  dv.setUint16(off + 32, s.dport, false);
  dv.setUint16(off + 34, s.dportMask, false);
  dv.setUint16(off + 36, s.sport, false);
  dv.setUint16(off + 38, s.sportMask, false);
  dv.setUint16(off + 40, s.family, true);
  dv.setUint8(off + 42, s.prefixlenD);
  dv.setUint8(off + 43, s.prefixlenS);
  dv.setUint8(off + 44, s.proto);
  dv.setInt32(off + 48, s.ifindex, true);
  dv.setUint32(off + 52, s.user, true);
}

export function readSelector(b: Uint8Array, off: number): XfrmSelector {
  const dv = view(b);
  const family = dv.getUint16(off + 40, true);
  return {
    daddr: readAddress(b, off, family),
    saddr: readAddress(b, off + 16, family),
    dport: dv.getUint16(off + 32, false),
    dportMask: dv.getUint16(off + 34, false),
    sport: dv.getUint16(off + 36, false),
    sportMask: dv.getUint16(off + 38, false),
    family,
    prefixlenD: dv.getUint8(off + 42),
    prefixlenS: dv.getUint8(off + 43),
    proto: dv.getUint8(off + 44),
    ifindex: dv.getInt32(off + 48, true),
    user: dv.getUint32(off + 52, true),
  };
}

/*
 * struct xfrm_id {
 *     xfrm_address_t daddr;   // 0
 *     __be32 spi;             // 16
 *     __u8   proto;           // 20
 * };                          // 24
 */
export interface XfrmId {
  daddr: Uint8Array;
  spi: number;
  proto: number;
}

export function writeId(out: Uint8Array, off: number, id: XfrmId): void {
  writeAddress(out, off, id.daddr);
  view(out).setUint32(off + 16, id.spi >>> 0, false);
  out[off + 20] = id.proto;
}

export function readId(b: Uint8Array, off: number, family: number): XfrmId {
  return { daddr: readAddress(b, off, family), spi: view(b).getUint32(off + 16, false), proto: b[off + 20] ?? 0 };
}

/*
 * struct xfrm_lifetime_cfg {
 *     __u64 soft_byte_limit;           // 0
 *     __u64 hard_byte_limit;           // 8
 *     __u64 soft_packet_limit;         // 16
 *     __u64 hard_packet_limit;         // 24
 *     __u64 soft_add_expires_seconds;  // 32
 *     __u64 hard_add_expires_seconds;  // 40
 *     __u64 soft_use_expires_seconds;  // 48
 *     __u64 hard_use_expires_seconds;  // 56
 * };                                   // 64
 */
export interface XfrmLifetimeCfg {
  softByteLimit: bigint;
  hardByteLimit: bigint;
  softPacketLimit: bigint;
  hardPacketLimit: bigint;
  softAddExpiresSeconds: bigint;
  hardAddExpiresSeconds: bigint;
  softUseExpiresSeconds: bigint;
  hardUseExpiresSeconds: bigint;
}

const LFT_FIELDS = [
  'softByteLimit',
  'hardByteLimit',
  'softPacketLimit',
  'hardPacketLimit',
  'softAddExpiresSeconds',
  'hardAddExpiresSeconds',
  'softUseExpiresSeconds',
  'hardUseExpiresSeconds',
] as const;

export function writeLifetimeCfg(out: Uint8Array, off: number, l: XfrmLifetimeCfg): void {
  const dv = view(out);
  LFT_FIELDS.forEach((f, i) => dv.setBigUint64(off + 8 * i, l[f], true));
}

export function readLifetimeCfg(b: Uint8Array, off: number): XfrmLifetimeCfg {
  const dv = view(b);
  const l = {} as XfrmLifetimeCfg;
  LFT_FIELDS.forEach((f, i) => (l[f] = dv.getBigUint64(off + 8 * i, true)));
  return l;
}

/*
 * struct xfrm_lifetime_cur {
 *     __u64 bytes;      // 0
 *     __u64 packets;    // 8
 *     __u64 add_time;   // 16  (seconds since the epoch)
 *     __u64 use_time;   // 24  (seconds since the epoch; 0 = never used)
 * };                    // 32
 */
export interface XfrmLifetimeCur {
  bytes: bigint;
  packets: bigint;
  addTime: bigint;
  useTime: bigint;
}

export function readLifetimeCur(b: Uint8Array, off: number): XfrmLifetimeCur {
  const dv = view(b);
  return {
    bytes: dv.getBigUint64(off, true),
    packets: dv.getBigUint64(off + 8, true),
    addTime: dv.getBigUint64(off + 16, true),
    useTime: dv.getBigUint64(off + 24, true),
  };
}

/*
 * struct xfrm_stats {
 *     __u32 replay_window;
 *     __u32 replay;
 *     __u32 integrity_failed;
 * };                            // 12
 *
 * struct xfrm_usersa_info {
 *     struct xfrm_selector      sel;            // 0
 *     struct xfrm_id            id;             // 56
 *     xfrm_address_t            saddr;          // 80
 *     struct xfrm_lifetime_cfg  lft;            // 96
 *     struct xfrm_lifetime_cur  curlft;         // 160
 *     struct xfrm_stats         stats;          // 192
 *     __u32                     seq;            // 204
 *     __u32                     reqid;          // 208
 *     __u16                     family;         // 212
 *     __u8                      mode;           // 214  XFRM_MODE_xxx
 *     __u8                      replay_window;  // 215
 *     __u8                      flags;          // 216  XFRM_STATE_xxx
 * };                                            // 224 (7 bytes tail padding)
 */
export interface XfrmUsersaInfo {
  sel: XfrmSelector;
  id: XfrmId;
  saddr: Uint8Array;
  lft: XfrmLifetimeCfg;
  /** Ignored by the kernel on input; filled on output. */
  curlft?: XfrmLifetimeCur;
  stats?: { replayWindow: number; replay: number; integrityFailed: number };
  seq: number;
  reqid: number;
  family: number;
  mode: number;
  replayWindow: number;
  flags: number;
}

export function writeUsersaInfo(out: Uint8Array, off: number, s: XfrmUsersaInfo): void {
  const dv = view(out);
  writeSelector(out, off, s.sel);
  writeId(out, off + 56, s.id);
  writeAddress(out, off + 80, s.saddr);
  writeLifetimeCfg(out, off + 96, s.lft);
  // curlft (160) and stats (192) are output-only: left zero.
  dv.setUint32(off + 204, s.seq >>> 0, true);
  dv.setUint32(off + 208, s.reqid >>> 0, true);
  dv.setUint16(off + 212, s.family, true);
  dv.setUint8(off + 214, s.mode);
  dv.setUint8(off + 215, s.replayWindow);
  dv.setUint8(off + 216, s.flags);
}

export function encodeUsersaInfo(s: XfrmUsersaInfo): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_usersa_info);
  writeUsersaInfo(out, 0, s);
  return out;
}

export function readUsersaInfo(b: Uint8Array, off = 0): XfrmUsersaInfo {
  const dv = need(b, off + SIZEOF.xfrm_usersa_info, 'xfrm_usersa_info');
  const family = dv.getUint16(off + 212, true);
  return {
    sel: readSelector(b, off),
    id: readId(b, off + 56, family),
    saddr: readAddress(b, off + 80, family),
    lft: readLifetimeCfg(b, off + 96),
    curlft: readLifetimeCur(b, off + 160),
    stats: { replayWindow: dv.getUint32(off + 192, true), replay: dv.getUint32(off + 196, true), integrityFailed: dv.getUint32(off + 200, true) },
    seq: dv.getUint32(off + 204, true),
    reqid: dv.getUint32(off + 208, true),
    family,
    mode: dv.getUint8(off + 214),
    replayWindow: dv.getUint8(off + 215),
    flags: dv.getUint8(off + 216),
  };
}

/*
 * struct xfrm_usersa_id {
 *     xfrm_address_t daddr;   // 0
 *     __be32 spi;             // 16
 *     __u16  family;          // 20
 *     __u8   proto;           // 22
 * };                          // 24
 */
export interface XfrmUsersaId {
  daddr: Uint8Array;
  spi: number;
  family: number;
  proto: number;
}

export function encodeUsersaId(s: XfrmUsersaId): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_usersa_id);
  const dv = view(out);
  writeAddress(out, 0, s.daddr);
  dv.setUint32(16, s.spi >>> 0, false);
  dv.setUint16(20, s.family, true);
  out[22] = s.proto;
  return out;
}

/*
 * struct xfrm_userspi_info {
 *     struct xfrm_usersa_info info;   // 0
 *     __u32 min;                      // 224
 *     __u32 max;                      // 228
 * };                                  // 232
 */
export interface XfrmUserspiInfo {
  info: XfrmUsersaInfo;
  min: number;
  max: number;
}

export function encodeUserspiInfo(s: XfrmUserspiInfo): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_userspi_info);
  writeUsersaInfo(out, 0, s.info);
  view(out).setUint32(224, s.min >>> 0, true);
  view(out).setUint32(228, s.max >>> 0, true);
  return out;
}

/*
 * struct xfrm_userpolicy_info {
 *     struct xfrm_selector      sel;       // 0
 *     struct xfrm_lifetime_cfg  lft;       // 56
 *     struct xfrm_lifetime_cur  curlft;    // 120
 *     __u32                     priority;  // 152
 *     __u32                     index;     // 156
 *     __u8                      dir;       // 160
 *     __u8                      action;    // 161  XFRM_POLICY_ALLOW / _BLOCK
 *     __u8                      flags;     // 162  XFRM_POLICY_LOCALOK / _ICMP
 *     __u8                      share;     // 163
 * };                                       // 168
 */
export interface XfrmUserpolicyInfo {
  sel: XfrmSelector;
  lft: XfrmLifetimeCfg;
  curlft?: XfrmLifetimeCur;
  priority: number;
  index: number;
  dir: number;
  action: number;
  flags: number;
  share: number;
}

export function writeUserpolicyInfo(out: Uint8Array, off: number, p: XfrmUserpolicyInfo): void {
  const dv = view(out);
  writeSelector(out, off, p.sel);
  writeLifetimeCfg(out, off + 56, p.lft);
  dv.setUint32(off + 152, p.priority >>> 0, true);
  dv.setUint32(off + 156, p.index >>> 0, true);
  dv.setUint8(off + 160, p.dir);
  dv.setUint8(off + 161, p.action);
  dv.setUint8(off + 162, p.flags);
  dv.setUint8(off + 163, p.share);
}

export function encodeUserpolicyInfo(p: XfrmUserpolicyInfo): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_userpolicy_info);
  writeUserpolicyInfo(out, 0, p);
  return out;
}

export function readUserpolicyInfo(b: Uint8Array, off = 0): XfrmUserpolicyInfo {
  const dv = need(b, off + SIZEOF.xfrm_userpolicy_info, 'xfrm_userpolicy_info');
  return {
    sel: readSelector(b, off),
    lft: readLifetimeCfg(b, off + 56),
    curlft: readLifetimeCur(b, off + 120),
    priority: dv.getUint32(off + 152, true),
    index: dv.getUint32(off + 156, true),
    dir: dv.getUint8(off + 160),
    action: dv.getUint8(off + 161),
    flags: dv.getUint8(off + 162),
    share: dv.getUint8(off + 163),
  };
}

/*
 * struct xfrm_userpolicy_id {
 *     struct xfrm_selector sel;   // 0
 *     __u32 index;                // 56
 *     __u8  dir;                  // 60
 * };                              // 64
 */
export interface XfrmUserpolicyId {
  sel: XfrmSelector;
  index: number;
  dir: number;
}

export function writeUserpolicyId(out: Uint8Array, off: number, p: XfrmUserpolicyId): void {
  writeSelector(out, off, p.sel);
  view(out).setUint32(off + 56, p.index >>> 0, true);
  out[off + 60] = p.dir;
}

export function encodeUserpolicyId(p: XfrmUserpolicyId): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_userpolicy_id);
  writeUserpolicyId(out, 0, p);
  return out;
}

/*
 * struct xfrm_user_tmpl {
 *     struct xfrm_id  id;         // 0
 *     __u16           family;     // 24
 *     xfrm_address_t  saddr;      // 28
 *     __u32           reqid;      // 44
 *     __u8            mode;       // 48
 *     __u8            share;      // 49
 *     __u8            optional;   // 50
 *     __u32           aalgos;     // 52
 *     __u32           ealgos;     // 56
 *     __u32           calgos;     // 60
 * };                              // 64
 */
export interface XfrmUserTmpl {
  id: XfrmId;
  family: number;
  saddr: Uint8Array;
  reqid: number;
  mode: number;
  share: number;
  optional: number;
  aalgos: number;
  ealgos: number;
  calgos: number;
}

export function encodeUserTmpls(tmpls: readonly XfrmUserTmpl[]): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_user_tmpl * tmpls.length);
  const dv = view(out);
  tmpls.forEach((t, i) => {
    const off = i * SIZEOF.xfrm_user_tmpl;
    writeId(out, off, t.id);
    dv.setUint16(off + 24, t.family, true);
    writeAddress(out, off + 28, t.saddr);
    dv.setUint32(off + 44, t.reqid >>> 0, true);
    dv.setUint8(off + 48, t.mode);
    dv.setUint8(off + 49, t.share);
    dv.setUint8(off + 50, t.optional);
    dv.setUint32(off + 52, t.aalgos >>> 0, true);
    dv.setUint32(off + 56, t.ealgos >>> 0, true);
    dv.setUint32(off + 60, t.calgos >>> 0, true);
  });
  return out;
}

export function readUserTmpls(b: Uint8Array): XfrmUserTmpl[] {
  if (b.length % SIZEOF.xfrm_user_tmpl !== 0) throw new XfrmDecodeError(`XFRMA_TMPL of ${b.length} bytes is not a whole number of xfrm_user_tmpl`);
  const dv = view(b);
  const out: XfrmUserTmpl[] = [];
  for (let off = 0; off < b.length; off += SIZEOF.xfrm_user_tmpl) {
    const family = dv.getUint16(off + 24, true);
    out.push({
      id: readId(b, off, family),
      family,
      saddr: readAddress(b, off + 28, family),
      reqid: dv.getUint32(off + 44, true),
      mode: dv.getUint8(off + 48),
      share: dv.getUint8(off + 49),
      optional: dv.getUint8(off + 50),
      aalgos: dv.getUint32(off + 52, true),
      ealgos: dv.getUint32(off + 56, true),
      calgos: dv.getUint32(off + 60, true),
    });
  }
  return out;
}

/*
 * struct xfrm_encap_tmpl {
 *     __u16          encap_type;    // 0  UDP_ENCAP_ESPINUDP
 *     __be16         encap_sport;   // 2
 *     __be16         encap_dport;   // 4
 *     xfrm_address_t encap_oa;      // 8  original address (unused for ESP-in-UDP)
 * };                                // 24
 */
export interface XfrmEncapTmpl {
  type: number;
  sport: number;
  dport: number;
  oa?: Uint8Array;
}

export function encodeEncapTmpl(e: XfrmEncapTmpl): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_encap_tmpl);
  const dv = view(out);
  dv.setUint16(0, e.type, true);
  dv.setUint16(2, e.sport, false);
  dv.setUint16(4, e.dport, false);
  writeAddress(out, 8, e.oa);
  return out;
}

/** char alg_name[64], NUL-terminated. */
function writeAlgName(out: Uint8Array, name: string): void {
  const bytes = new TextEncoder().encode(name);
  if (bytes.length >= 64) throw new RangeError(`algorithm name '${name}' does not fit alg_name[64]`);
  out.set(bytes, 0);
}

/*
 * struct xfrm_algo {
 *     char         alg_name[64];   // 0
 *     unsigned int alg_key_len;    // 64  in bits
 *     char         alg_key[];      // 68
 * };
 */
export interface XfrmAlgo {
  name: string;
  key: Uint8Array;
}

export function encodeAlgo(a: XfrmAlgo): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_algo + a.key.length);
  writeAlgName(out, a.name);
  view(out).setUint32(64, a.key.length * 8, true);
  out.set(a.key, SIZEOF.xfrm_algo);
  return out;
}

/*
 * struct xfrm_algo_auth {
 *     char         alg_name[64];   // 0
 *     unsigned int alg_key_len;    // 64  in bits
 *     unsigned int alg_trunc_len;  // 68  in bits
 *     char         alg_key[];      // 72
 * };
 */
export interface XfrmAlgoAuth extends XfrmAlgo {
  truncBits: number;
}

export function encodeAlgoAuth(a: XfrmAlgoAuth): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_algo_auth + a.key.length);
  writeAlgName(out, a.name);
  view(out).setUint32(64, a.key.length * 8, true);
  view(out).setUint32(68, a.truncBits, true);
  out.set(a.key, SIZEOF.xfrm_algo_auth);
  return out;
}

/*
 * struct xfrm_algo_aead {
 *     char         alg_name[64];   // 0
 *     unsigned int alg_key_len;    // 64  in bits (key + 4-byte salt for rfc4106)
 *     unsigned int alg_icv_len;    // 68  in bits
 *     char         alg_key[];      // 72
 * };
 */
export interface XfrmAlgoAead extends XfrmAlgo {
  icvBits: number;
}

export function encodeAlgoAead(a: XfrmAlgoAead): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_algo_aead + a.key.length);
  writeAlgName(out, a.name);
  view(out).setUint32(64, a.key.length * 8, true);
  view(out).setUint32(68, a.icvBits, true);
  out.set(a.key, SIZEOF.xfrm_algo_aead);
  return out;
}

/*
 * struct xfrm_replay_state_esn {
 *     unsigned int bmp_len;         // 0   in 32-bit words
 *     __u32        oseq;            // 4
 *     __u32        seq;             // 8
 *     __u32        oseq_hi;         // 12
 *     __u32        seq_hi;          // 16
 *     __u32        replay_window;   // 20  in packets
 *     __u32        bmp[];           // 24
 * };
 */
export interface XfrmReplayStateEsn {
  oseq: number;
  seq: number;
  oseqHi: number;
  seqHi: number;
  replayWindow: number;
}

/** The kernel wants exactly bmp_len = ceil(window / 32) words of bitmap after the header. */
export function encodeReplayStateEsn(r: XfrmReplayStateEsn): Uint8Array {
  const bmpLen = Math.ceil(r.replayWindow / 32);
  const out = new Uint8Array(SIZEOF.xfrm_replay_state_esn + 4 * bmpLen);
  const dv = view(out);
  dv.setUint32(0, bmpLen, true);
  dv.setUint32(4, r.oseq >>> 0, true);
  dv.setUint32(8, r.seq >>> 0, true);
  dv.setUint32(12, r.oseqHi >>> 0, true);
  dv.setUint32(16, r.seqHi >>> 0, true);
  dv.setUint32(20, r.replayWindow >>> 0, true);
  return out;
}

/*
 * struct xfrm_user_expire {
 *     struct xfrm_usersa_info state;   // 0
 *     __u8                    hard;    // 224
 * };                                   // 232
 */
export interface XfrmUserExpire {
  state: XfrmUsersaInfo;
  hard: boolean;
}

export function readUserExpire(b: Uint8Array): XfrmUserExpire {
  need(b, OFFSETOF['xfrm_user_expire.hard'] + 1, 'xfrm_user_expire');
  return { state: readUsersaInfo(b, 0), hard: b[224] !== 0 };
}

/*
 * struct xfrm_user_polexpire {
 *     struct xfrm_userpolicy_info pol;   // 0
 *     __u8                        hard;  // 168
 * };                                     // 176
 * (only its layout is checked: polexpire events are not used)
 */

/*
 * struct xfrm_user_acquire {
 *     struct xfrm_id              id;       // 0
 *     xfrm_address_t              saddr;    // 24
 *     struct xfrm_selector        sel;      // 40
 *     struct xfrm_userpolicy_info policy;   // 96
 *     __u32                       aalgos;   // 264
 *     __u32                       ealgos;   // 268
 *     __u32                       calgos;   // 272
 *     __u32                       seq;      // 276
 * };                                        // 280
 */
export interface XfrmUserAcquire {
  id: XfrmId;
  saddr: Uint8Array;
  sel: XfrmSelector;
  policy: XfrmUserpolicyInfo;
  aalgos: number;
  ealgos: number;
  calgos: number;
  seq: number;
}

export function readUserAcquire(b: Uint8Array): XfrmUserAcquire {
  const dv = need(b, SIZEOF.xfrm_user_acquire, 'xfrm_user_acquire');
  const sel = readSelector(b, 40);
  return {
    id: readId(b, 0, sel.family),
    saddr: readAddress(b, 24, sel.family),
    sel,
    policy: readUserpolicyInfo(b, 96),
    aalgos: dv.getUint32(264, true),
    ealgos: dv.getUint32(268, true),
    calgos: dv.getUint32(272, true),
    seq: dv.getUint32(276, true),
  };
}

/*
 * struct xfrm_mark {
 *     __u32 v;   // value
 *     __u32 m;   // mask
 * };             // 8
 */
export interface XfrmMark {
  v: number;
  m: number;
}

export function encodeMark(mark: XfrmMark): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_mark);
  view(out).setUint32(0, mark.v >>> 0, true);
  view(out).setUint32(4, mark.m >>> 0, true);
  return out;
}

/*
 * struct xfrm_user_migrate {
 *     xfrm_address_t old_daddr;    // 0
 *     xfrm_address_t old_saddr;    // 16
 *     xfrm_address_t new_daddr;    // 32
 *     xfrm_address_t new_saddr;    // 48
 *     __u8           proto;        // 64
 *     __u8           mode;         // 65
 *     __u16          reserved;     // 66
 *     __u32          reqid;        // 68
 *     __u16          old_family;   // 72
 *     __u16          new_family;   // 74
 * };                               // 76
 */
export interface XfrmUserMigrate {
  oldDaddr: Uint8Array;
  oldSaddr: Uint8Array;
  newDaddr: Uint8Array;
  newSaddr: Uint8Array;
  proto: number;
  mode: number;
  reqid: number;
}

export function encodeUserMigrates(list: readonly XfrmUserMigrate[]): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_user_migrate * list.length);
  const dv = view(out);
  list.forEach((m, i) => {
    const off = i * SIZEOF.xfrm_user_migrate;
    writeAddress(out, off, m.oldDaddr);
    writeAddress(out, off + 16, m.oldSaddr);
    writeAddress(out, off + 32, m.newDaddr);
    writeAddress(out, off + 48, m.newSaddr);
    dv.setUint8(off + 64, m.proto);
    dv.setUint8(off + 65, m.mode);
    dv.setUint32(off + 68, m.reqid >>> 0, true);
    dv.setUint16(off + 72, familyOfAddress(m.oldDaddr), true);
    dv.setUint16(off + 74, familyOfAddress(m.newDaddr), true);
  });
  return out;
}

/*
 * struct xfrm_user_kmaddress {
 *     xfrm_address_t local;      // 0
 *     xfrm_address_t remote;     // 16
 *     __u32          reserved;   // 32
 *     __u16          family;     // 36
 * };                             // 40
 */
export function encodeUserKmaddress(local: Uint8Array, remote: Uint8Array): Uint8Array {
  const out = new Uint8Array(SIZEOF.xfrm_user_kmaddress);
  writeAddress(out, 0, local);
  writeAddress(out, 16, remote);
  view(out).setUint16(36, familyOfAddress(local), true);
  return out;
}

/*
 * struct xfrmu_spdhthresh {
 *     __u8 lbits;   // prefix length of the local (destination for out) address to hash on
 *     __u8 rbits;
 * };                // 2
 */
export function encodeSpdhthresh(lbits: number, rbits: number): Uint8Array {
  return Uint8Array.of(lbits, rbits);
}
