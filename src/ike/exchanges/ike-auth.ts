// IKE_AUTH as responder (RFC 7296 §1.2, §2.15, §2.16, §3.5–3.8, §3.15; RFC 7427):
//   HDR, SK { IDi, [CERT+], [N(INITIAL_CONTACT)], [CERTREQ+], [IDr], AUTH, [CP(CFG_REQUEST)], SAi2, TSi, TSr }  -->
//   <--  HDR, SK { IDr, [CERT+], AUTH, [CP(CFG_REPLY)], SAr2, TSi, TSr }
// With EAP (§2.16) the initiator leaves out AUTH; we answer with our certificate AUTH and an
// EAP-Identity request, run the EAP conversation over further IKE_AUTH exchanges, and finish
// with AUTH payloads computed from the MSK in both directions:
//   HDR, SK { EAP }  -->  <--  HDR, SK { EAP }   …   HDR, SK { AUTH }  -->  <--  HDR, SK { AUTH, [CP], SAr2, TSi, TSr }
// Peer authentication failures are answered with AUTHENTICATION_FAILED and the SA dies with
// nothing installed; CHILD_SA failures are notified while the IKE_SA is kept (§1.2).
import { bytesEqual, toHex } from '../../crypto/bytes.js';
import { certificateMatchesIdentity } from '../../credentials/match.js';
import type { LocalCredential } from '../../credentials/store.js';
import { formatEndpoint } from '../../net/endpoint.js';
import { formatIdentity, parseIdentity } from '../../policy/identity.js';
import type { AuthRound, Connection, IkeIdentity } from '../../policy/policy.js';
import { selectForAuth, type InitiatorAuth } from '../../policy/select.js';
import { sharedKeyAuth, verifySharedKeyAuth } from '../auth/psk.js';
import { signAuth, verifyAuth } from '../auth/signature.js';
import { initiatorSignedOctets, responderSignedOctets } from '../auth/signed-octets.js';
import { validatePayloads } from '../codec/message.js';
import type { Payload } from '../codec/payload.js';
import { checkRules, firstCriticalUnknown } from '../codec/rules.js';
import { AuthMethod, CertEncoding, ExchangeType, NotifyType, notifyName } from '../constants.js';
import { notify } from '../codec/payloads/notify.js';
import { IkeError } from '../errors.js';
import { transition, type IkeSa } from '../sa/ike-sa.js';
import { allOf, findNotify, firstOf, type EngineContext, type Inbound } from './context.js';
import { createChild } from './steps/child-sa.js';
import { answerConfigRequest } from './steps/config-payload.js';
import { createEapConversation, eapMethodsFor } from './steps/eap-setup.js';
import { releaseEap, teardownIkeSa } from './steps/teardown.js';
import { scheduleLiveness } from './liveness.js';
import { scheduleKeepalive } from './keepalive.js';
import { negotiateMobike } from './mobike.js';
import { enforceUniqueness } from './steps/uniqueness.js';

const authFailed = (reason: string) => new IkeError(NotifyType.AUTHENTICATION_FAILED, reason);

/** Windows signals initial contact with this vendor ID instead of N(INITIAL_CONTACT) (field facts §2.1.2). */
const MS_VID_INITIAL_CONTACT = new Uint8Array([0x26, 0x24, 0x4d, 0x38, 0xed, 0xdb, 0x61, 0xb3, 0x17, 0x2a, 0x36, 0xe3, 0xd0, 0xcf, 0xb8, 0x19]);

function initiatorAuthKind(method: number | undefined): InitiatorAuth {
  if (method === undefined) return 'none';
  return method === AuthMethod.SHARED_KEY_MIC ? 'psk' : 'signature';
}

function checkRequest(m: Inbound): void {
  const critical = firstCriticalUnknown(m.inner);
  if (critical !== undefined) {
    throw new IkeError(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, `unsupported critical payload type ${critical}`, new Uint8Array([critical]));
  }
  checkRules(ExchangeType.IKE_AUTH, false, m.outer, m.inner);
  validatePayloads(m.inner);
}

export async function handleIkeAuth(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  checkRequest(m);
  if (sa.phase === 'half-open') return firstRequest(ctx, sa, m);
  if (sa.phase === 'authenticating' && sa.eap) return eapRequest(ctx, sa, m);
  throw new IkeError(NotifyType.INVALID_SYNTAX, `IKE_AUTH request in phase ${sa.phase}`);
}

/** Our IDr: the configured local id, else the certificate's first identity (its subject DN), else our address. */
/**
 * Our IDr: the configured local id; else the identity the client asked for (IDr) when our
 * certificate proves it — clients that name the gateway by the address or host name they
 * typed check exactly that —; else the certificate's first identity (its subject DN); else our address.
 */
function localIdentity(sa: IkeSa, round: AuthRound, cred: LocalCredential | undefined, requested: IkeIdentity | undefined): IkeIdentity {
  if (!round.id.any) return round.id.id;
  if (cred && requested && certificateMatchesIdentity(cred.cert, requested)) return requested;
  if (cred && cred.identities[0]) return cred.identities[0];
  return parseIdentity(sa.local.address);
}

async function firstRequest(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  const inner = m.inner;
  transition(sa, 'authenticating', `IKE_AUTH request ${m.header.messageId}`);
  const idi = firstOf(inner, 'idi');
  if (!idi) throw new IkeError(NotifyType.INVALID_SYNTAX, 'first IKE_AUTH request without IDi');
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
  sa.log = ctx.ports.log.child({ ike: sa.label, ispi: toHex(sa.ispi), rspi: toHex(sa.rspi) });
  sa.log.info(`selected connection '${conn.name}' for peer '${remoteText}'${claimedLocal ? ` (IDr '${formatIdentity(claimedLocal)}')` : ''}`);
  const localRound = conn.local[0]!;
  const remoteRound = conn.remote[0]!;

  // Our credential first: a PSK lookup needs our identity, and a missing credential is our config's fault.
  let cred: LocalCredential | undefined;
  if (localRound.auth === 'pubkey') {
    const keyIds = allOf(inner, 'certreq')
      .filter((c) => c.encoding === CertEncoding.X509_SIGNATURE)
      .flatMap((c) => splitKeyIds(c.data));
    cred = ctx.ports.credentials.localCredential(localRound.id.any ? claimedLocal : localRound.id.id, keyIds);
    if (!cred) throw authFailed(`no certificate with a private key for connection '${conn.name}'`);
  }
  const localId = localIdentity(sa, localRound, cred, claimedLocal);
  sa.localId = localId;
  sa.remoteId = remoteId;

  if (auth) {
    await verifyPeerAuth(ctx, sa, auth, remoteRound, inner);
  } else {
    sa.log.info(`peer '${remoteText}' requests EAP authentication (${remoteRound.auth})`);
  }

  const response: Payload[] = [{ kind: 'idr', critical: false, idType: localId.type, data: localId.data }];
  const eapOnly = !auth && eapOnlyAllowed(ctx, remoteRound, inner);
  if (eapOnly) sa.log.info(`EAP-only authentication (RFC 5998): not sending our certificate AUTH`);
  else response.push(...ownAuth(ctx, sa, conn, cred, undefined));

  if (!auth) {
    // RFC 7296 §2.16: our AUTH now, then EAP. The first request's SA/TS/CP wait for the end.
    const eap = createEapConversation({
      round: remoteRound,
      ikeIdentity: remoteText,
      secrets: ctx.config.secrets,
      credentials: ctx.ports.credentials,
      cred,
      rng: ctx.ports.rng,
      log: sa.log,
      ...(ctx.config.daemon.mschapv2Domain ? { mschapv2Domain: ctx.config.daemon.mschapv2Domain } : {}),
    });
    sa.eap = { conversation: eap, firstInner: inner, cred };
    response.push({ kind: 'eap', critical: false, data: eap.start() });
    ctx.engine.respond(sa, m.datagram, m.header, response, m.digest);
    return;
  }
  await establish(ctx, sa, conn, inner, response, m);
}

/** RFC 5998 §2: only when configured, asked for, and every allowed method is mutual (not EAP-MD5). */
function eapOnlyAllowed(ctx: EngineContext, round: AuthRound, inner: Payload[]): boolean {
  if (!ctx.config.daemon.eapOnly || !findNotify(inner, NotifyType.EAP_ONLY_AUTHENTICATION)) return false;
  const methods = eapMethodsFor(round);
  return methods.length > 0 && methods.every((m) => m === 'eap-mschapv2' || m === 'eap-tls');
}

/** RFC 7296 §2.15: verify the peer's AUTH over InitiatorSignedOctets, by PSK or certificate signature. */
async function verifyPeerAuth(ctx: EngineContext, sa: IkeSa, auth: Payload & { kind: 'auth' }, round: AuthRound, inner: Payload[]): Promise<void> {
  const remoteId = sa.remoteId!;
  const remoteText = formatIdentity(remoteId);
  const octetsI = initiatorSignedOctets(sa.prf, sa.keys.skPi, sa.init.request, sa.init.nr, remoteId);
  if (auth.method === AuthMethod.SHARED_KEY_MIC) {
    const secret = ctx.ports.credentials.sharedKey(sa.localId, remoteId, ctx.config.secrets);
    if (!secret) throw authFailed(`no shared key for '${formatIdentity(sa.localId!)}' - '${remoteText}'`);
    if (!verifySharedKeyAuth(sa.prf, secret, octetsI, auth.data)) {
      throw authFailed(`pre-shared key authentication of '${remoteText}' failed: AUTH mismatch (wrong PSK?)`);
    }
    sa.remoteAuth = 'PSK';
    sa.log.info(`authentication of '${remoteText}' with pre-shared key successful`);
    return;
  }
  const certs = allOf(inner, 'cert').filter((c) => c.encoding === CertEncoding.X509_SIGNATURE).map((c) => c.data);
  if (certs.length === 0) throw authFailed(`peer '${remoteText}' sent no certificate`);
  const verdict = await ctx.ports.credentials.verifyPeer(certs, remoteId, round.cacerts);
  if (!verdict.ok) throw authFailed(`certificate of '${remoteText}' not accepted: ${verdict.reason}`);
  const v = verifyAuth(verdict.publicKey, auth.method, auth.data, octetsI);
  if (!v.ok) throw authFailed(`signature of '${remoteText}' does not verify: ${v.reason}`);
  sa.remoteAuth = verdict.subject;
  sa.log.info(`authentication of '${remoteText}' with ${v.scheme} successful (certificate '${verdict.subject}')`);
}

/**
 * Our AUTH over ResponderSignedOctets, with our certificates when we sign. `msk` is set for the
 * final AUTH after EAP (§2.16: the MSK is the shared secret; methods without MSK use SK_pr).
 */
function ownAuth(ctx: EngineContext, sa: IkeSa, conn: Connection, cred: LocalCredential | undefined, msk: Uint8Array | 'none' | undefined): Payload[] {
  const octetsR = responderSignedOctets(sa.prf, sa.keys.skPr, sa.init.response, sa.init.ni, sa.localId!);
  if (msk !== undefined) {
    const secret = msk === 'none' ? sa.keys.skPr : msk;
    return [{ kind: 'auth', critical: false, method: AuthMethod.SHARED_KEY_MIC, data: sharedKeyAuth(sa.prf, secret, octetsR) }];
  }
  if (conn.local[0]!.auth === 'psk') {
    const secret = ctx.ports.credentials.sharedKey(sa.localId, sa.remoteId!, ctx.config.secrets);
    if (!secret) throw authFailed(`no shared key to authenticate '${formatIdentity(sa.localId!)}' to '${formatIdentity(sa.remoteId!)}'`);
    return [{ kind: 'auth', critical: false, method: AuthMethod.SHARED_KEY_MIC, data: sharedKeyAuth(sa.prf, secret, octetsR) }];
  }
  const c = cred!;
  const out: Payload[] = [];
  if (conn.sendCert !== 'never') {
    for (const cert of [c.cert, ...c.chain]) out.push({ kind: 'cert', critical: false, encoding: CertEncoding.X509_SIGNATURE, data: cert.der });
  }
  const signed = signAuth(c, octetsR, sa.peerHashAlgorithms);
  out.push({ kind: 'auth', critical: false, method: signed.method, data: signed.data });
  return out;
}

/** Later IKE_AUTH requests of an EAP conversation (RFC 7296 §2.16). */
async function eapRequest(ctx: EngineContext, sa: IkeSa, m: Inbound): Promise<void> {
  const state = sa.eap!;
  const conn = sa.conn!;
  if (state.result) {
    // The final exchange: AUTH computed from the MSK over InitiatorSignedOctets.
    const auth = firstOf(m.inner, 'auth');
    if (!auth) throw authFailed('expected the final AUTH after EAP-Success');
    const secret = state.result.msk ?? sa.keys.skPi;
    const octetsI = initiatorSignedOctets(sa.prf, sa.keys.skPi, sa.init.request, sa.init.nr, sa.remoteId!);
    if (auth.method !== AuthMethod.SHARED_KEY_MIC || !verifySharedKeyAuth(sa.prf, secret, octetsI, auth.data)) {
      throw authFailed(`final AUTH of '${state.result.identity}' after ${state.result.method} does not verify`);
    }
    sa.log.info(`authentication of '${state.result.identity}' with ${state.result.method} successful`);
    // Only now is the EAP identity authenticated (both AUTH payloads bind it to this IKE_SA).
    sa.eapIdentity = state.result.identity;
    sa.eapMethod = state.result.method;
    sa.remoteAuth = `${state.result.method} '${state.result.identity}'`;
    const response = ownAuth(ctx, sa, conn, state.cred, state.result.msk ?? 'none');
    await establish(ctx, sa, conn, state.firstInner, response, m);
    releaseEap(sa); // the MSK has done its work: both AUTH payloads are computed
    return;
  }
  const eap = firstOf(m.inner, 'eap');
  if (!eap) throw authFailed('expected an EAP payload');
  const outcome = await state.conversation.process(eap.data);
  switch (outcome.kind) {
    case 'continue':
      ctx.engine.respond(sa, m.datagram, m.header, [{ kind: 'eap', critical: false, data: outcome.packet }], m.digest);
      return;
    case 'success':
      state.result = { ...(outcome.msk ? { msk: outcome.msk } : {}), identity: outcome.identity, method: outcome.method };
      ctx.engine.respond(sa, m.datagram, m.header, [{ kind: 'eap', critical: false, data: outcome.packet }], m.digest);
      return;
    case 'failure': {
      const who = outcome.identity ? `'${outcome.identity}'` : `'${formatIdentity(sa.remoteId!)}'`;
      sa.log.warn({ reason: outcome.reason, method: outcome.method }, `EAP authentication of ${who} failed: ${outcome.reason}`);
      ctx.ports.events?.authFailed?.({ remote: formatEndpoint(sa.remote), reason: `EAP: ${outcome.reason}` });
      ctx.engine.respond(sa, m.datagram, m.header, [{ kind: 'eap', critical: false, data: outcome.packet }, notify(NotifyType.AUTHENTICATION_FAILED)], m.digest);
      await teardownIkeSa(ctx, sa, `EAP authentication failed: ${outcome.reason}`);
      return;
    }
  }
}

/** The peer is authenticated: uniqueness, CP reply, the first CHILD_SA, and the final response. */
async function establish(ctx: EngineContext, sa: IkeSa, conn: Connection, firstInner: Payload[], response: Payload[], m: Inbound): Promise<void> {
  const initialContact = findNotify(firstInner, NotifyType.INITIAL_CONTACT) !== undefined || sa.peerVendorIds.some((v) => bytesEqual(v, MS_VID_INITIAL_CONTACT));
  // Before addresses are assigned, so a reconnecting client gets its old address back.
  await enforceUniqueness(ctx, sa, initialContact);
  response.push(...(await configAndChild(ctx, sa, conn, firstInner)));
  response.push(...negotiateMobike(sa, conn, firstInner));
  const remoteText = sa.eapIdentity ?? formatIdentity(sa.remoteId!);
  transition(sa, 'established', `authenticated '${remoteText}'`);
  sa.establishedAt = ctx.ports.clock.now();
  ctx.engine.markEstablished(sa);
  sa.lastInboundAt = ctx.ports.clock.now();
  scheduleLiveness(ctx, sa);
  scheduleKeepalive(ctx, sa);
  sa.log.info(
    { remoteId: formatIdentity(sa.remoteId!), eapIdentity: sa.eapIdentity, localId: formatIdentity(sa.localId!), vips: sa.vips, peer: formatEndpoint(sa.remote) },
    `IKE_SA ${sa.label} established between ${formatEndpoint(sa.local)}[${formatIdentity(sa.localId!)}]...${formatEndpoint(sa.remote)}[${remoteText}]`,
  );
  ctx.engine.respond(sa, m.datagram, m.header, response, m.digest);
  ctx.ports.events?.ikeUp?.({ id: sa.id, remoteId: remoteText, vips: sa.vips });
}

/** CP reply and the first CHILD_SA; their failures become notifies in the response. */
async function configAndChild(ctx: EngineContext, sa: IkeSa, conn: Connection, inner: Payload[]): Promise<Payload[]> {
  const out: Payload[] = [];
  const who = sa.eapIdentity ?? formatIdentity(sa.remoteId!);
  const cp = firstOf(inner, 'cp');
  if (cp) {
    // Leases follow the authenticated user: with EAP, Windows' IDi is only its IP address.
    const answer = answerConfigRequest(cp, conn, ctx.pools, ctx.config.pools, sa.eapIdentity ? `eap:${sa.eapIdentity}` : formatIdentity(sa.remoteId!));
    sa.leases.push(...answer.leases);
    sa.vips.push(...answer.vips);
    if (answer.reply) out.push(answer.reply);
    if (answer.addressFailure) {
      sa.log.warn(`no virtual IP for '${who}': ${answer.addressFailure}`);
      out.push(notify(NotifyType.INTERNAL_ADDRESS_FAILURE));
      return out; // RFC 7296 §3.15.4: no CHILD_SA without the address it would carry
    }
    if (answer.vips.length > 0) sa.log.info(`assigned virtual IP(s) ${answer.vips.join(', ')} to '${who}'`);
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

/** A CERTREQ's Certification Authority field is a concatenation of 20-byte SHA-1 key ids (RFC 7296 §3.7). */
function splitKeyIds(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i + 20 <= data.length; i += 20) out.push(data.subarray(i, i + 20));
  return out;
}
