// strongSwan proposal strings ("aes256gcm16-prfsha384-ecp384", swanctl.conf `proposals` and
// `esp_proposals`) to ProposalSpec and back. Keyword semantics follow strongSwan's
// proposal_keywords and proposal.c checks; transform meanings are RFC 7296 §3.3.2.
import type { ProposalSpec } from '../policy/policy.js';
import { EsnId, KeId, TransformType } from '../ike/constants.js';
import { CATALOGUE, encrEntry, findEntry } from './catalogue.js';

type Keyword =
  | { type: typeof TransformType.ENCR; id: number; keyBits: number; aead: boolean }
  | { type: typeof TransformType.PRF | typeof TransformType.INTEG | typeof TransformType.KE | typeof TransformType.ESN; id: number };

const KEYWORDS = new Map<string, Keyword>();
for (const e of CATALOGUE) {
  if (e.type === TransformType.ENCR) {
    for (const [bits, words] of Object.entries(e.keywords)) {
      for (const w of words) KEYWORDS.set(w, { type: TransformType.ENCR, id: e.id, keyBits: Number(bits), aead: e.aead });
    }
  } else {
    for (const w of e.keywords) KEYWORDS.set(w, { type: e.type, id: e.id });
  }
}
// "No key exchange": PFS optional in ESP proposals, dropped from IKE proposals (strongSwan).
KEYWORDS.set('none', { type: TransformType.KE, id: KeId.NONE });
KEYWORDS.set('modpnone', { type: TransformType.KE, id: KeId.NONE });

/**
 * The `default` proposals. IKE: AEAD first (AES-GCM-16, ChaCha20-Poly1305 with SHA-2 PRFs),
 * then AES-CBC with SHA-2 integrity; key exchange X25519, ECP-256/384, X448, MODP-3072/2048.
 * ESP: AES-GCM-16 and ChaCha20-Poly1305, then AES-CBC with SHA-2; no PFS (clients such as
 * Windows do not offer a KE for the first CHILD_SA anyway). Nothing legacy: SHA-1, MODP-1024
 * and 3DES (what Windows offers by default) must be configured explicitly.
 */
export const DEFAULT_PROPOSALS = {
  ike: [
    'aes256gcm16-aes128gcm16-chacha20poly1305-prfsha256-prfsha384-prfsha512-x25519-ecp256-ecp384-x448-modp3072-modp2048',
    'aes256-aes192-aes128-sha256-sha384-sha512-x25519-ecp256-ecp384-x448-modp3072-modp2048',
  ],
  esp: ['aes256gcm16-aes128gcm16-chacha20poly1305', 'aes256-aes128-sha256-sha384-sha512'],
} as const;

function pushUnique<T>(list: T[], v: T, same: (a: T, b: T) => boolean = (a, b) => a === b): void {
  if (!list.some((x) => same(x, v))) list.push(v);
}

/** Parses one proposal string. Throws Error naming the offending keyword or rule. */
export function parseProposal(text: string, protocol: 'ike' | 'esp'): ProposalSpec {
  const trimmed = text.trim();
  if (trimmed === '') throw new Error('empty proposal');
  const spec: ProposalSpec = { text: trimmed, protocol, encr: [], prf: [], integ: [], ke: [], esn: [] };
  let aead = 0;
  let classic = 0;
  for (const raw of trimmed.split('-')) {
    const word = raw.toLowerCase();
    const k = KEYWORDS.get(word);
    if (!k) throw new Error(`unknown algorithm keyword '${raw}' in proposal '${trimmed}'`);
    switch (k.type) {
      case TransformType.ENCR:
        pushUnique(spec.encr, { id: k.id, keyBits: k.keyBits }, (a, b) => a.id === b.id && a.keyBits === b.keyBits);
        if (k.aead) aead++;
        else classic++;
        break;
      case TransformType.PRF:
        pushUnique(spec.prf, k.id);
        break;
      case TransformType.INTEG:
        pushUnique(spec.integ, k.id);
        break;
      case TransformType.KE:
        pushUnique(spec.ke, k.id);
        break;
      case TransformType.ESN:
        if (protocol === 'ike') throw new Error(`'${raw}' applies only to ESP proposals ('${trimmed}')`);
        pushUnique(spec.esn, k.id);
        break;
    }
  }
  if (spec.encr.length === 0) throw new Error(`proposal '${trimmed}' has no encryption algorithm`);
  // RFC 5282 §8: combined-mode and classic ciphers go into separate proposals.
  if (aead > 0 && classic > 0) {
    throw new Error(`proposal '${trimmed}' mixes AEAD and non-AEAD encryption algorithms; write them as two proposals`);
  }
  if (protocol === 'ike') {
    // strongSwan: without an explicit PRF, every integrity algorithm implies its PRF.
    if (spec.prf.length === 0) {
      for (const i of spec.integ) {
        const e = findEntry(TransformType.INTEG, i);
        if (e) pushUnique(spec.prf, e.impliedPrf);
      }
    }
    if (spec.prf.length === 0) {
      throw new Error(`a PRF algorithm is mandatory in IKE proposals ('${trimmed}'); AEAD proposals need an explicit one, e.g. '${trimmed}-prfsha256'`);
    }
    spec.ke = spec.ke.filter((g) => g !== KeId.NONE);
    if (spec.ke.length === 0) throw new Error(`a key exchange method is mandatory in IKE proposals ('${trimmed}')`);
  } else {
    // PRFs mean nothing for ESP; strongSwan silently drops them.
    spec.prf = [];
    if (spec.esn.length === 0) spec.esn = [EsnId.NO_ESN];
  }
  if (aead > 0) {
    spec.integ = []; // AEAD proposals carry no integrity transform (RFC 5282 §8)
  } else if (spec.integ.length === 0) {
    throw new Error(`an integrity algorithm is mandatory with non-AEAD encryption ('${trimmed}')`);
  }
  return spec;
}

/**
 * Parses a comma-separated list (or array) of proposals; `default` expands to DEFAULT_PROPOSALS
 * at its position, as in strongSwan.
 */
export function parseProposals(list: string | readonly string[], protocol: 'ike' | 'esp'): ProposalSpec[] {
  const items = (typeof list === 'string' ? list.split(',') : list).map((s) => s.trim()).filter((s) => s !== '');
  const out: ProposalSpec[] = [];
  for (const item of items) {
    if (item.toLowerCase() === 'default') out.push(...DEFAULT_PROPOSALS[protocol].map((t) => parseProposal(t, protocol)));
    else out.push(parseProposal(item, protocol));
  }
  if (out.length === 0) throw new Error('no proposals given');
  return out;
}

function keywordOf(type: number, id: number, keyBits?: number): string {
  if (type === TransformType.KE && id === KeId.NONE) return 'none';
  if (type === TransformType.ENCR) {
    const e = encrEntry(id);
    const bits = keyBits ?? e?.keyBits[0];
    const w = e && bits !== undefined ? e.keywords[bits]?.[0] : undefined;
    return w ?? `encr${id}${keyBits ?? ''}`;
  }
  const e = findEntry(type as typeof TransformType.PRF, id) as { keywords?: readonly string[] } | undefined;
  return e?.keywords?.[0] ?? `t${type}id${id}`;
}

/**
 * Canonical keyword string for a spec (explicit PRFs always written out, so that the result
 * parses back to the same spec).
 */
export function formatProposal(spec: ProposalSpec): string {
  const words: string[] = [];
  for (const e of spec.encr) words.push(keywordOf(TransformType.ENCR, e.id, e.keyBits));
  for (const i of spec.integ) words.push(keywordOf(TransformType.INTEG, i));
  for (const p of spec.prf) words.push(keywordOf(TransformType.PRF, p));
  for (const g of spec.ke) words.push(keywordOf(TransformType.KE, g));
  if (spec.protocol === 'esp' && !(spec.esn.length === 1 && spec.esn[0] === EsnId.NO_ESN)) {
    for (const n of spec.esn) words.push(keywordOf(TransformType.ESN, n));
  }
  return words.join('-');
}
