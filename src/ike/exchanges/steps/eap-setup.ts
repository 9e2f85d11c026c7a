// Builds the EAP server conversation for one IKE_SA from the connection's `remote { auth = eap-… }`
// round: which methods are allowed, where EAP secrets come from (`secrets { eap-… }` and
// `ntlm-…` sections), and, for EAP-TLS, our certificate and the CAs client certificates must
// chain to.
import { EapConversation, type EapMethodName, type EapSecret } from '../../../eap/conversation.js';
import type { EapTlsOptions } from '../../../eap/tls/eap-tls.js';
import type { CredentialStore, LocalCredential } from '../../../credentials/store.js';
import { encodePem } from '../../../credentials/x509.js';
import type { Rng } from '../../../crypto/random.js';
import type { Logger } from '../../../log/logger.js';
import { matchIdentity, parseIdentity } from '../../../policy/identity.js';
import type { AuthRound, SecretConfig } from '../../../policy/policy.js';

/** The methods a round allows, in our order of preference. */
export function eapMethodsFor(round: AuthRound): EapMethodName[] {
  switch (round.auth) {
    case 'eap-mschapv2':
      return ['eap-mschapv2'];
    case 'eap-tls':
      return ['eap-tls'];
    case 'eap-md5':
      return ['eap-md5'];
    case 'eap-dynamic':
      // Passwords are what most remote-access users have; certificate clients Nak to EAP-TLS.
      return ['eap-mschapv2', 'eap-tls'];
    default:
      return [];
  }
}

/** strongSwan semantics: an EAP secret applies to the identities listed in `id…` (none = any). */
export function eapSecretFor(secrets: readonly SecretConfig[], identity: string): EapSecret | undefined {
  let id;
  try {
    id = parseIdentity(identity);
  } catch {
    return undefined;
  }
  for (const s of secrets) {
    if (s.kind !== 'eap' && s.kind !== 'ntlm') continue;
    if (s.ids.length > 0 && !s.ids.some((p) => matchIdentity(p, id))) continue;
    if (s.ntHash) return { ntHash: s.ntHash };
    if (s.secret) return s.kind === 'ntlm' ? { ntHash: s.secret } : { password: s.secret };
  }
  return undefined;
}

function tlsOptions(credentials: CredentialStore, cred: LocalCredential, round: AuthRound, log: Logger): EapTlsOptions {
  return {
    certChainPem: [cred.cert, ...cred.chain].map((c) => encodePem('CERTIFICATE', c.der)).join(''),
    keyPem: cred.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    caPem: credentials.trustAnchors(round.cacerts).map((c) => encodePem('CERTIFICATE', c.der)),
    async verifyPeer(certsDer, eapIdentity) {
      let claimed;
      try {
        claimed = parseIdentity(eapIdentity);
      } catch (err) {
        return { ok: false, reason: `EAP identity '${eapIdentity}' is not an identity: ${String(err)}` };
      }
      const v = await credentials.verifyPeer(certsDer, claimed, round.cacerts);
      return v.ok ? { ok: true, subject: v.subject } : { ok: false, reason: v.reason };
    },
    log,
  };
}

export interface EapSetup {
  round: AuthRound;
  ikeIdentity: string;
  secrets: readonly SecretConfig[];
  credentials: CredentialStore;
  /** Our certificate: EAP-TLS presents it inside TLS. */
  cred: LocalCredential | undefined;
  rng: Rng;
  log: Logger;
  /** ikegate.eap_mschapv2_domain: the domain DOMAIN\user identities must carry, if set. */
  mschapv2Domain?: string;
}

export function createEapConversation(s: EapSetup): EapConversation {
  const methods = eapMethodsFor(s.round);
  const pattern = s.round.eapId;
  return new EapConversation({
    methods,
    ikeIdentity: s.ikeIdentity,
    ...(pattern.any
      ? {}
      : {
          eapIdPattern: (identity: string) => {
            try {
              return matchIdentity(pattern, parseIdentity(identity));
            } catch {
              return false;
            }
          },
        }),
    secretFor: (identity) => eapSecretFor(s.secrets, identity),
    ...(s.mschapv2Domain ? { mschapv2: { requireDomain: s.mschapv2Domain } } : {}),
    ...(methods.includes('eap-tls') && s.cred ? { tls: tlsOptions(s.credentials, s.cred, s.round, s.log) } : {}),
    rng: s.rng,
    log: s.log,
  });
}
