// The one table of IKE/ESP transforms ikegate implements, keyed by (transform type, IANA id)
// (RFC 7296 §3.3.2; IANA "IKEv2 Transform Type n" registries). Each entry carries the strongSwan
// proposal keywords, allowed key sizes, the legacy flag, the Linux XFRM algorithm name that
// strongSwan's kernel_netlink uses for ESP, and the factory for the IKE-side implementation.
import type { EspTransformSet, KeGroup, KernelAlgorithm, Prf, SkProtector } from './suite.js';
import { EncrId, EsnId, IntegId, KeId, PrfId, TransformType } from '../ike/constants.js';
import * as prf from './prf.js';
import * as integ from './integ.js';
import type { Integrity } from './integ.js';
import { aesGcm16Protector, cbcProtector, chacha20Poly1305Protector } from './protectors.js';
import { modpGroup } from './ke/modp.js';
import { ecpGroup } from './ke/ecp.js';
import { montgomeryGroup } from './ke/curve25519.js';

interface Common {
  readonly id: number;
  /** strongSwan-style algorithm name, used in logs ("AES_CBC", "HMAC_SHA2_256_128", "ECP_384"). */
  readonly name: string;
  /**
   * Weak but still seen in the field (SHA-1, MD5, MODP-1024/1536, 3DES). Negotiated only when
   * configured; selection can refuse them all with allowLegacy: false.
   */
  readonly legacy: boolean;
  /** Never part of the `default` proposals; must be named explicitly in a proposal string. */
  readonly explicitOnly: boolean;
}

export interface EncrEntry extends Common {
  readonly type: typeof TransformType.ENCR;
  /** Allowed key sizes in bits. */
  readonly keyBits: readonly number[];
  /** Whether the transform carries a Key Length attribute (RFC 7296 §3.3.5: AES yes, 3DES/ChaCha20 no). */
  readonly keyLengthAttribute: boolean;
  readonly aead: boolean;
  /** strongSwan keywords per key size, e.g. { 256: ["aes256"] }. */
  readonly keywords: Readonly<Record<number, readonly string[]>>;
  readonly kernel: Omit<KernelAlgorithm, 'family'> & { family: 'aead' | 'crypt' };
  /** Key material in bytes for a key size, including the 4-byte AEAD salt (RFC 5282 §7.1, RFC 7634 §2). */
  keyLength(keyBits: number): number;
  /** For AEAD the integrity argument is ignored. */
  protector(keyBits: number, integrity: Integrity | undefined): SkProtector;
}

export interface PrfEntry extends Common {
  readonly type: typeof TransformType.PRF;
  readonly keywords: readonly string[];
  readonly impl: Prf;
}

export interface IntegEntry extends Common {
  readonly type: typeof TransformType.INTEG;
  readonly keywords: readonly string[];
  /** PRF implied by this keyword in IKE proposals without an explicit prf (strongSwan rule). */
  readonly impliedPrf: number;
  readonly kernel: KernelAlgorithm;
  readonly impl: Integrity;
}

export interface KeEntry extends Common {
  readonly type: typeof TransformType.KE;
  readonly keywords: readonly string[];
  /** Rough security strength in bits, for documentation and ordering. */
  readonly strength: number;
  group(): KeGroup;
}

export interface EsnEntry extends Common {
  readonly type: typeof TransformType.ESN;
  readonly keywords: readonly string[];
}

export type CatalogueEntry = EncrEntry | PrfEntry | IntegEntry | KeEntry | EsnEntry;

const aesKeywords = (mode: string): Record<number, string[]> => ({
  128: [`aes128${mode}`],
  192: [`aes192${mode}`],
  256: [`aes256${mode}`],
});

function need<T>(v: T | undefined, what: string): T {
  if (v === undefined) throw new Error(`catalogue: ${what}`);
  return v;
}

function lazyGroup(make: () => KeGroup | undefined, what: string): () => KeGroup {
  let g: KeGroup | undefined;
  return () => (g ??= need(make(), what));
}

function ke(id: number, name: string, keywords: string[], strength: number, legacy: boolean, make: () => KeGroup | undefined): KeEntry {
  return { type: TransformType.KE, id, name, keywords, strength, legacy, explicitOnly: false, group: lazyGroup(make, name) };
}

export const CATALOGUE: readonly CatalogueEntry[] = [
  // --- ENCR (Transform Type 1) ---
  {
    type: TransformType.ENCR,
    id: EncrId.AES_CBC,
    name: 'AES_CBC',
    legacy: false,
    explicitOnly: false,
    keyBits: [128, 192, 256],
    keyLengthAttribute: true,
    aead: false,
    keywords: { 128: ['aes128', 'aes'], 192: ['aes192'], 256: ['aes256'] },
    kernel: { family: 'crypt', name: 'cbc(aes)' },
    keyLength: (bits) => bits / 8,
    protector: (bits, i) =>
      cbcProtector({ name: `AES_CBC_${bits}`, cipher: `aes-${bits}-cbc`, keyLength: bits / 8, blockLength: 16, integ: need(i, 'AES-CBC needs an integrity algorithm') }),
  },
  {
    type: TransformType.ENCR,
    id: EncrId['3DES'],
    name: '3DES_CBC',
    legacy: true,
    explicitOnly: true,
    keyBits: [192],
    keyLengthAttribute: false,
    aead: false,
    keywords: { 192: ['3des'] },
    kernel: { family: 'crypt', name: 'cbc(des3_ede)' },
    keyLength: () => 24,
    protector: (_bits, i) =>
      cbcProtector({ name: '3DES_CBC', cipher: 'des-ede3-cbc', keyLength: 24, blockLength: 8, integ: need(i, '3DES needs an integrity algorithm') }),
  },
  {
    type: TransformType.ENCR,
    id: EncrId.AES_GCM_16,
    name: 'AES_GCM_16',
    legacy: false,
    explicitOnly: false,
    keyBits: [128, 192, 256],
    keyLengthAttribute: true,
    aead: true,
    keywords: {
      128: [...(aesKeywords('gcm16')[128] ?? []), 'aes128gcm128', 'aes128gcm'],
      192: [...(aesKeywords('gcm16')[192] ?? []), 'aes192gcm128', 'aes192gcm'],
      256: [...(aesKeywords('gcm16')[256] ?? []), 'aes256gcm128', 'aes256gcm'],
    },
    kernel: { family: 'aead', name: 'rfc4106(gcm(aes))', icvBits: 128 },
    keyLength: (bits) => bits / 8 + 4,
    protector: (bits) => aesGcm16Protector(bits as 128 | 192 | 256),
  },
  {
    type: TransformType.ENCR,
    id: EncrId.CHACHA20_POLY1305,
    name: 'CHACHA20_POLY1305',
    legacy: false,
    explicitOnly: false,
    keyBits: [256],
    keyLengthAttribute: false, // RFC 7634 §3: no Key Length attribute
    aead: true,
    keywords: { 256: ['chacha20poly1305'] },
    kernel: { family: 'aead', name: 'rfc7539esp(chacha20,poly1305)', icvBits: 128 },
    keyLength: () => 36,
    protector: () => chacha20Poly1305Protector(),
  },

  // --- PRF (Transform Type 2) ---
  { type: TransformType.PRF, id: PrfId.HMAC_MD5, name: 'PRF_HMAC_MD5', legacy: true, explicitOnly: true, keywords: ['prfmd5'], impl: prf.PRF_HMAC_MD5 },
  { type: TransformType.PRF, id: PrfId.HMAC_SHA1, name: 'PRF_HMAC_SHA1', legacy: true, explicitOnly: false, keywords: ['prfsha1'], impl: prf.PRF_HMAC_SHA1 },
  { type: TransformType.PRF, id: PrfId.AES128_XCBC, name: 'PRF_AES128_XCBC', legacy: false, explicitOnly: false, keywords: ['prfaesxcbc'], impl: prf.PRF_AES128_XCBC },
  { type: TransformType.PRF, id: PrfId.HMAC_SHA2_256, name: 'PRF_HMAC_SHA2_256', legacy: false, explicitOnly: false, keywords: ['prfsha256'], impl: prf.PRF_HMAC_SHA2_256 },
  { type: TransformType.PRF, id: PrfId.HMAC_SHA2_384, name: 'PRF_HMAC_SHA2_384', legacy: false, explicitOnly: false, keywords: ['prfsha384'], impl: prf.PRF_HMAC_SHA2_384 },
  { type: TransformType.PRF, id: PrfId.HMAC_SHA2_512, name: 'PRF_HMAC_SHA2_512', legacy: false, explicitOnly: false, keywords: ['prfsha512'], impl: prf.PRF_HMAC_SHA2_512 },
  { type: TransformType.PRF, id: PrfId.AES128_CMAC, name: 'PRF_AES128_CMAC', legacy: false, explicitOnly: false, keywords: ['prfaescmac'], impl: prf.PRF_AES128_CMAC },

  // --- INTEG (Transform Type 3) ---
  {
    type: TransformType.INTEG, id: IntegId.HMAC_MD5_96, name: 'HMAC_MD5_96', legacy: true, explicitOnly: true, keywords: ['md5'],
    impliedPrf: PrfId.HMAC_MD5, kernel: { family: 'auth', name: 'hmac(md5)', truncBits: 96 }, impl: integ.AUTH_HMAC_MD5_96,
  },
  {
    type: TransformType.INTEG, id: IntegId.HMAC_SHA1_96, name: 'HMAC_SHA1_96', legacy: true, explicitOnly: false, keywords: ['sha1', 'sha'],
    impliedPrf: PrfId.HMAC_SHA1, kernel: { family: 'auth', name: 'hmac(sha1)', truncBits: 96 }, impl: integ.AUTH_HMAC_SHA1_96,
  },
  {
    type: TransformType.INTEG, id: IntegId.AES_XCBC_96, name: 'AES_XCBC_96', legacy: false, explicitOnly: false, keywords: ['aesxcbc'],
    impliedPrf: PrfId.AES128_XCBC, kernel: { family: 'auth', name: 'xcbc(aes)', truncBits: 96 }, impl: integ.AUTH_AES_XCBC_96,
  },
  {
    type: TransformType.INTEG, id: IntegId.HMAC_SHA2_256_128, name: 'HMAC_SHA2_256_128', legacy: false, explicitOnly: false, keywords: ['sha256', 'sha2_256'],
    impliedPrf: PrfId.HMAC_SHA2_256, kernel: { family: 'auth', name: 'hmac(sha256)', truncBits: 128 }, impl: integ.AUTH_HMAC_SHA2_256_128,
  },
  {
    type: TransformType.INTEG, id: IntegId.HMAC_SHA2_384_192, name: 'HMAC_SHA2_384_192', legacy: false, explicitOnly: false, keywords: ['sha384', 'sha2_384'],
    impliedPrf: PrfId.HMAC_SHA2_384, kernel: { family: 'auth', name: 'hmac(sha384)', truncBits: 192 }, impl: integ.AUTH_HMAC_SHA2_384_192,
  },
  {
    type: TransformType.INTEG, id: IntegId.HMAC_SHA2_512_256, name: 'HMAC_SHA2_512_256', legacy: false, explicitOnly: false, keywords: ['sha512', 'sha2_512'],
    impliedPrf: PrfId.HMAC_SHA2_512, kernel: { family: 'auth', name: 'hmac(sha512)', truncBits: 256 }, impl: integ.AUTH_HMAC_SHA2_512_256,
  },

  // --- KE (Transform Type 4) ---
  ke(KeId.MODP_1024, 'MODP_1024', ['modp1024'], 80, true, () => modpGroup(KeId.MODP_1024)),
  ke(KeId.MODP_1536, 'MODP_1536', ['modp1536'], 90, true, () => modpGroup(KeId.MODP_1536)),
  ke(KeId.MODP_2048, 'MODP_2048', ['modp2048'], 112, false, () => modpGroup(KeId.MODP_2048)),
  ke(KeId.MODP_3072, 'MODP_3072', ['modp3072'], 128, false, () => modpGroup(KeId.MODP_3072)),
  ke(KeId.MODP_4096, 'MODP_4096', ['modp4096'], 150, false, () => modpGroup(KeId.MODP_4096)),
  ke(KeId.MODP_6144, 'MODP_6144', ['modp6144'], 176, false, () => modpGroup(KeId.MODP_6144)),
  ke(KeId.MODP_8192, 'MODP_8192', ['modp8192'], 200, false, () => modpGroup(KeId.MODP_8192)),
  ke(KeId.ECP_256, 'ECP_256', ['ecp256'], 128, false, () => ecpGroup(KeId.ECP_256)),
  ke(KeId.ECP_384, 'ECP_384', ['ecp384'], 192, false, () => ecpGroup(KeId.ECP_384)),
  ke(KeId.ECP_521, 'ECP_521', ['ecp521'], 256, false, () => ecpGroup(KeId.ECP_521)),
  ke(KeId.CURVE25519, 'CURVE_25519', ['x25519', 'curve25519'], 128, false, () => montgomeryGroup(KeId.CURVE25519)),
  ke(KeId.CURVE448, 'CURVE_448', ['x448', 'curve448'], 224, false, () => montgomeryGroup(KeId.CURVE448)),

  // --- ESN (Transform Type 5) ---
  { type: TransformType.ESN, id: EsnId.NO_ESN, name: 'NO_EXT_SEQ', legacy: false, explicitOnly: false, keywords: ['noesn'] },
  { type: TransformType.ESN, id: EsnId.ESN, name: 'EXT_SEQ', legacy: false, explicitOnly: false, keywords: ['esn'] },
];

const byKey = new Map<string, CatalogueEntry>(CATALOGUE.map((e) => [`${e.type}:${e.id}`, e]));

type EntryOf<T extends number> = Extract<CatalogueEntry, { type: T }>;

/** The entry for (type, id), or undefined for anything we do not implement. */
export function findEntry<T extends TransformType>(type: T, id: number): EntryOf<T> | undefined {
  return byKey.get(`${type}:${id}`) as EntryOf<T> | undefined;
}

export function encrEntry(id: number): EncrEntry | undefined {
  return findEntry(TransformType.ENCR, id);
}

/** Whether (type, id[, keyBits]) is implemented. KE NONE counts as supported (ESP "no PFS"). */
export function isSupported(type: number, id: number, keyBits?: number): boolean {
  if (type === TransformType.KE && id === KeId.NONE) return true;
  const e = byKey.get(`${type}:${id}`);
  if (!e) return false;
  if (e.type === TransformType.ENCR) return keyBits === undefined || e.keyBits.includes(keyBits);
  return true;
}

/** Log name of a transform, strongSwan style: AES_CBC_256, HMAC_SHA1_96, PRF_HMAC_SHA1, MODP_1024. */
export function transformName(type: number, id: number, keyBits?: number): string {
  if (type === TransformType.KE && id === KeId.NONE) return 'KE_NONE';
  const e = byKey.get(`${type}:${id}`);
  if (!e) {
    const prefix = ({ 1: 'ENCR', 2: 'PRF', 3: 'INTEG', 4: 'KE', 5: 'ESN' } as Record<number, string>)[type] ?? `TRANSFORM${type}`;
    return `${prefix}(${id})${keyBits !== undefined ? `_${keyBits}` : ''}`;
  }
  if (e.type === TransformType.ENCR) {
    // Fixed-size ciphers carry no Key Length attribute; strongSwan still prints the size for ChaCha20.
    if (e.id === EncrId['3DES']) return e.name;
    const bits = keyBits ?? e.keyBits[0];
    return `${e.name}_${bits}`;
  }
  return e.name;
}

export function prfFor(id: number): Prf {
  const e = findEntry(TransformType.PRF, id);
  if (!e) throw new Error(`unsupported PRF transform id ${id}`);
  return e.impl;
}

export function integFor(id: number): Integrity {
  const e = findEntry(TransformType.INTEG, id);
  if (!e) throw new Error(`unsupported INTEG transform id ${id}`);
  return e.impl;
}

function checkedKeyBits(e: EncrEntry, keyBits: number | undefined): number {
  const bits = keyBits ?? (e.keyBits.length === 1 ? e.keyBits[0] : undefined);
  if (bits === undefined || !e.keyBits.includes(bits)) {
    throw new Error(`${e.name}: unsupported key size ${keyBits ?? '(none)'} (allowed: ${e.keyBits.join(', ')})`);
  }
  return bits;
}

/** The SK payload protector for a negotiated ENCR (+ INTEG for non-AEAD ciphers). */
export function skProtectorFor(encr: { id: number; keyBits?: number }, integId?: number): SkProtector {
  const e = encrEntry(encr.id);
  if (!e) throw new Error(`unsupported ENCR transform id ${encr.id}`);
  const bits = checkedKeyBits(e, encr.keyBits);
  if (e.aead) return e.protector(bits, undefined);
  if (integId === undefined || integId === IntegId.NONE) throw new Error(`${e.name} needs an integrity algorithm`);
  return e.protector(bits, integFor(integId));
}

export function keGroupFor(id: number): KeGroup {
  const e = findEntry(TransformType.KE, id);
  if (!e) throw new Error(`unsupported KE method ${id}`);
  return e.group();
}

/** Bytes of integrity key (SK_a / ESP auth key); 0 for none. */
export function integKeyLength(id: number | undefined): number {
  if (id === undefined || id === IntegId.NONE) return 0;
  return integFor(id).keyLength;
}

/** Bytes of encryption key material (SK_e / ESP enc key), including the AEAD salt. */
export function encrKeyLength(id: number, keyBits?: number): number {
  const e = encrEntry(id);
  if (!e) throw new Error(`unsupported ENCR transform id ${id}`);
  return e.keyLength(checkedKeyBits(e, keyBits));
}

/** What a negotiated ESP proposal means for XFRM: algorithm names and key sizes. */
export function espTransformSet(encr: { id: number; keyBits?: number }, integId: number | undefined, esn: boolean): EspTransformSet {
  const e = encrEntry(encr.id);
  if (!e) throw new Error(`unsupported ENCR transform id ${encr.id}`);
  const bits = checkedKeyBits(e, encr.keyBits);
  const set: EspTransformSet = {
    encr: { id: e.id, keyBits: bits, kernel: { ...e.kernel }, keyLength: e.keyLength(bits) },
    esn,
  };
  if (!e.aead) {
    if (integId === undefined || integId === IntegId.NONE) throw new Error(`${e.name} needs an integrity algorithm for ESP`);
    const i = findEntry(TransformType.INTEG, integId);
    if (!i) throw new Error(`unsupported INTEG transform id ${integId}`);
    set.integ = { id: i.id, kernel: { ...i.kernel }, keyLength: i.impl.keyLength };
  }
  return set;
}
