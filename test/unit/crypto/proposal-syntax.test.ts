// strongSwan proposal keywords to ProposalSpec (swanctl.conf `proposals` / `esp_proposals`).
import { describe, expect, it } from 'vitest';
import { DEFAULT_PROPOSALS, formatProposal, parseProposal, parseProposals } from '../../../src/crypto/proposal-syntax.js';
import { EncrId, EsnId, IntegId, KeId, PrfId } from '../../../src/ike/constants.js';

describe('parseProposal (IKE)', () => {
  it('aes256gcm16-prfsha384-ecp384', () => {
    expect(parseProposal('aes256gcm16-prfsha384-ecp384', 'ike')).toEqual({
      text: 'aes256gcm16-prfsha384-ecp384',
      protocol: 'ike',
      encr: [{ id: EncrId.AES_GCM_16, keyBits: 256 }],
      prf: [PrfId.HMAC_SHA2_384],
      integ: [],
      ke: [KeId.ECP_384],
      esn: [],
    });
  });

  it('aes256-sha1-modp1024 (Windows default): integrity implies the matching PRF', () => {
    const s = parseProposal('aes256-sha1-modp1024', 'ike');
    expect(s.encr).toEqual([{ id: EncrId.AES_CBC, keyBits: 256 }]);
    expect(s.integ).toEqual([IntegId.HMAC_SHA1_96]);
    expect(s.prf).toEqual([PrfId.HMAC_SHA1]);
    expect(s.ke).toEqual([KeId.MODP_1024]);
  });

  it('aes256-sha256-modp1024, aes128-sha256-x25519, aes256gcm16-prfsha256-x25519', () => {
    expect(parseProposal('aes256-sha256-modp1024', 'ike').prf).toEqual([PrfId.HMAC_SHA2_256]);
    const x = parseProposal('aes128-sha256-x25519', 'ike');
    expect(x.encr).toEqual([{ id: EncrId.AES_CBC, keyBits: 128 }]);
    expect(x.ke).toEqual([KeId.CURVE25519]);
    expect(parseProposal('aes256gcm16-prfsha256-x25519', 'ike').prf).toEqual([PrfId.HMAC_SHA2_256]);
  });

  it('an explicit PRF suppresses the implied ones', () => {
    expect(parseProposal('aes128-sha256-prfsha512-ecp256', 'ike').prf).toEqual([PrfId.HMAC_SHA2_512]);
  });

  it('several algorithms of each type in one AEAD proposal: integrity only implies PRFs', () => {
    const s = parseProposal('aes128gcm16-aes256gcm16-sha1-sha256-sha384-modp1024', 'ike');
    expect(s.encr).toEqual([
      { id: EncrId.AES_GCM_16, keyBits: 128 },
      { id: EncrId.AES_GCM_16, keyBits: 256 },
    ]);
    expect(s.prf).toEqual([PrfId.HMAC_SHA1, PrfId.HMAC_SHA2_256, PrfId.HMAC_SHA2_384]);
    expect(s.integ).toEqual([]);
  });

  it('AEAD without PRF is an error that says a PRF is mandatory', () => {
    expect(() => parseProposal('aes256gcm16-ecp384', 'ike')).toThrow(/PRF algorithm is mandatory in IKE proposals/);
  });

  it('requires a KE method, drops "none" from IKE, rejects esn in IKE', () => {
    expect(() => parseProposal('aes256-sha256', 'ike')).toThrow(/key exchange method is mandatory/);
    expect(parseProposal('aes256-sha256-modp2048-none', 'ike').ke).toEqual([KeId.MODP_2048]);
    expect(() => parseProposal('aes256-sha256-modp2048-esn', 'ike')).toThrow(/only to ESP/);
  });

  it('accepts the keyword aliases', () => {
    const s = parseProposal('aes-sha-sha2_256-curve25519-x448-curve448-modp1536-modp3072-modp4096-modp6144-modp8192-ecp256-ecp521-3des-md5-aesxcbc-prfaescmac', 'ike');
    expect(s.encr).toEqual([
      { id: EncrId.AES_CBC, keyBits: 128 },
      { id: EncrId['3DES'], keyBits: 192 },
    ]);
    expect(s.integ).toEqual([IntegId.HMAC_SHA1_96, IntegId.HMAC_SHA2_256_128, IntegId.HMAC_MD5_96, IntegId.AES_XCBC_96]);
    expect(s.prf).toEqual([PrfId.AES128_CMAC]);
    expect(s.ke).toEqual([
      KeId.CURVE25519,
      KeId.CURVE448,
      KeId.MODP_1536,
      KeId.MODP_3072,
      KeId.MODP_4096,
      KeId.MODP_6144,
      KeId.MODP_8192,
      KeId.ECP_256,
      KeId.ECP_521,
    ]);
    expect(parseProposal('chacha20poly1305-prfsha512-prfsha1-prfaesxcbc-x25519', 'ike').encr).toEqual([{ id: EncrId.CHACHA20_POLY1305, keyBits: 256 }]);
    expect(parseProposal('AES192-SHA512-ECP384', 'ike').encr).toEqual([{ id: EncrId.AES_CBC, keyBits: 192 }]);
    expect(parseProposal('aes192gcm16-aes128gcm128-prfsha256-ecp256', 'ike').encr).toHaveLength(2);
  });

  it('unknown keywords are named in the error', () => {
    expect(() => parseProposal('aes256-sha256-modp2047', 'ike')).toThrow(/unknown algorithm keyword 'modp2047'/);
    expect(() => parseProposal('blowfish-sha1-modp2048', 'ike')).toThrow(/'blowfish'/);
    expect(() => parseProposal('', 'ike')).toThrow(/empty/);
  });

  it('rejects mixing AEAD and classic ciphers (RFC 5282 §8) and classic ciphers without integrity', () => {
    expect(() => parseProposal('aes256gcm16-aes256-sha256-prfsha256-ecp256', 'ike')).toThrow(/mixes AEAD and non-AEAD/);
    expect(() => parseProposal('aes256-prfsha256-ecp256', 'ike')).toThrow(/integrity algorithm is mandatory/);
  });
});

describe('parseProposal (ESP)', () => {
  it('aes256-sha1: no KE means no PFS, ESN defaults to noesn', () => {
    expect(parseProposal('aes256-sha1', 'esp')).toEqual({
      text: 'aes256-sha1',
      protocol: 'esp',
      encr: [{ id: EncrId.AES_CBC, keyBits: 256 }],
      prf: [],
      integ: [IntegId.HMAC_SHA1_96],
      ke: [],
      esn: [EsnId.NO_ESN],
    });
  });

  it('aes256gcm16-x25519-none and aes256-sha256-modp2048-modpnone: PFS optional', () => {
    expect(parseProposal('aes256gcm16-x25519-none', 'esp').ke).toEqual([KeId.CURVE25519, KeId.NONE]);
    expect(parseProposal('aes256-sha256-modp2048-modpnone', 'esp').ke).toEqual([KeId.MODP_2048, KeId.NONE]);
  });

  it('esn / noesn and dropped PRFs', () => {
    expect(parseProposal('aes128gcm16-esn-noesn', 'esp').esn).toEqual([EsnId.ESN, EsnId.NO_ESN]);
    expect(parseProposal('aes128gcm16-prfsha256', 'esp').prf).toEqual([]);
  });
});

describe('parseProposals and default', () => {
  it('expands default in place for IKE and ESP', () => {
    const ike = parseProposals('aes256-sha1-modp1024, default', 'ike');
    expect(ike).toHaveLength(1 + DEFAULT_PROPOSALS.ike.length);
    expect(ike[0]?.text).toBe('aes256-sha1-modp1024');
    const esp = parseProposals(['default'], 'esp');
    expect(esp.map((s) => s.text)).toEqual([...DEFAULT_PROPOSALS.esp]);
  });

  it('the defaults contain nothing legacy', () => {
    for (const s of parseProposals('default', 'ike')) {
      expect(s.ke).not.toContain(KeId.MODP_1024);
      expect(s.prf).not.toContain(PrfId.HMAC_SHA1);
      expect(s.encr.map((e) => e.id)).not.toContain(EncrId['3DES']);
    }
  });

  it('an empty list is an error', () => {
    expect(() => parseProposals(' , ', 'ike')).toThrow(/no proposals/);
  });
});

describe('formatProposal', () => {
  it('round-trips through parseProposal', () => {
    const texts: [string, 'ike' | 'esp'][] = [
      ['aes256gcm16-prfsha384-ecp384', 'ike'],
      ['aes256-sha1-modp1024', 'ike'],
      ['aes128gcm16-aes256gcm16-sha1-sha256-sha384-modp1024', 'ike'],
      ['aes256gcm16-x25519-none', 'esp'],
      ['aes128-sha256-esn', 'esp'],
      ['3des-md5', 'esp'],
    ];
    for (const [t, proto] of texts) {
      const a = parseProposal(t, proto);
      const b = parseProposal(formatProposal(a), proto);
      expect({ ...b, text: '' }).toEqual({ ...a, text: '' });
    }
    expect(formatProposal(parseProposal('aes256-sha1-modp1024', 'ike'))).toBe('aes256-sha1-prfsha1-modp1024');
  });
});
