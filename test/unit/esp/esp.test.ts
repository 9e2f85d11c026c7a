// ESP transforms and per-SA processing: seal/open round trips for every algorithm the
// catalogue can negotiate, the ESN rules for AAD (RFC 4106 §5, RFC 7634 §2.1) and for
// encrypt-then-MAC ICVs (RFC 4303 §3.3.2.1: high-order bits appended to the ICV input, never
// sent), truncated HMACs checked against an independent computation (RFC 4868 §2.3), padding
// (RFC 4303 §2.4), sequence numbers that never wrap (§3.3.3).
import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createTransform, UnsupportedAlgorithmError, type TransformSpec } from '../../../src/esp/ciphers.js';
import { EspSa, MAX_SEQ_32, openEsp, padPayload, readEspHeader, sealEsp } from '../../../src/esp/esp.js';
import type { KernelAlgorithm } from '../../../src/crypto/suite.js';

const aead = (name: string): KernelAlgorithm => ({ family: 'aead', name, icvBits: 128 });
const crypt = (name: string): KernelAlgorithm => ({ family: 'crypt', name });
const auth = (name: string, truncBits: number): KernelAlgorithm => ({ family: 'auth', name, truncBits });

const SUITES: Array<{ label: string; spec: () => TransformSpec; icv: number; iv: number; block: number }> = [
  { label: 'AES-128-GCM-16', spec: () => ({ enc: { alg: aead('rfc4106(gcm(aes))'), key: randomBytes(20) } }), icv: 16, iv: 8, block: 4 },
  { label: 'AES-256-GCM-16', spec: () => ({ enc: { alg: aead('rfc4106(gcm(aes))'), key: randomBytes(36) } }), icv: 16, iv: 8, block: 4 },
  { label: 'ChaCha20-Poly1305', spec: () => ({ enc: { alg: aead('rfc7539esp(chacha20,poly1305)'), key: randomBytes(36) } }), icv: 16, iv: 8, block: 4 },
  {
    label: 'AES-128-CBC + HMAC-SHA1-96',
    spec: () => ({ enc: { alg: crypt('cbc(aes)'), key: randomBytes(16) }, integ: { alg: auth('hmac(sha1)', 96), key: randomBytes(20) } }),
    icv: 12, iv: 16, block: 16,
  },
  {
    label: 'AES-256-CBC + HMAC-SHA2-256-128',
    spec: () => ({ enc: { alg: crypt('cbc(aes)'), key: randomBytes(32) }, integ: { alg: auth('hmac(sha256)', 128), key: randomBytes(32) } }),
    icv: 16, iv: 16, block: 16,
  },
  {
    label: 'AES-192-CBC + HMAC-SHA2-384-192',
    spec: () => ({ enc: { alg: crypt('cbc(aes)'), key: randomBytes(24) }, integ: { alg: auth('hmac(sha384)', 192), key: randomBytes(48) } }),
    icv: 24, iv: 16, block: 16,
  },
  {
    label: 'AES-256-CBC + HMAC-SHA2-512-256',
    spec: () => ({ enc: { alg: crypt('cbc(aes)'), key: randomBytes(32) }, integ: { alg: auth('hmac(sha512)', 256), key: randomBytes(64) } }),
    icv: 32, iv: 16, block: 16,
  },
  {
    label: '3DES-CBC + HMAC-SHA1-96',
    spec: () => ({ enc: { alg: crypt('cbc(des3_ede)'), key: randomBytes(24) }, integ: { alg: auth('hmac(sha1)', 96), key: randomBytes(20) } }),
    icv: 12, iv: 8, block: 8,
  },
];

describe('ESP transforms: round trips', () => {
  for (const s of SUITES) {
    it(`${s.label}: sizes, alignment and round trip for 0..70-byte payloads, with and without ESN`, () => {
      const spec = s.spec();
      const tx = createTransform(spec);
      const rx = createTransform(spec);
      expect([tx.icvLength, tx.ivLength, tx.blockSize]).toEqual([s.icv, s.iv, s.block]);
      for (const esn of [false, true]) {
        for (let len = 0; len <= 70; len++) {
          const payload = randomBytes(len);
          const seq = esn ? 0x1_0000_0000 * 3 + len + 1 : len + 1;
          const pkt = sealEsp(tx, 0xc0ffee01, seq, esn, 41, payload);
          const ctLength = pkt.length - 8 - s.iv - s.icv;
          expect(ctLength % s.block).toBe(0);
          expect(ctLength).toBeGreaterThanOrEqual(len + 2);
          expect(ctLength).toBeLessThan(len + 2 + s.block);
          expect(readEspHeader(pkt)).toEqual({ spi: 0xc0ffee01, seqLo: seq % 0x1_0000_0000 });
          const r = openEsp(rx, pkt, esn ? 3 : undefined);
          expect(r).toEqual({ ok: true, nextHeader: 41, payload: Buffer.from(payload) });
          if (esn) {
            // The high-order bits are authenticated although never sent.
            expect(openEsp(rx, pkt, 4)).toEqual({ ok: false, reason: 'icv' });
          }
        }
      }
    });

    it(`${s.label}: tampering with the header, IV, ciphertext or ICV fails the ICV`, () => {
      const spec = s.spec();
      const t = createTransform(spec);
      const pkt = sealEsp(t, 0xc0000001, 7, false, 4, randomBytes(100));
      for (const at of [0, 4, 7, 8, 8 + s.iv, pkt.length - s.icv - 1, pkt.length - 1]) {
        const bad = Buffer.from(pkt);
        bad[at] = (bad[at] as number) ^ 0x80;
        expect(openEsp(t, bad, undefined), `byte ${at}`).toEqual({ ok: false, reason: 'icv' });
      }
      expect(openEsp(t, pkt.subarray(0, pkt.length - 1), undefined).ok).toBe(false);
    });
  }

  it('AEAD IVs are the 64-bit sequence number (unique per SA)', () => {
    const t = createTransform({ enc: { alg: aead('rfc4106(gcm(aes))'), key: randomBytes(36) } });
    const pkt = sealEsp(t, 1, 0x1_0000_0005, true, 4, randomBytes(10));
    expect(pkt.subarray(8, 16).toString('hex')).toBe('0000000100000005');
  });

  it('CBC IVs are random', () => {
    const t = createTransform(SUITES[4]!.spec());
    const ivs = new Set<string>();
    for (let i = 0; i < 200; i++) ivs.add(sealEsp(t, 1, i + 1, false, 4, randomBytes(10)).subarray(8, 24).toString('hex'));
    expect(ivs.size).toBe(200);
  });

  it('HMAC ICV = truncated HMAC over SPI ‖ Seq# ‖ IV ‖ ciphertext (‖ Seq#hi with ESN)', () => {
    const integKey = randomBytes(32);
    const spec: TransformSpec = { enc: { alg: crypt('cbc(aes)'), key: randomBytes(16) }, integ: { alg: auth('hmac(sha256)', 128), key: integKey } };
    const t = createTransform(spec);
    const plain = sealEsp(t, 0xc0000002, 9, false, 4, randomBytes(33));
    const body = plain.subarray(0, plain.length - 16);
    expect(plain.subarray(plain.length - 16)).toEqual(createHmac('sha256', integKey).update(body).digest().subarray(0, 16));
    const esn = sealEsp(t, 0xc0000002, 0x2_0000_0009, true, 4, randomBytes(33));
    const esnBody = esn.subarray(0, esn.length - 16);
    expect(esn.readUInt32BE(4)).toBe(9); // only the low half is sent
    const expected = createHmac('sha256', integKey).update(esnBody).update(Buffer.from([0, 0, 0, 2])).digest().subarray(0, 16);
    expect(esn.subarray(esn.length - 16)).toEqual(expected);
  });

  it('refuses unknown algorithms and wrong key sizes, naming the algorithm', () => {
    expect(() => createTransform({ enc: { alg: crypt('ctr(aes)'), key: randomBytes(20) } })).toThrow(UnsupportedAlgorithmError);
    expect(() => createTransform({ enc: { alg: aead('rfc4106(gcm(aes))'), key: randomBytes(17) } })).toThrow(/rfc4106\(gcm\(aes\)\): key of 17 bytes/);
    expect(() =>
      createTransform({ enc: { alg: crypt('cbc(aes)'), key: randomBytes(16) }, integ: { alg: auth('xcbc(aes)', 96), key: randomBytes(16) } }),
    ).toThrow(/xcbc\(aes\) is not supported/);
    expect(() =>
      createTransform({ enc: { alg: crypt('cbc(aes)'), key: randomBytes(16) }, integ: { alg: auth('hmac(sha256)', 128), key: randomBytes(20) } }),
    ).toThrow(/32 expected/);
  });
});

describe('ESP padding (RFC 4303 §2.4)', () => {
  it('pads with 1, 2, 3, … to the block size, then Pad Length and Next Header', () => {
    expect(padPayload(Buffer.from([0xaa]), 4, 4).toString('hex')).toBe('aa010104');
    expect(padPayload(Buffer.from([0xaa, 0xbb]), 41, 4).toString('hex')).toBe('aabb0029');
    expect(padPayload(Buffer.alloc(0), 4, 16).toString('hex')).toBe('0102030405060708090a0b0c0d0e0e04');
  });

  it('rejects padding bytes other than 1, 2, 3, … and a Pad Length beyond the payload', () => {
    // Craft trailers directly: the transform seals a plaintext given as it is (padPayload bypassed).
    const spec: TransformSpec = { enc: { alg: aead('rfc4106(gcm(aes))'), key: randomBytes(20) } };
    const t = createTransform(spec);
    const craft = (trailer: number[]): Buffer => {
      const pt = Buffer.from([0x45, 0, 0, 0, ...trailer]);
      const out = Buffer.allocUnsafe(8 + 8 + pt.length + 16);
      out.writeUInt32BE(1, 0);
      out.writeUInt32BE(1, 4);
      t.seal(out, pt, 1, undefined);
      return out;
    };
    expect(openEsp(t, craft([1, 2, 2, 4]), undefined)).toMatchObject({ ok: true, nextHeader: 4 });
    expect(openEsp(t, craft([1, 3, 2, 4]), undefined)).toEqual({ ok: false, reason: 'padding' });
    expect(openEsp(t, craft([0, 0, 2, 4]), undefined)).toEqual({ ok: false, reason: 'padding' });
    expect(openEsp(t, craft([1, 2, 9, 4]), undefined)).toEqual({ ok: false, reason: 'padding' });
  });

  it('rejects ciphertexts that are not whole blocks before decrypting', () => {
    const spec = SUITES[4]!.spec();
    const t = createTransform(spec);
    const pkt = sealEsp(t, 1, 1, false, 4, randomBytes(30));
    const short = Buffer.concat([pkt.subarray(0, 8 + 16 + 8), pkt.subarray(pkt.length - 16)]);
    expect(openEsp(t, short, undefined)).toEqual({ ok: false, reason: 'length' });
  });
});

describe('EspSa', () => {
  const pair = (esn: boolean, window = 64): { out: EspSa; inb: EspSa } => {
    const spec: TransformSpec = { enc: { alg: aead('rfc7539esp(chacha20,poly1305)'), key: randomBytes(36) } };
    return { out: new EspSa(0xc1234567, 'out', createTransform(spec), esn, 0), inb: new EspSa(0xc1234567, 'in', createTransform(spec), esn, window) };
  };

  it('numbers packets from 1, counts bytes and packets both ways', () => {
    const { out, inb } = pair(false);
    const p1 = out.seal(4, Buffer.alloc(100, 1), 1000)!;
    const p2 = out.seal(4, Buffer.alloc(50, 2), 2000)!;
    expect(readEspHeader(p1)?.seqLo).toBe(1);
    expect(readEspHeader(p2)?.seqLo).toBe(2);
    expect(out.usage).toEqual({ bytes: 150, packets: 2, lastUse: 2000 });
    expect(inb.open(p2, 3000)).toMatchObject({ ok: true, seq: 2 });
    expect(inb.open(p1, 4000)).toMatchObject({ ok: true, seq: 1 });
    expect(inb.open(p1, 5000)).toEqual({ ok: false, reason: 'replay' });
    expect(inb.usage).toEqual({ bytes: 150, packets: 2, lastUse: 4000 });
  });

  it('a forged packet does not move the replay window', () => {
    const { out, inb } = pair(false);
    const good = out.seal(4, Buffer.alloc(20), 0)!;
    const forged = Buffer.from(good);
    forged.writeUInt32BE(1000, 4); // far ahead, ICV now wrong
    expect(inb.open(forged)).toEqual({ ok: false, reason: 'icv' });
    expect(inb.lastSeq).toBe(0);
    expect(inb.open(good)).toMatchObject({ ok: true, seq: 1 });
  });

  it('never cycles the 32-bit counter (RFC 4303 §3.3.3)', () => {
    const { out } = pair(false);
    (out as unknown as { nextSeq: number }).nextSeq = MAX_SEQ_32;
    expect(out.seqRemaining).toBe(1);
    expect(readEspHeader(out.seal(4, Buffer.alloc(1))!)?.seqLo).toBe(0xffffffff);
    expect(out.seal(4, Buffer.alloc(1))).toBeUndefined();
    expect(out.seal(4, Buffer.alloc(1))).toBeUndefined();
  });

  it('with ESN, crosses 2^32 and the receiver infers the high-order bits', () => {
    const { out, inb } = pair(true, 64);
    (out as unknown as { nextSeq: number }).nextSeq = 0xffff_fffe;
    const pkts = [0, 1, 2, 3].map(() => out.seal(4, Buffer.alloc(8))!);
    expect(pkts.map((p) => readEspHeader(p)?.seqLo)).toEqual([0xfffffffe, 0xffffffff, 0, 1]);
    // Move the receiver's window near the end of subspace 0 first (as if it saw earlier packets).
    (inb as unknown as { replay: { topSeq: number } }).replay.topSeq = 0xffff_fff0;
    expect(inb.open(pkts[2]!)).toMatchObject({ ok: true, seq: 0x1_0000_0000 });
    expect(inb.open(pkts[0]!)).toMatchObject({ ok: true, seq: 0xffff_fffe }); // late, still in the window
    expect(inb.open(pkts[3]!)).toMatchObject({ ok: true, seq: 0x1_0000_0001 });
    expect(inb.open(pkts[1]!)).toMatchObject({ ok: true, seq: 0xffff_ffff });
    expect(inb.open(pkts[2]!)).toEqual({ ok: false, reason: 'replay' });
  });
});
