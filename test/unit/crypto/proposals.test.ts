// Proposal selection (RFC 7296 §2.7, §3.3): client vs server order, Key Length attributes
// (RFC 7296 §3.3.5), unknown transform types, INVALID_KE_PAYLOAD group suggestion (RFC 7296 §1.2),
// ESP PFS/ESN choices, and human-readable failure reasons.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import {
  describeProposal,
  describeSpec,
  findKeGroupForInvalidKe,
  proposalOf,
  selectProposal,
  transformsOf,
} from '../../../src/ike/exchanges/steps/proposals.js';
import { parseProposal, parseProposals } from '../../../src/crypto/proposal-syntax.js';
import type { Proposal, Transform } from '../../../src/ike/codec/payload.js';
import { EncrId, EsnId, IntegId, KeId, PrfId, ProtocolId, TransformAttr, TransformType } from '../../../src/ike/constants.js';

const ike = (text: string, num = 1): Proposal => proposalOf(parseProposal(text, 'ike'), num);
const esp = (text: string, num = 1, spi = new Uint8Array([1, 2, 3, 4])): Proposal => proposalOf(parseProposal(text, 'esp'), num, spi);
const cfg = (list: string, proto: 'ike' | 'esp' = 'ike') => parseProposals(list, proto);
const T = (type: number, id: number, keyBits?: number): Transform => ({
  type,
  id,
  attributes: keyBits === undefined ? [] : [{ type: TransformAttr.KEY_LENGTH, value: keyBits }],
});

describe('selectProposal: order', () => {
  const offered = [ike('aes128-sha256-ecp256', 1), ike('aes256gcm16-prfsha384-ecp384', 2)];
  const configured = cfg('aes256gcm16-prfsha384-ecp384, aes128-sha256-ecp256');

  it("client order (default): the client's first acceptable proposal wins", () => {
    const r = selectProposal(offered, configured, { protocol: 'ike', preferServerOrder: false });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.chosen.num).toBe(1);
    expect(r.suite).toEqual({ encr: { id: EncrId.AES_CBC, keyBits: 128 }, integ: IntegId.HMAC_SHA2_256_128, prf: PrfId.HMAC_SHA2_256, ke: KeId.ECP_256 });
  });

  it('server order: our first acceptable spec wins', () => {
    const r = selectProposal(offered, configured, { protocol: 'ike', preferServerOrder: true });
    expect(r.ok && r.chosen.num).toBe(2);
    expect(r.ok && r.suite).toEqual({ encr: { id: EncrId.AES_GCM_16, keyBits: 256 }, prf: PrfId.HMAC_SHA2_384, ke: KeId.ECP_384 });
  });

  it('the same rule applies to transforms inside one proposal', () => {
    const one = [ike('aes128-aes256-sha256-sha512-x25519-ecp256')];
    const mine = cfg('aes256-aes128-sha512-sha256-ecp256-x25519');
    const c = selectProposal(one, mine, { protocol: 'ike', preferServerOrder: false });
    const s = selectProposal(one, mine, { protocol: 'ike', preferServerOrder: true });
    expect(c.ok && c.suite).toEqual({ encr: { id: EncrId.AES_CBC, keyBits: 128 }, integ: IntegId.HMAC_SHA2_256_128, prf: PrfId.HMAC_SHA2_256, ke: KeId.CURVE25519 });
    expect(s.ok && s.suite).toEqual({ encr: { id: EncrId.AES_CBC, keyBits: 256 }, integ: IntegId.HMAC_SHA2_512_256, prf: PrfId.HMAC_SHA2_512, ke: KeId.ECP_256 });
  });

  it('the chosen proposal echoes the number, has one transform per type, keeps Key Length, leaves the SPI empty', () => {
    const r = selectProposal([ike('aes128-aes256-sha256-sha1-ecp256-modp2048', 7)], cfg('aes256-sha1-modp2048'), { protocol: 'ike', preferServerOrder: false });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.chosen.num).toBe(7);
    expect(r.chosen.protocol).toBe(ProtocolId.IKE);
    expect(r.chosen.spi.length).toBe(0);
    expect(r.chosen.transforms).toEqual([
      T(TransformType.ENCR, EncrId.AES_CBC, 256),
      T(TransformType.INTEG, IntegId.HMAC_SHA1_96),
      T(TransformType.PRF, PrfId.HMAC_SHA1),
      T(TransformType.KE, KeId.MODP_2048),
    ]);
  });
});

describe('selectProposal: Key Length and unknown transforms', () => {
  it('AES key length must match the configured size (RFC 7296 §3.3.5)', () => {
    const offered: Proposal = { num: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0), transforms: [T(1, EncrId.AES_CBC, 192), T(3, 12), T(2, 5), T(4, 19)] };
    const r = selectProposal([offered], cfg('aes256-sha256-ecp256'), { protocol: 'ike', preferServerOrder: false });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('offered IKE:AES_CBC_192/HMAC_SHA2_256_128/PRF_HMAC_SHA2_256/ECP_256');
  });

  it('AES without a Key Length attribute is not accepted; ChaCha20 needs none', () => {
    const noAttr: Proposal = { num: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0), transforms: [T(1, EncrId.AES_GCM_16), T(2, 5), T(4, 31)] };
    expect(selectProposal([noAttr], cfg('aes128gcm16-prfsha256-x25519'), { protocol: 'ike', preferServerOrder: false }).ok).toBe(false);
    const chacha: Proposal = { num: 1, protocol: ProtocolId.IKE, spi: new Uint8Array(0), transforms: [T(1, EncrId.CHACHA20_POLY1305), T(2, 5), T(4, 31)] };
    const r = selectProposal([chacha], cfg('chacha20poly1305-prfsha256-x25519'), { protocol: 'ike', preferServerOrder: false });
    expect(r.ok && r.suite.encr).toEqual({ id: EncrId.CHACHA20_POLY1305, keyBits: 256 });
  });

  it('a proposal with an unknown transform type is skipped; unknown transform ids are ignored', () => {
    const weird: Proposal = { ...ike('aes256-sha256-ecp256', 1) };
    weird.transforms = [...weird.transforms, T(6, 1)];
    const withUnknownIds: Proposal = { ...ike('aes256-sha256-ecp256', 2) };
    withUnknownIds.transforms = [T(1, EncrId.AES_CCM_16, 256), T(3, 99), T(4, 1234), ...withUnknownIds.transforms];
    const r = selectProposal([weird, withUnknownIds], cfg('aes256-sha256-ecp256'), { protocol: 'ike', preferServerOrder: false });
    expect(r.ok && r.chosen.num).toBe(2);
    expect(r.ok && r.chosen.transforms.length).toBe(4);
  });

  it('a transform with an attribute other than Key Length is unusable', () => {
    const p = ike('aes256-sha256-ecp256');
    p.transforms = p.transforms.map((t) => (t.type === TransformType.INTEG ? { ...t, attributes: [{ type: 99, value: 1 }] } : t));
    expect(selectProposal([p], cfg('aes256-sha256-ecp256'), { protocol: 'ike', preferServerOrder: false }).ok).toBe(false);
  });

  it('ignores proposals for another protocol', () => {
    const r = selectProposal([esp('aes256-sha256')], cfg('aes256-sha256-ecp256'), { protocol: 'ike', preferServerOrder: false });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('offered no IKE proposal');
  });
});

describe('selectProposal: legacy and failure reasons', () => {
  it('Windows default aes256-sha1-modp1024 against a modern-only config gives a readable reason', () => {
    const r = selectProposal([ike('aes256-sha1-modp1024')], cfg('aes256gcm16-prfsha384-ecp384'), { protocol: 'ike', preferServerOrder: false });
    expect(r).toEqual({
      ok: false,
      reason: 'no proposal matched: offered IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024, configured IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384',
    });
  });

  it('the Windows proposal is accepted when configured, unless legacy algorithms are disabled', () => {
    const offered = [ike('3des-sha1-modp1024', 1), ike('aes256-sha1-modp1024', 2)];
    const configured = cfg('aes256-sha1-modp1024, default');
    const r = selectProposal(offered, configured, { protocol: 'ike', preferServerOrder: false });
    expect(r.ok && r.chosen.num).toBe(2);
    const off = selectProposal(offered, configured, { protocol: 'ike', preferServerOrder: false, allowLegacy: false });
    expect(off.ok).toBe(false);
    expect(!off.ok && off.reason).toMatch(/^no proposal matched \(legacy algorithms disabled\): offered IKE:3DES_CBC\/HMAC_SHA1_96\/PRF_HMAC_SHA1\/MODP_1024, IKE:AES_CBC_256/);
  });
});

describe('INVALID_KE_PAYLOAD (RFC 7296 §1.2)', () => {
  const offered = [ike('aes256-sha256-ecp256-modp2048')];
  const configured = cfg('aes256-sha256-modp2048');
  const opts = { protocol: 'ike' as const, preferServerOrder: false };

  it('selection with the KE payload group required fails; the group to suggest is found', () => {
    const r = selectProposal(offered, configured, { ...opts, requiredKe: KeId.ECP_256 });
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toContain('with KE payload group ECP_256');
    expect(findKeGroupForInvalidKe(offered, configured, KeId.ECP_256, opts)).toBe(KeId.MODP_2048);
  });

  it('the KE payload group wins over preference when acceptable', () => {
    const r = selectProposal([ike('aes256-sha256-modp2048-ecp256')], cfg('aes256-sha256-modp2048-ecp256'), { ...opts, requiredKe: KeId.ECP_256 });
    expect(r.ok && r.suite.ke).toBe(KeId.ECP_256);
    expect(findKeGroupForInvalidKe(offered, configured, KeId.MODP_2048, opts)).toBeUndefined();
  });

  it('no group to suggest when nothing else matches either', () => {
    expect(findKeGroupForInvalidKe([ike('aes128-sha1-modp1024')], configured, KeId.MODP_1024, opts)).toBeUndefined();
  });

  it('with server order the suggestion is our preferred group', () => {
    const off = [ike('aes256-sha256-modp2048-ecp256-x25519')];
    const mine = cfg('aes256-sha256-x25519-ecp256');
    expect(findKeGroupForInvalidKe(off, mine, KeId.MODP_2048, { protocol: 'ike', preferServerOrder: true })).toBe(KeId.CURVE25519);
    expect(findKeGroupForInvalidKe(off, mine, KeId.MODP_2048, { protocol: 'ike', preferServerOrder: false })).toBe(KeId.ECP_256);
  });
});

describe('selectProposal: ESP', () => {
  const opts = { protocol: 'esp' as const, preferServerOrder: false };

  it('AEAD, ESN negotiation and the ESP description', () => {
    const r = selectProposal([esp('aes256gcm16-esn-noesn')], cfg('aes256gcm16-esn', 'esp'), opts);
    expect(r.ok && r.suite).toEqual({ encr: { id: EncrId.AES_GCM_16, keyBits: 256 }, esn: true });
    expect(r.ok && describeProposal(r.chosen)).toBe('ESP:AES_GCM_16_256/EXT_SEQ');
    const n = selectProposal([esp('aes256gcm16-esn')], cfg('aes256gcm16', 'esp'), opts);
    expect(n.ok).toBe(false);
  });

  it('no PFS configured: a KE NONE offer is echoed, a KE-only offer is refused, ignoreKe drops KE', () => {
    const mine = cfg('aes128-sha256', 'esp');
    const optional = selectProposal([esp('aes128-sha256-ecp256-none')], mine, opts);
    expect(optional.ok && optional.suite.ke).toBeUndefined();
    expect(optional.ok && optional.chosen.transforms.some((t) => t.type === TransformType.KE && t.id === KeId.NONE)).toBe(true);
    expect(selectProposal([esp('aes128-sha256-ecp256')], mine, opts).ok).toBe(false);
    const ignored = selectProposal([esp('aes128-sha256-ecp256')], mine, { ...opts, ignoreKe: true });
    expect(ignored.ok && ignored.chosen.transforms.some((t) => t.type === TransformType.KE)).toBe(false);
  });

  it('PFS required vs optional', () => {
    const required = cfg('aes128-sha256-ecp256', 'esp');
    const optional = cfg('aes128-sha256-ecp256-none', 'esp');
    expect(selectProposal([esp('aes128-sha256')], required, opts).ok).toBe(false);
    const r = selectProposal([esp('aes128-sha256')], optional, opts);
    expect(r.ok && r.suite).toEqual({ encr: { id: EncrId.AES_CBC, keyBits: 128 }, integ: IntegId.HMAC_SHA2_256_128, esn: false });
    const pfs = selectProposal([esp('aes128-sha256-ecp256')], optional, opts);
    expect(pfs.ok && pfs.suite.ke).toBe(KeId.ECP_256);
  });

  it('AEAD offered with INTEG NONE echoes it; AEAD mixed with real MACs falls back to the classic cipher', () => {
    const p: Proposal = {
      num: 3,
      protocol: ProtocolId.ESP,
      spi: new Uint8Array(4),
      transforms: [T(1, EncrId.AES_GCM_16, 128), T(3, IntegId.NONE), T(5, EsnId.NO_ESN)],
    };
    const r = selectProposal([p], cfg('aes128gcm16', 'esp'), opts);
    expect(r.ok && r.chosen.transforms).toEqual([T(1, EncrId.AES_GCM_16, 128), T(3, IntegId.NONE), T(5, EsnId.NO_ESN)]);
    expect(r.ok && r.suite.integ).toBeUndefined();
    const mixed: Proposal = {
      num: 4,
      protocol: ProtocolId.ESP,
      spi: new Uint8Array(4),
      transforms: [T(1, EncrId.AES_GCM_16, 128), T(1, EncrId.AES_CBC, 128), T(3, IntegId.HMAC_SHA2_256_128), T(5, EsnId.NO_ESN)],
    };
    const m = selectProposal([mixed], cfg('aes128gcm16, aes128-sha256', 'esp'), opts);
    expect(m.ok && m.suite).toEqual({ encr: { id: EncrId.AES_CBC, keyBits: 128 }, integ: IntegId.HMAC_SHA2_256_128, esn: false });
  });
});

describe('transformsOf / describe', () => {
  it('builds SA payload transforms with Key Length only where defined', () => {
    expect(transformsOf(parseProposal('aes256gcm16-chacha20poly1305-prfsha256-x25519', 'ike'))).toEqual([
      T(1, EncrId.AES_GCM_16, 256),
      T(1, EncrId.CHACHA20_POLY1305),
      T(2, PrfId.HMAC_SHA2_256),
      T(4, KeId.CURVE25519),
    ]);
    expect(transformsOf(parseProposal('3des-sha1', 'esp'))).toEqual([T(1, EncrId['3DES']), T(3, IntegId.HMAC_SHA1_96), T(5, EsnId.NO_ESN)]);
  });

  it('describes specs and proposals in strongSwan style', () => {
    expect(describeSpec(parseProposal('aes256gcm16-prfsha384-ecp384', 'ike'))).toBe('IKE:AES_GCM_16_256/PRF_HMAC_SHA2_384/ECP_384');
    expect(describeProposal(ike('aes256-sha1-modp1024'))).toBe('IKE:AES_CBC_256/HMAC_SHA1_96/PRF_HMAC_SHA1/MODP_1024');
    const odd: Proposal = { num: 1, protocol: 9, spi: new Uint8Array(0), transforms: [T(7, 3), T(1, 99, 128)] };
    expect(describeProposal(odd)).toBe('PROTO(9):ENCR(99)_128/TRANSFORM_TYPE_7(3)');
  });

  it('property: every parsed proposal selects itself, with one transform per negotiated type', () => {
    const words = {
      encr: ['aes128', 'aes256', 'aes192'],
      aead: ['aes128gcm16', 'aes256gcm16', 'chacha20poly1305'],
      integ: ['sha1', 'sha256', 'sha384', 'sha512', 'aesxcbc'],
      prf: ['prfsha256', 'prfsha384', 'prfaescmac'],
      ke: ['x25519', 'ecp256', 'ecp384', 'modp2048', 'x448'],
    };
    const sub = (xs: string[]) => fc.subarray(xs, { minLength: 1 });
    const classic = fc.tuple(sub(words.encr), sub(words.integ), fc.subarray(words.prf), sub(words.ke)).map((t) => t.flat());
    const aead = fc.tuple(sub(words.aead), sub(words.prf), sub(words.ke)).map((t) => t.flat());
    fc.assert(
      fc.property(fc.oneof(classic, aead), fc.boolean(), (tokens, serverOrder) => {
        const spec = parseProposal(tokens.join('-'), 'ike');
        const r = selectProposal([proposalOf(spec, 5)], [spec], { protocol: 'ike', preferServerOrder: serverOrder });
        if (!r.ok) return false;
        const types = r.chosen.transforms.map((t) => t.type);
        return r.chosen.num === 5 && new Set(types).size === types.length && types.length === (spec.integ.length > 0 ? 4 : 3);
      }),
    );
  });
});
