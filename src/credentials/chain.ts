// Certification path building and validation for peer certificates (RFC 5280 §6.1, reduced
// to what IKEv2 remote access needs: RFC 4945 §5 profile). The path is built from the leaf
// upwards through whatever intermediates arrived in CERT payloads (RFC 7296 §3.6: any order,
// extras allowed) to one of the configured trust anchors. Checked per certificate: validity
// period, signature, basicConstraints cA and pathLenConstraint, keyCertSign, unknown critical
// extensions. Not checked (yet): revocation, name constraints, policies.
import { bytesEqual } from '../crypto/bytes.js';
import { parseSignatureAlgorithm, verifyWithScheme } from './algorithms.js';
import { namesEqual } from './names.js';
import { CertificateError, KeyUsage, parseCertificate, type Certificate } from './x509.js';

export const MAX_CHAIN_DEPTH = 8;

export type ChainResult = { ok: true; leaf: Certificate; path: Certificate[] } | { ok: false; reason: string };

export interface ChainOptions {
  /** Parser with a cache in front (the store passes one keyed by fingerprint). */
  parse?: (der: Uint8Array) => Certificate;
  maxDepth?: number;
}

const day = (d: Date): string => d.toISOString().slice(0, 10);

/** Why `cert` is not usable at `now`, or undefined. */
function validityProblem(cert: Certificate, now: Date): string | undefined {
  if (now.getTime() > cert.notAfter.getTime()) return `certificate '${cert.subjectText}' expired on ${day(cert.notAfter)}`;
  if (now.getTime() < cert.notBefore.getTime()) return `certificate '${cert.subjectText}' is not valid before ${day(cert.notBefore)}`;
  if (cert.unknownCriticalExtensions.length > 0)
    return `certificate '${cert.subjectText}' has unsupported critical extension ${cert.unknownCriticalExtensions.join(', ')}`;
  return undefined;
}

/** `issuer` may have issued `child`: names match and, when both are present, key identifiers. */
function couldHaveIssued(issuer: Certificate, child: Certificate): boolean {
  if (!namesEqual(issuer.subjectDer, child.issuerDer)) return false;
  if (child.authorityKeyIdentifier && issuer.subjectKeyIdentifier)
    return bytesEqual(child.authorityKeyIdentifier, issuer.subjectKeyIdentifier);
  return true;
}

/** Verifies the signature on `child` with `issuer`'s key; returns a reason on failure. */
export function checkSignature(child: Certificate, issuer: Certificate): string | undefined {
  const alg = parseSignatureAlgorithm(child.signatureAlgorithmDer);
  if (!alg.ok) return `certificate '${child.subjectText}': ${alg.reason}`;
  let key;
  try {
    key = issuer.publicKey;
  } catch (e) {
    return `certificate '${issuer.subjectText}': ${(e as Error).message}`;
  }
  const problem = verifyWithScheme(alg.scheme, key, child.tbsDer, child.signatureValue);
  return problem ? `signature of '${child.subjectText}' does not verify` : undefined;
}

/** CA-specific checks for a certificate used to sign `below` path elements (RFC 5280 §6.1.4). */
function caProblem(ca: Certificate, intermediatesBelow: number, role: 'intermediate' | 'CA'): string | undefined {
  if (!ca.isCa) return `${role} '${ca.subjectText}' is not a CA`;
  if (ca.keyUsage !== undefined && (ca.keyUsage & KeyUsage.keyCertSign) === 0)
    return `${role} '${ca.subjectText}' may not sign certificates (keyUsage lacks keyCertSign)`;
  if (ca.pathLen !== undefined && intermediatesBelow > ca.pathLen)
    return `${role} '${ca.subjectText}' allows ${ca.pathLen} intermediate CA(s) below it, the path has ${intermediatesBelow}`;
  return undefined;
}

/**
 * Builds and validates a path leaf → intermediates → trust anchor. Intermediates may come in
 * any order; those that do not parse or do not fit are ignored. When several candidates
 * could continue the path (cross-certificates), each is tried in turn (depth-first).
 */
export function verifyChain(
  leafDer: Uint8Array,
  intermediatesDer: readonly Uint8Array[],
  trustAnchors: readonly Certificate[],
  now: Date,
  opts: ChainOptions = {},
): ChainResult {
  const parse = opts.parse ?? parseCertificate;
  const maxDepth = opts.maxDepth ?? MAX_CHAIN_DEPTH;
  let leaf: Certificate;
  try {
    leaf = parse(leafDer);
  } catch (e) {
    return { ok: false, reason: `cannot parse peer certificate: ${(e as Error).message}` };
  }
  const leafProblem = validityProblem(leaf, now);
  if (leafProblem) return { ok: false, reason: leafProblem };

  const pool: Certificate[] = [];
  for (const der of intermediatesDer.slice(0, 32)) {
    try {
      const c = parse(der);
      if (!bytesEqual(c.fingerprint, leaf.fingerprint) && !pool.some((p) => bytesEqual(p.fingerprint, c.fingerprint))) pool.push(c);
    } catch (e) {
      if (!(e instanceof CertificateError)) throw e;
      // An unparsable extra certificate is ignored; if the path needed it, the
      // "no trusted CA for issuer" reason below names what was missing.
    }
  }

  // A leaf that is itself configured as a trust anchor (self-signed peer cert pinned by the operator).
  if (trustAnchors.some((a) => bytesEqual(a.fingerprint, leaf.fingerprint))) return { ok: true, leaf, path: [leaf] };

  const extend = (path: Certificate[]): ChainResult => {
    const current = path[path.length - 1]!;
    const intermediatesSoFar = path.length - 1;
    let firstFailure: string | undefined;

    for (const anchor of trustAnchors) {
      if (!couldHaveIssued(anchor, current)) continue;
      const problem =
        checkSignature(current, anchor) ??
        validityProblem(anchor, now) ??
        // A self-signed root's own flags still matter: a non-CA anchor must not sign others.
        caProblem(anchor, intermediatesSoFar, 'CA');
      if (!problem) return { ok: true, leaf, path: [...path, anchor] };
      firstFailure ??= problem;
    }
    if (path.length > maxDepth) return { ok: false, reason: firstFailure ?? `certificate chain longer than ${maxDepth}` };
    for (const cand of pool) {
      if (path.includes(cand) || !couldHaveIssued(cand, current)) continue;
      const problem = checkSignature(current, cand) ?? validityProblem(cand, now) ?? caProblem(cand, intermediatesSoFar, 'intermediate');
      if (problem) {
        firstFailure ??= problem;
        continue;
      }
      // An intermediate that is also a configured anchor ends the path here.
      if (trustAnchors.some((a) => bytesEqual(a.fingerprint, cand.fingerprint))) return { ok: true, leaf, path: [...path, cand] };
      const deeper = extend([...path, cand]);
      if (deeper.ok) return deeper;
      firstFailure ??= deeper.reason;
    }
    return { ok: false, reason: firstFailure ?? `no trusted CA for issuer '${current.issuerText}'` };
  };
  return extend([leaf]);
}
