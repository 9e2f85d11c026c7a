// IKE_SA_INIT as responder (RFC 7296 §1.2, §2.6, §2.7, §2.23; RFC 7383 §2.3; RFC 7427 §4):
//   HDR, SAi1, KEi, Ni, [N(NATD_S_IP), N(NATD_D_IP)], [N(FRAG_SUP)], [N(HASH_ALG)]  -->
//   <--  HDR, SAr1, KEr, Nr, N(NATD_S_IP), N(NATD_D_IP), [N(FRAG_SUP)], [N(HASH_ALG)], [CERTREQ]
// Errors here are answered unprotected and leave no state behind: NO_PROPOSAL_CHOSEN,
// INVALID_KE_PAYLOAD (with the group we want), COOKIE under load, INVALID_SYNTAX.
import { skProtectorFor, prfFor, keGroupFor } from '../../crypto/catalogue.js';
import { concat, toHex } from '../../crypto/bytes.js';
import { deriveIkeKeys, skeyseed } from '../sa/keymat.js';
import { formatEndpoint } from '../../net/endpoint.js';
import type { Connection } from '../../policy/policy.js';
import { candidatesForInit } from '../../policy/select.js';
import { CertEncoding, ExchangeType, HashAlgorithm, HeaderFlag, IKE_MAJOR_VERSION, NotifyType, notifyName } from '../constants.js';
import type { IkeHeader } from '../codec/header.js';
import { decodeMessage, encodeMessage, validatePayloads } from '../codec/message.js';
import { logIkeMessage } from '../../log/message-log.js';
import type { Payload, Proposal } from '../codec/payload.js';
import { checkRules, firstCriticalUnknown } from '../codec/rules.js';
import { DecodeError, IkeError } from '../errors.js';
import { keGroupData, notify } from '../codec/payloads/notify.js';
import type { Datagram } from '../ports.js';
import type { IkeSa, NegotiatedIke } from '../sa/ike-sa.js';
import type { EngineContext } from './context.js';
import { allOf, findNotify, firstOf } from './context.js';
import { detectNat, natHash } from './steps/nat-detection.js';
import { describeProposal, findKeGroupForInvalidKe, selectProposal } from './steps/proposals.js';

/** Hash algorithms we accept in RFC 7427 signatures, announced in SIGNATURE_HASH_ALGORITHMS. */
const OUR_HASH_ALGORITHMS = [HashAlgorithm.SHA2_256, HashAlgorithm.SHA2_384, HashAlgorithm.SHA2_512, HashAlgorithm.IDENTITY];

function u16List(values: number[]): Uint8Array {
  const out = new Uint8Array(values.length * 2);
  values.forEach((v, i) => {
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  return out;
}

function parseU16List(data: Uint8Array): number[] {
  const out: number[] = [];
  for (let i = 0; i + 1 < data.length; i += 2) out.push((data[i]! << 8) | data[i + 1]!);
  return out;
}

/** Sends an unprotected notify-only response (IKE_SA_INIT errors, INVALID_MAJOR_VERSION). */
export function sendUnprotectedError(ctx: EngineContext, d: Datagram, request: IkeHeader, type: number, data: Uint8Array): void {
  const payloads: Payload[] = [notify(type, data)];
  const bytes = encodeMessage(
    {
      ispi: request.ispi,
      rspi: new Uint8Array(8),
      majorVersion: IKE_MAJOR_VERSION,
      minorVersion: 0,
      exchange: request.exchange,
      flags: HeaderFlag.RESPONSE,
      messageId: request.messageId,
    },
    payloads,
  );
  logIkeMessage(ctx.ports.log.child({ ispi: toHex(request.ispi) }), 'sending', { exchange: request.exchange, flags: HeaderFlag.RESPONSE, messageId: request.messageId }, payloads, undefined, d.remote);
  ctx.ports.transport.send({ bytes, local: d.local, remote: d.remote });
}

interface Choice {
  conn: Connection;
  chosen: Proposal;
  negotiated: NegotiatedIke;
}

export async function handleIkeSaInit(ctx: EngineContext, d: Datagram, header: IkeHeader): Promise<void> {
  const log = ctx.ports.log.child({ ispi: toHex(header.ispi), peer: formatEndpoint(d.remote) });
  let payloads: Payload[];
  try {
    payloads = decodeMessage(d.bytes).payloads;
  } catch (err) {
    const reason = err instanceof DecodeError ? err.message : String(err);
    log.info({ reason }, `malformed IKE_SA_INIT request from ${formatEndpoint(d.remote)}: ${reason}`);
    sendUnprotectedError(ctx, d, header, NotifyType.INVALID_SYNTAX, new Uint8Array(0));
    return;
  }
  logIkeMessage(log, 'received', header, payloads, undefined, d.remote);
  try {
    await processInit(ctx, d, header, payloads, log);
  } catch (err) {
    if (!(err instanceof IkeError)) throw err;
    log.info({ notify: notifyName(err.notify), reason: err.message }, `IKE_SA_INIT from ${formatEndpoint(d.remote)} rejected: ${err.message}`);
    sendUnprotectedError(ctx, d, header, err.notify, err.data);
  }
}

async function processInit(ctx: EngineContext, d: Datagram, header: IkeHeader, payloads: Payload[], log: EngineContext['ports']['log']): Promise<void> {
  const critical = firstCriticalUnknown(payloads);
  if (critical !== undefined) {
    throw new IkeError(NotifyType.UNSUPPORTED_CRITICAL_PAYLOAD, `unsupported critical payload type ${critical}`, new Uint8Array([critical]));
  }
  checkRules(ExchangeType.IKE_SA_INIT, false, payloads, undefined);
  validatePayloads(payloads);
  const now = ctx.ports.clock.now();
  const nonce = firstOf(payloads, 'nonce')!;

  // RFC 7296 §2.6: under load, demand a cookie before spending any state or DH work.
  if (ctx.engine.halfOpenCount() >= ctx.config.daemon.cookieThreshold) {
    const cookie = payloads[0]?.kind === 'notify' && payloads[0].notify === NotifyType.COOKIE ? payloads[0].data : undefined;
    if (!cookie || !ctx.cookies.verify(cookie, nonce.nonce, d.remote.address, header.ispi, now)) {
      log.info(`${ctx.engine.halfOpenCount()} half-open IKE_SAs: asking ${formatEndpoint(d.remote)} for a COOKIE`);
      sendUnprotectedError(ctx, d, header, NotifyType.COOKIE, ctx.cookies.make(nonce.nonce, d.remote.address, header.ispi, now));
      return;
    }
  }

  const candidates = candidatesForInit(ctx.config.connections, d.local.address, d.remote.address);
  if (candidates.length === 0) {
    throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, `no connection accepts ${formatEndpoint(d.remote)} -> ${formatEndpoint(d.local)}`);
  }
  const sa = firstOf(payloads, 'sa')!;
  const ke = firstOf(payloads, 'ke')!;
  const choice = chooseProposal(candidates, sa.proposals, ke.group);

  const group = keGroupFor(choice.negotiated.ke)!;
  const kex = group.create();
  let gir: Uint8Array;
  try {
    gir = kex.deriveShared(ke.data);
  } finally {
    kex.wipe();
  }
  const rspi = ctx.ports.rng.bytes(8);
  const nr = ctx.ports.rng.bytes(32);
  const prf = prfFor(choice.negotiated.prf)!;
  const protector = skProtectorFor(choice.negotiated.encr, choice.negotiated.integ)!;
  const seed = skeyseed(prf, nonce.nonce, nr, gir);
  const keys = deriveIkeKeys(prf, seed, nonce.nonce, nr, header.ispi, rspi, {
    integKeyLength: protector.integKeyLength,
    encKeyLength: protector.encKeyLength,
  });
  gir.fill(0);
  seed.fill(0);

  const natSources = allOf(payloads, 'notify').filter((n) => n.notify === NotifyType.NAT_DETECTION_SOURCE_IP).map((n) => n.data);
  const natDest = findNotify(payloads, NotifyType.NAT_DETECTION_DESTINATION_IP)?.data;
  const nat = detectNat(header.ispi, new Uint8Array(8), natSources, natDest, d.remote, d.local);
  const peerFrag = findNotify(payloads, NotifyType.IKEV2_FRAGMENTATION_SUPPORTED) !== undefined;
  const hashAlgs = findNotify(payloads, NotifyType.SIGNATURE_HASH_ALGORITHMS);
  const fragmentation = candidates.some((c) => c.fragmentation !== 'no');
  const signatureAuth = candidates.some((c) => c.local.some((r) => r.auth === 'pubkey') || c.remote.some((r) => r.auth === 'pubkey'));
  const remoteCerts = candidates.some((c) => c.remote.some((r) => r.auth === 'pubkey' || r.auth === 'eap-tls') && c.sendCertreq);

  const response: Payload[] = [
    { kind: 'sa', critical: false, proposals: [choice.chosen] },
    { kind: 'ke', critical: false, group: group.id, data: kex.publicValue },
    { kind: 'nonce', critical: false, nonce: nr },
  ];
  if (nat.supported) {
    // Our own view of the addresses; the peer compares them with what it sees (RFC 7296 §2.23).
    // Forced encapsulation (encap = yes) fakes a mismatching source hash, as strongSwan does.
    const forceEncap = choice.conn.encap || ctx.ports.dataplane.requiresUdpEncapsulation === true;
    const src = forceEncap ? ctx.ports.rng.bytes(20) : natHash(header.ispi, rspi, d.local);
    response.push(notify(NotifyType.NAT_DETECTION_SOURCE_IP, src));
    response.push(notify(NotifyType.NAT_DETECTION_DESTINATION_IP, natHash(header.ispi, rspi, d.remote)));
  }
  if (peerFrag && fragmentation) response.push(notify(NotifyType.IKEV2_FRAGMENTATION_SUPPORTED));
  // RFC 6023: we accept an IKE_AUTH without SA/TSi/TSr (no CHILD_SA), so say so when asked.
  if (findNotify(payloads, NotifyType.CHILDLESS_IKEV2_SUPPORTED)) response.push(notify(NotifyType.CHILDLESS_IKEV2_SUPPORTED));
  if (hashAlgs && signatureAuth) response.push(notify(NotifyType.SIGNATURE_HASH_ALGORITHMS, u16List(OUR_HASH_ALGORITHMS)));
  if (remoteCerts) {
    const ids = ctx.ports.credentials.caKeyIds();
    if (ids.length > 0) response.push({ kind: 'certreq', critical: false, encoding: CertEncoding.X509_SIGNATURE, data: concat(...ids) });
  }

  const responseHeader = {
    ispi: header.ispi,
    rspi,
    majorVersion: IKE_MAJOR_VERSION,
    minorVersion: 0,
    exchange: ExchangeType.IKE_SA_INIT,
    flags: HeaderFlag.RESPONSE,
    messageId: 0,
  };
  const bytes = encodeMessage(responseHeader, response);
  const serial = ctx.engine.nextSerial();
  const saLog = ctx.ports.log.child({ ike: `${choice.conn.name}[${serial}]`, ispi: toHex(header.ispi), rspi: toHex(rspi) });
  const ikeSa: IkeSa = {
    id: toHex(rspi),
    label: `${choice.conn.name}[${serial}]`,
    serial,
    ispi: header.ispi.slice(),
    rspi,
    phase: 'half-open',
    local: d.local,
    remote: d.remote,
    natLocal: nat.natLocal,
    natRemote: nat.natRemote || (nat.supported && (choice.conn.encap || ctx.ports.dataplane.requiresUdpEncapsulation === true)),
    // Connections that could still be chosen by identity in IKE_AUTH must accept what was negotiated.
    candidates: candidates.filter((c) => c === choice.conn || selectProposal([choice.chosen], c.ikeProposals, { protocol: 'ike', preferServerOrder: false, requiredKe: choice.negotiated.ke }).ok),
    negotiated: choice.negotiated,
    prf,
    protector,
    keys,
    init: { request: d.bytes.slice(), response: bytes, ni: nonce.nonce.slice(), nr },
    peerSupportsFragmentation: peerFrag && fragmentation,
    ...(hashAlgs ? { peerHashAlgorithms: parseU16List(hashAlgs.data) } : {}),
    peerVendorIds: allOf(payloads, 'vendor').map((v) => v.data.slice()),
    expectedRequestId: 1,
    nextOwnRequestId: 0,
    outbox: [],
    vips: [],
    leases: [],
    children: [],
    createdAt: ctx.ports.clock.now(),
    log: saLog,
    timers: new Map(),
    ivCounter: 0n,
    queue: Promise.resolve(),
  };
  ctx.engine.register(ikeSa);
  saLog.info(
    { proposal: choice.negotiated.text, natLocal: ikeSa.natLocal, natRemote: ikeSa.natRemote },
    `IKE_SA ${ikeSa.label} half-open with ${formatEndpoint(d.remote)}: selected ${choice.negotiated.text}${nat.natRemote ? ', remote host is behind NAT' : ''}${nat.natLocal ? ', local host is behind NAT' : ''}`,
  );
  const timeout = ctx.config.daemon.halfOpenTimeout * 1000;
  ikeSa.timers.set(
    'half-open',
    ctx.ports.clock.setTimer(timeout, () => {
      void ctx.engine.onSa(ikeSa, async () => {
        if (ikeSa.phase !== 'half-open' && ikeSa.phase !== 'authenticating') return;
        const { teardownIkeSa } = await import('./steps/teardown.js');
        await teardownIkeSa(ctx, ikeSa, `not authenticated within ${ctx.config.daemon.halfOpenTimeout}s`);
      });
    }),
  );
  logIkeMessage(saLog, 'sending', responseHeader, response, undefined, d.remote);
  ctx.ports.transport.send({ bytes, local: d.local, remote: d.remote });
}

/**
 * Picks the connection and proposal: the first candidate (in config order) whose IKE proposals
 * accept one of the peer's, requiring the KE payload's group. If proposals match only with
 * another group, the peer is told which one via INVALID_KE_PAYLOAD (RFC 7296 §1.2).
 */
function chooseProposal(candidates: Connection[], offered: Proposal[], keGroup: number): Choice {
  let suggestion: number | undefined;
  const reasons: string[] = [];
  for (const conn of candidates) {
    const r = selectProposal(offered, conn.ikeProposals, { protocol: 'ike', preferServerOrder: conn.preferServerOrder, requiredKe: keGroup });
    if (r.ok) {
      const s = r.suite;
      return {
        conn,
        chosen: r.chosen,
        negotiated: {
          encr: s.encr,
          prf: s.prf!,
          ...(s.integ !== undefined ? { integ: s.integ } : {}),
          ke: s.ke!,
          text: describeProposal(r.chosen),
        },
      };
    }
    reasons.push(`${conn.name}: ${r.reason}`);
    suggestion ??= findKeGroupForInvalidKe(offered, conn.ikeProposals, keGroup, { protocol: 'ike', preferServerOrder: conn.preferServerOrder });
  }
  if (suggestion !== undefined) {
    throw new IkeError(NotifyType.INVALID_KE_PAYLOAD, `KE payload group ${keGroup} not acceptable, requesting group ${suggestion}`, keGroupData(suggestion));
  }
  throw new IkeError(NotifyType.NO_PROPOSAL_CHOSEN, `no acceptable proposal: offered ${offered.map(describeProposal).join(', ')}; ${reasons.join('; ')}`);
}

