// IKE_AUTH as responder (RFC 7296 §1.2, §2.15, §3.5–3.8, §3.15; RFC 7427):
//   HDR, SK { IDi, [CERT+], [N(INITIAL_CONTACT)], [CERTREQ+], [IDr], AUTH, [CP(CFG_REQUEST)], SAi2, TSi, TSr }  -->
//   <--  HDR, SK { IDr, [CERT+], AUTH, [CP(CFG_REPLY)], SAr2, TSi, TSr }
// Peer authentication failures are remembered and reported as AUTHENTICATION_FAILED (the SA
// dies, nothing is installed); CHILD_SA failures are notified while the IKE_SA is kept (§1.2).
import { bytesEqual } from '../../crypto/bytes.js';
import { formatEndpoint } from '../../net/endpoint.js';
import { formatIdentity, parseIdentity } from '../../policy/identity.js';
import type { AuthRound, Connection, IkeIdentity } from '../../policy/policy.js';
import { selectForAuth, type InitiatorAuth } from '../../policy/select.js';
import type { LocalCredential } from '../../credentials/store.js';
import { signAuth, verifyAuth } from '../auth/signature.js';
import { sharedKeyAuth, verifySharedKeyAuth } from '../auth/psk.js';
import { initiatorSignedOctets, responderSignedOctets } from '../auth/signed-octets.js';
import { AuthMethod, CertEncoding, ExchangeType, NotifyType, notifyName } from '../constants.js';
import type { Payload } from '../codec/payload.js';
import { validatePayloads } from '../codec/message.js';
import { checkRules, firstCriticalUnknown } from '../codec/rules.js';
import { IkeError } from '../errors.js';
import { notify } from '../engine.js';
import { transition, type IkeSa } from '../sa/ike-sa.js';
import { allOf, findNotify, firstOf, type EngineContext, type Inbound } from './context.js';
import { createChild } from './steps/child-sa.js';
import { answerConfigRequest } from './steps/config-payload.js';
import { teardownIkeSa } from './steps/teardown.js';

const authFailed = (reason: string) => new IkeError(NotifyType.AUTHENTICATION_FAILED, reason);

function initiatorAuthKind(method: number | undefined): InitiatorAuth {
  if (method === undefined) return 'none';
  return method === AuthMethod.SHARED_KEY_MIC ? 'psk' : 'signature';
}

/** Our IDr: the configured local id, else the certificate's first identity (its subject DN), else our address. */
function localIdentity(sa: IkeSa, round: AuthRound, cred: LocalCredential | undefined): IkeIdentity {
  if (!round.id.any) return round.id.id;
  if (cred && cred.identities[0]) return cred.identities[0];
  return parseIdentity(sa.local.address);
}

export async function handleIkeAuth(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  if (sa.phase !== 'half-open' && sa.phase !== 'authenticating') {
    throw new IkeError(NotifyType.INVALID_SYNTAX, `IKE_AUTH request in phase ${sa.phase}`);
  }
  const inner = m.inner;
  const critical = firstCriticalUnknown(inner);
  if (critical !== undefined) {
    throw new IkeError(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, `unsupported critical payload type ${critical}`, new Uint8Array([critical]));
  }
  checkRules(ExchangeType.IKE_AUTH, false, m.outer, inner);
  validatePayloads(inner);
  transition(sa, 'authenticating', `IKE_AUTH request ${m.header.messageId}`);

  const idi = firstOf(inner, 'idi');
  if (!idi) throw new IkeError(NotifyType.INVALID_SYNTAX, 'IKE_AUTH request without IDi');
  const idr = firstOf(inner, 'idr');
  const auth = firstOf(inner, 'auth');
  const remoteId: IkeIdentity = { type: idi.idType, data: idi.data.slice() };
  const claimedLocal: IkeIdentity | undefined = idr ? { type: idr.idType, data: idr.data.slice() } : undefined;
  const remoteText = formatIdentity(remoteId);

  const selection = selectForAuth(sa.candidates, { idi: remoteId, ...(claimedLocal ? { idr: claimedLocal } : {}), authMethod: initiatorAuthKind(auth?.method) });
  if (!selection.ok) throw authFailed(`no connection for '${remoteText}': ${selection.reason}`);
  const conn = selection.connection;
  sa.conn = conn;
  sa.label = `${conn.name}[${sa.serial}]`;
  sa.log = sa.log.child({ ike: sa.label });
  sa.log.info(`selected connection '${conn.name}' for peer '${remoteText}'${claimedLocal ? ` (IDr '${formatIdentity(claimedLocal)}')` : ''}`);

  if (!auth) {
    // EAP (RFC 7296 §2.16) is not offered by this version; say so plainly instead of hanging the client.
    throw authFailed(`peer '${remoteText}' requested EAP authentication, which is not available`);
  }
  const remoteRound = conn.remote[0]!;
  const localRound = conn.local[0]!;

  // Our credential first: a PSK lookup needs our identity, and a missing credential is our config's fault.
  let cred: LocalCredential | undefined;
  if (localRound.auth === 'pubkey') {
    const certreqs = allOf(inner, 'certreq').filter((c) => c.encoding === CertEncoding.X509_SIGNATURE);
    const keyIds = certreqs.flatMap((c) => splitKeyIds(c.data));
    cred = ctx.ports.credentials.localCredential(localRound.id.any ? claimedLocal : localRound.id.id, keyIds);
    if (!cred) throw authFailed(`no certificate with a private key for connection '${conn.name}'`);
  }
  const localId = localIdentity(sa, localRound, cred);

  // Verify the peer (RFC 7296 §2.15: AUTH over InitiatorSignedOctets).
  const octetsI = initiatorSignedOctets(sa.prf, sa.keys.skPi, sa.init.request, sa.init.nr, remoteId);
  if (auth.method === AuthMethod.SHARED_KEY_MIC) {
    const secret = ctx.ports.credentials.sharedKey(localId, remoteId, ctx.config.secrets);
    if (!secret) throw authFailed(`no shared key for '${formatIdentity(localId)}' - '${remoteText}'`);
    if (!verifySharedKeyAuth(sa.prf, secret, octetsI, auth.data)) {
      ctx.ports.events?.authFailed?.({ remote: formatEndpoint(sa.remote), reason: 'wrong PSK' });
      throw authFailed(`pre-shared key authentication of '${remoteText}' failed: AUTH mismatch (wrong PSK?)`);
    }
    sa.remoteAuth = 'PSK';
  } else {
    const certs = allOf(inner, 'cert').filter((c) => c.encoding === CertEncoding.X509_SIGNATURE).map((c) => c.data);
    if (certs.length === 0) throw authFailed(`peer '${remoteText}' sent no certificate`);
    const verdict = await ctx.ports.credentials.verifyPeer(certs, remoteId, remoteRound.cacerts);
    if (!verdict.ok) throw authFailed(`certificate of '${remoteText}' not accepted: ${verdict.reason}`);
    const v = verifyAuth(verdict.publicKey, auth.method, auth.data, octetsI);
    if (!v.ok) throw authFailed(`signature of '${remoteText}' does not verify: ${v.reason}`);
    sa.remoteAuth = verdict.subject;
    sa.log.info(`authentication of '${remoteText}' with ${v.scheme} successful (certificate '${verdict.subject}')`);
  }
  if (sa.remoteAuth === 'PSK') sa.log.info(`authentication of '${remoteText}' with pre-shared key successful`);

  // Our AUTH over ResponderSignedOctets.
  const octetsR = responderSignedOctets(sa.prf, sa.keys.skPr, sa.init.response, sa.init.ni, localId);
  const response: Payload[] = [{ kind: 'idr', critical: false, idType: localId.type, data: localId.data }];
  if (localRound.auth === 'psk') {
    const secret = ctx.ports.credentials.sharedKey(localId, remoteId, ctx.config.secrets);
    if (!secret) throw authFailed(`no shared key to authenticate '${formatIdentity(localId)}' to '${remoteText}'`);
    response.push({ kind: 'auth', critical: false, method: AuthMethod.SHARED_KEY_MIC, data: sharedKeyAuth(sa.prf, secret, octetsR) });
  } else {
    const c = cred!;
    if (conn.sendCert !== 'never') {
      for (const cert of [c.cert, ...c.chain]) response.push({ kind: 'cert', critical: false, encoding: CertEncoding.X509_SIGNATURE, data: cert.der });
    }
    const signed = signAuth(c, octetsR, sa.peerHashAlgorithms);
    response.push({ kind: 'auth', critical: false, method: signed.method, data: signed.data });
  }
  sa.localId = localId;
  sa.remoteId = remoteId;

  // From here on the peer is authenticated: the IKE_SA is established whatever happens to the CHILD_SA.
  const childPayloads = await configAndChild(ctx, sa, conn, inner);
  response.push(...childPayloads);

  if (findNotify(inner, NotifyType.INITIAL_CONTACT)) dropOlderSas(ctx, sa, 'INITIAL_CONTACT');

  transition(sa, 'established', `authenticated '${remoteText}'`);
  sa.establishedAt = ctx.ports.clock.now();
  ctx.engine.markEstablished(sa);
  sa.log.info(
    { remoteId: remoteText, localId: formatIdentity(localId), vips: sa.vips, peer: formatEndpoint(sa.remote) },
    `IKE_SA ${sa.label} established between ${formatEndpoint(sa.local)}[${formatIdentity(localId)}]...${formatEndpoint(sa.remote)}[${remoteText}]`,
  );
  ctx.engine.respond(sa, m.datagram, m.header, response, m.digest);
  ctx.ports.events?.ikeUp?.({ id: sa.id, remoteId: remoteText, vips: sa.vips });
}

/** CP reply and the first CHILD_SA; their failures become notifies in the response. */
async function configAndChild(ctx: EngineContext, sa: IkeSa, conn: Connection, inner: Payload[]): Promise<Payload[]> {
  const out: Payload[] = [];
  const cp = firstOf(inner, 'cp');
  if (cp) {
    const answer = answerConfigRequest(cp, conn, ctx.pools, ctx.config.pools, formatIdentity(sa.remoteId!));
    sa.leases.push(...answer.leases);
    sa.vips.push(...answer.vips);
    if (answer.reply) out.push(answer.reply);
    if (answer.addressFailure) {
      sa.log.warn(`no virtual IP for '${formatIdentity(sa.remoteId!)}': ${answer.addressFailure}`);
      out.push(notify(NotifyType.INTERNAL_ADDRESS_FAILURE));
      return out; // RFC 7296 §3.15.4: no CHILD_SA without the address it would carry
    }
    if (answer.vips.length > 0) sa.log.info(`assigned virtual IP(s) ${answer.vips.join(', ')} to '${formatIdentity(sa.remoteId!)}'`);
  }
  const saPayload = firstOf(inner, 'sa');
  const tsi = firstOf(inner, 'tsi');
  const tsr = firstOf(inner, 'tsr');
  if (!saPayload || !tsi || !tsr) return out; // childless (RFC 6023) or incomplete: no CHILD_SA
  try {
    const { payloads } = await createChild(ctx, sa, conn, {
      sa: saPayload,
      tsi: tsi.selectors,
      tsr: tsr.selectors,
      ni: sa.init.ni,
      nr: sa.init.nr,
      ignoreKe: true,
    });
    out.push(...payloads);
  } catch (err) {
    if (!(err instanceof IkeError)) throw err;
    sa.log.warn({ notify: notifyName(err.notify), reason: err.message }, `no CHILD_SA built: ${err.message}`);
    out.push(notify(err.notify, err.data));
  }
  return out;
}

/** RFC 7296 §2.4 INITIAL_CONTACT: other IKE_SAs between the same identities are stale. */
function dropOlderSas(ctx: EngineContext, sa: IkeSa, why: string): void {
  for (const other of [...ctx.engine.sas.values()]) {
    if (other === sa || other.phase !== 'established' || !other.remoteId || !other.localId) continue;
    if (!sameId(other.remoteId, sa.remoteId!) || !sameId(other.localId, sa.localId!)) continue;
    sa.log.info(`${why}: deleting older IKE_SA ${other.label} of '${formatIdentity(other.remoteId)}'`);
    // Through the other SA's own queue, so nothing of it runs concurrently with its deletion.
    void ctx.engine.onSa(other, () => teardownIkeSa(ctx, other, `replaced by ${sa.label} (${why})`, false));
  }
}

function sameId(a: IkeIdentity, b: IkeIdentity): boolean {
  return a.type === b.type && bytesEqual(a.data, b.data);
}

/** A CERTREQ's Certification Authority field is a concatenation of 20-byte SHA-1 key ids (RFC 7296 §3.7). */
function splitKeyIds(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + 20 <= data.length; i += 20) out.push(data.subarray(i, i + 20));
  return out;
}

