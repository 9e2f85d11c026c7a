// Hand-built IKEv2 byte fixtures, written field by field from the RFC 7296 diagrams, shared
// by the codec unit tests and the fuzz seeds. `hex` ignores whitespace and `#` comments so
// each field sits on its own commented line.

/** Hex with comments: every `# ...` up to the end of a line is dropped. */
export function hex(strings: TemplateStringsArray, ...values: unknown[]): Uint8Array {
  const text = strings.reduce((acc, s, i) => acc + s + (i < values.length ? String(values[i]) : ''), '');
  const digits = text.replace(/#[^\n]*/g, '').replace(/\s+/g, '');
  if (!/^([0-9a-fA-F]{2})*$/.test(digits)) throw new Error(`bad hex fixture: ${digits}`);
  return Uint8Array.from(digits.match(/../g) ?? [], (b) => parseInt(b, 16));
}

export function cat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Deterministic filler standing in for random values (KE data, nonces, hashes). */
export function pattern(n: number, seed = 1): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

export const WINDOWS_ISPI = hex`5a 1c 0f 3e 9b 77 20 d4`;

/** The four vendor IDs Windows sends in IKE_SA_INIT (field-facts.md §2.1.2). */
export const WINDOWS_VIDS = {
  msNt5IsakmpOakleyV9: hex`1e2b516905991c7d7c96fcbfb587e461 00000009`,
  msNegotiationDiscovery: hex`fb1de3cdf341b7ea16b7e5be0855f120`,
  vidInitialContact: hex`26244d38eddb61b3172a36e3d0cfb819`,
  windowsKeyMods: hex`01528bbbc00696121849ab9a1c5b2a51 00000002`,
} as const;

export const WINDOWS_KE_DATA = pattern(128, 2); // MODP-1024 public value size
export const WINDOWS_NONCE = pattern(32, 3);
export const WINDOWS_NATD_S = pattern(20, 4);
export const WINDOWS_NATD_D = pattern(20, 5);

/**
 * A Windows-like IKE_SA_INIT request: HDR, SAi1, KEi, Ni, N(NATD_S_IP), N(NATD_D_IP),
 * N(FRAG_SUP), V, V, V, V. Three proposals, two of them with a Key Length attribute.
 */
export const WINDOWS_IKE_SA_INIT = cat(
  hex`
    ${Buffer.from(WINDOWS_ISPI).toString('hex')}  # IKE SA initiator's SPI
    0000000000000000  # IKE SA responder's SPI: zero in the first message
    21                # next payload: SA (33)
    20                # MjVer 2, MnVer 0
    22                # exchange type: IKE_SA_INIT (34)
    08                # flags: Initiator
    00000000          # message ID 0
    000001e4          # length 484
  `,
  hex`
    22 00 0084        # SA: next KE (34), C=0, length 132
      02 00 002c      # proposal: more follow (2), length 44
      01 01 00 04     #   proposal 1, protocol IKE, SPI size 0, 4 transforms
        03 00 000c  01 00 000c  800e 0100  # ENCR AES_CBC, attr TV Key Length = 256
        03 00 0008  03 00 0002             # INTEG HMAC_SHA1_96
        03 00 0008  02 00 0002             # PRF HMAC_SHA1
        00 00 0008  04 00 0002             # KE MODP_1024 (last transform)
      02 00 002c      # proposal: more follow, length 44
      02 01 00 04     #   proposal 2, IKE, SPI size 0, 4 transforms
        03 00 000c  01 00 000c  800e 0080  # ENCR AES_CBC, Key Length = 128
        03 00 0008  03 00 000c             # INTEG HMAC_SHA2_256_128
        03 00 0008  02 00 0005             # PRF HMAC_SHA2_256
        00 00 0008  04 00 0002             # KE MODP_1024
      00 00 0028      # proposal: last (0), length 40
      03 01 00 04     #   proposal 3, IKE, SPI size 0, 4 transforms
        03 00 0008  01 00 0003             # ENCR 3DES
        03 00 0008  03 00 0002             # INTEG HMAC_SHA1_96
        03 00 0008  02 00 0002             # PRF HMAC_SHA1
        00 00 0008  04 00 0002             # KE MODP_1024
    28 00 0088        # KE: next Nonce (40), length 136
      0002 0000       #   DH group 2 (MODP_1024), RESERVED
  `,
  WINDOWS_KE_DATA,
  hex`
    29 00 0024        # Nonce: next Notify (41), length 36 (32 bytes of nonce)
  `,
  WINDOWS_NONCE,
  hex`
    29 00 001c        # Notify: next Notify, length 28
      00 00 4004      #   protocol 0, SPI size 0, NAT_DETECTION_SOURCE_IP (16388)
  `,
  WINDOWS_NATD_S,
  hex`
    29 00 001c        # Notify: next Notify, length 28
      00 00 4005      #   NAT_DETECTION_DESTINATION_IP (16389)
  `,
  WINDOWS_NATD_D,
  hex`
    2b 00 0008        # Notify: next Vendor ID (43), length 8
      00 00 402e      #   IKEV2_FRAGMENTATION_SUPPORTED (16430), no data
    2b 00 0018        # V: next V, length 24
  `,
  WINDOWS_VIDS.msNt5IsakmpOakleyV9,
  hex`2b 00 0014      # V: next V, length 20`,
  WINDOWS_VIDS.msNegotiationDiscovery,
  hex`2b 00 0014      # V: next V, length 20`,
  WINDOWS_VIDS.vidInitialContact,
  hex`00 00 0018      # V: last payload, length 24`,
  WINDOWS_VIDS.windowsKeyMods,
);

/**
 * An IKE_AUTH request as it arrives: HDR, SK { ... }. The SK body is opaque to the codec
 * (IV || ciphertext || ICV); Next Payload of SK says the first inner payload is IDi.
 */
export const IKE_AUTH_SK = cat(
  hex`
    ${Buffer.from(WINDOWS_ISPI).toString('hex')}  # IKE SA initiator's SPI
    c0ffee0011223344  # IKE SA responder's SPI
    2e                # next payload: SK (46)
    20                # version 2.0
    23                # IKE_AUTH (35)
    08                # flags: Initiator
    00000001          # message ID 1
    0000005c          # length 92 = 28 + 64
    23 00 0040        # SK: next IDi (35), length 64
  `,
  pattern(16, 9), // IV
  pattern(32, 10), // ciphertext
  pattern(12, 11), // ICV (HMAC_SHA1_96)
);

/** Fragment 1 of 12 of an IKE_AUTH request (RFC 7383 §2.5). */
export const IKE_AUTH_SKF = cat(
  hex`
    ${Buffer.from(WINDOWS_ISPI).toString('hex')}  # initiator's SPI
    c0ffee0011223344  # responder's SPI
    35                # next payload: SKF (53)
    20 23 08          # version 2.0, IKE_AUTH, Initiator
    00000001          # message ID 1
    00000048          # length 72 = 28 + 44
    23 00 002c        # SKF: next IDi (only fragment 1 names it), length 44
      0001 000c       #   fragment 1 of 12
  `,
  pattern(36, 12), // IV || ciphertext || ICV
);
