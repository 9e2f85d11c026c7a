// XFRM struct layouts and byte-exact encodings against what iproute2 sends to the kernel
// (captured on a Linux 6.18 host with `strace -e sendmsg -x ip …`; payload after nlmsghdr).
import { describe, expect, it } from 'vitest';
import { IPPROTO_ESP, XfrmAttr, XfrmMsg, XfrmSpdAttr } from '../../../src/xfrm/netlink/xfrm-constants.js';
import {
  anySelector,
  encodeAlgoAead,
  encodeEncapTmpl,
  encodeReplayStateEsn,
  encodeSpdhthresh,
  encodeUserpolicyId,
  encodeUserspiInfo,
  LAYOUT,
  readUserpolicyInfo,
  readUsersaInfo,
  readUserTmpls,
  SIZEOF,
} from '../../../src/xfrm/netlink/xfrm-structs.js';
import { EXPECTED_LAYOUT } from '../../native/layout.js';
import { IP_ALLOCSPI, IP_DELPOLICY, IP_NEWPOLICY, IP_NEWSPDINFO } from './fixtures.js';
import { hex, payloadOf, unhex } from './helpers.js';

describe('struct layouts', () => {
  it('agree with the native test table (sizeof/offsetof from the kernel headers)', () => {
    const expected = EXPECTED_LAYOUT as Readonly<Record<string, number>>;
    const keys = Object.keys(LAYOUT);
    expect(keys.length).toBeGreaterThan(90);
    for (const k of keys) expect([k, expected[k]]).toEqual([k, LAYOUT[k]]);
  });

  it('has the x86_64 sizes vishvananda/netlink also hard-codes', () => {
    expect(SIZEOF.xfrm_usersa_info).toBe(0xe0);
    expect(SIZEOF.xfrm_userpolicy_info).toBe(0xa8);
    expect(SIZEOF.xfrm_user_tmpl).toBe(0x40);
    expect(SIZEOF.xfrm_user_expire).toBe(232);
  });
});

describe('encodings match iproute2', () => {
  it('XFRM_MSG_ALLOCSPI: xfrm_userspi_info', () => {
    const info = readUsersaInfo(new Uint8Array(SIZEOF.xfrm_usersa_info));
    const body = encodeUserspiInfo({
      info: { ...info, sel: anySelector(), id: { daddr: Uint8Array.of(198, 51, 100, 7), spi: 0, proto: IPPROTO_ESP }, saddr: new Uint8Array(4), family: 2, mode: 1 },
      min: 0xc0000000,
      max: 0xcfffffff,
    });
    expect(hex(body)).toBe(IP_ALLOCSPI);
  });

  it('XFRM_MSG_DELPOLICY: xfrm_userpolicy_id', () => {
    const sel = { ...anySelector(), saddr: Uint8Array.of(198, 18, 0, 5), daddr: Uint8Array.of(0, 0, 0, 0), prefixlenS: 32, family: 2 };
    expect(payloadOf(XfrmMsg.XFRM_MSG_DELPOLICY, encodeUserpolicyId({ sel, index: 0, dir: 1 }))).toBe(IP_DELPOLICY);
  });

  it('XFRM_MSG_NEWSPDINFO: u32 + xfrmu_spdhthresh attributes', () => {
    const attrs = [
      { type: XfrmSpdAttr.XFRMA_SPD_IPV4_HTHRESH, value: encodeSpdhthresh(0, 32) },
      { type: XfrmSpdAttr.XFRMA_SPD_IPV6_HTHRESH, value: encodeSpdhthresh(0, 128) },
    ];
    expect(payloadOf(XfrmMsg.XFRM_MSG_NEWSPDINFO, unhex('ffffffff'), attrs)).toBe(IP_NEWSPDINFO);
  });

  it('XFRMA_ALG_AEAD, XFRMA_ENCAP, XFRMA_REPLAY_ESN_VAL payloads', () => {
    const aead = encodeAlgoAead({ name: 'rfc4106(gcm(aes))', key: unhex('0102030405060708091011121314151617181920'), icvBits: 128 });
    // alg_name[64] | alg_key_len = 160 bits | alg_icv_len = 128 | key
    expect(hex(aead)).toBe('726663343130362867636d28616573292900' + '00'.repeat(46) + 'a0000000' + '80000000' + '0102030405060708091011121314151617181920');
    // UDP_ENCAP_ESPINUDP (host order), ports big-endian, encap_oa zero
    expect(hex(encodeEncapTmpl({ type: 2, sport: 4500, dport: 4501 }))).toBe('0200' + '1194' + '1195' + '0000' + '00'.repeat(16));
    // bmp_len = 128/32 = 4 words after the 24-byte header
    const esn = encodeReplayStateEsn({ oseq: 0, seq: 0, oseqHi: 0, seqHi: 0, replayWindow: 128 });
    expect(esn.length).toBe(24 + 16);
    expect(hex(esn.subarray(0, 24))).toBe('04000000' + '00'.repeat(16) + '80000000');
  });

  it('decodes the policy iproute2 sent back into its fields', () => {
    const b = unhex(IP_NEWPOLICY);
    const p = readUserpolicyInfo(b);
    expect(p).toMatchObject({ priority: 1000, dir: 1, action: 0, index: 0 });
    expect([...p.sel.saddr]).toEqual([198, 18, 0, 5]);
    expect(p.sel.prefixlenS).toBe(32);
    const tmpl = readUserTmpls(b.subarray(SIZEOF.xfrm_userpolicy_info + 4));
    expect(tmpl).toHaveLength(1);
    expect(tmpl[0]).toMatchObject({ reqid: 7, mode: 1, family: 2, aalgos: 0xffffffff });
    expect([...tmpl[0]!.id.daddr]).toEqual([198, 51, 100, 7]);
    expect(tmpl[0]!.id.proto).toBe(IPPROTO_ESP);
    expect(XfrmAttr.XFRMA_TMPL).toBe(5);
  });
});
