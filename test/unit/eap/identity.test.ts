// EAP-Identity helpers (RFC 3748 §5.1) and the DOMAIN\user split (RFC 2759 §4; strongSwan
// eap_mschapv2.c extract_username; field-facts.md §2.1.6).
import { describe, expect, it } from 'vitest';
import { identityRequest, parseIdentity, splitDomainUser } from '../../../src/eap/identity.js';
import { encodeEap } from '../../../src/eap/packet.js';
import { toHex, utf8 } from '../../../src/crypto/bytes.js';

describe('EAP Identity', () => {
  it('the Request carries no prompt by default (as strongSwan sends it)', () => {
    expect(toHex(encodeEap(identityRequest(5)))).toBe('0105000501');
    expect(new TextDecoder().decode(identityRequest(5, 'Hi').data)).toBe('Hi');
  });

  it('parses UTF-8 and strips trailing NULs', () => {
    expect(parseIdentity(utf8('alice'))).toBe('alice');
    expect(parseIdentity(Uint8Array.of(...utf8('bob'), 0, 0))).toBe('bob');
    expect(parseIdentity(new Uint8Array(0))).toBe('');
    expect(parseIdentity(Uint8Array.of(0))).toBe('');
    expect(parseIdentity(utf8('Jürgen'))).toBe('Jürgen');
    expect(parseIdentity(Uint8Array.of(0x61, 0xff))).toBe('a\ufffd');
  });

  it('splits DOMAIN\\user at the first backslash', () => {
    expect(splitDomainUser('CORP\\alice')).toEqual({ domain: 'CORP', user: 'alice' });
    expect(splitDomainUser('alice')).toEqual({ user: 'alice' });
    expect(splitDomainUser('A\\B\\c')).toEqual({ domain: 'A', user: 'B\\c' });
    expect(splitDomainUser('CORP\\')).toEqual({ domain: 'CORP', user: '' });
  });
});
