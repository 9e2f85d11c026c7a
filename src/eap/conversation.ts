// The EAP authenticator for one IKE_SA (RFC 7296 §2.16 with RFC 3748 §2 as the "EAP server"):
// the Identity round (RFC 3748 §5.1), then one method at a time, switching on a Legacy Nak
// (§5.3.1), ending with EAP-Success or EAP-Failure (§4.2). Bytes in, bytes out; the IKE side
// puts them in EAP payloads. Never throws on peer input: every problem is a failure outcome.
//
//   start()           → EAP-Request/Identity        (Windows needs it: field-facts.md §2.1.3)
//   Response/Identity → first allowed method's Request (empty identity → the IKE identity,
//                       as strongSwan 6.0.3 does; field-facts.md §3 item 1)
//   Response/<method> → method Request | EAP-Success (+MSK) | EAP-Failure
//   Response/Nak      → Request of the next allowed method the peer names, each at most once
//
// Identifiers: the conversation numbers every Request (random start, +1 per Request, mod 256)
// and accepts only a Response with the outstanding Identifier. EAP-Success/Failure carry the
// Identifier of the Response they answer (RFC 3748 §4.2).
import { EapCode, EapType } from '../ike/constants.js';
import type { Rng } from '../crypto/random.js';
import type { Logger } from '../log/logger.js';
import { EapError, decodeEap, describeEap, encodeEap, type EapPacket } from './packet.js';
import type { EapServerMethod } from './method.js';
import { identityRequest, parseIdentity } from './identity.js';
import { createMsChapV2Server } from './mschapv2/mschapv2.js';
import { createMd5Server } from './md5.js';
// Type only: the EAP-TLS module (and its TLS stack) is loaded on first use, see createMethod().
import type { EapTlsOptions } from './tls/eap-tls.js';

export type EapMethodName = 'eap-mschapv2' | 'eap-tls' | 'eap-md5';

export interface EapSecret {
  password?: Uint8Array;
  ntHash?: Uint8Array;
}

export interface EapServerDeps {
  /** Methods allowed, in our order of preference (eap-dynamic = several). */
  methods: EapMethodName[];
  /** The IKE identity text (IDi), used when the client answers EAP-Identity with an empty identity. */
  ikeIdentity: string;
  /** Only these EAP identities are allowed ('%any' = any), strongSwan `eap_id`. */
  eapIdPattern?: (identity: string) => boolean;
  /** undefined = unknown user. */
  secretFor(identity: string): EapSecret | undefined;
  /** Needed when 'eap-tls' is allowed. */
  tls?: EapTlsOptions;
  /** DOMAIN\user handling: when set, the domain part must equal it (case-insensitive). */
  mschapv2?: { requireDomain?: string };
  rng: Rng;
  log: Logger;
}

export type EapOutcome =
  /** The next EAP Request to send. */
  | { kind: 'continue'; packet: Uint8Array }
  /** packet = EAP-Success; method = the EapMethodName that succeeded. */
  | { kind: 'success'; packet: Uint8Array; msk?: Uint8Array; identity: string; method: string }
  /** packet = EAP-Failure; reason is for the log only. */
  | { kind: 'failure'; packet: Uint8Array; reason: string; identity?: string; method?: string };

/** Requests one conversation may send before it gives up (EAP-TLS with a long chain needs ~15). */
export const EAP_MAX_ROUNDS = 50;

export const EAP_METHOD_TYPES: Readonly<Record<EapMethodName, number>> = {
  'eap-mschapv2': EapType.MSCHAPV2,
  'eap-tls': EapType.TLS,
  'eap-md5': EapType.MD5,
};

interface ActiveMethod {
  name: EapMethodName;
  impl: EapServerMethod;
  /** True until the method has processed a Response: only then may the peer Nak it (§5.3.1). */
  fresh: boolean;
}

type Phase = 'new' | 'identity' | 'method' | 'done';

export class EapConversation {
  private phase: Phase = 'new';
  /** Identifier of the outstanding Request. */
  private identifier = 0;
  private rounds = 0;
  private identity: string | undefined;
  private method: ActiveMethod | undefined;
  private readonly tried = new Set<EapMethodName>();
  private busy = false;

  constructor(private readonly deps: EapServerDeps) {}

  /** The first EAP Request: always EAP-Identity (Windows needs it, field-facts §2.1.3). */
  start(): Uint8Array {
    if (this.phase !== 'new') throw new Error('EapConversation.start() called twice');
    this.phase = 'identity';
    this.identifier = this.deps.rng.bytes(1)[0]!;
    this.rounds = 1;
    const packet = identityRequest(this.identifier);
    this.deps.log.debug({ eap: describeEap(packet), id: this.identifier }, 'EAP request');
    return encodeEap(packet);
  }

  /** One EAP Response from the client (the EAP payload's bytes). */
  async process(response: Uint8Array): Promise<EapOutcome> {
    if (this.phase === 'new') return this.failure('EAP response before the conversation started');
    if (this.phase === 'done') return this.failure('EAP response after the conversation ended');
    if (this.busy) return this.failure('EAP response while the previous one is still being processed');
    this.busy = true;
    try {
      return await this.step(response);
    } catch (e) {
      // A method bug or a missing primitive (e.g. no 3DES): fail this SA, never the caller.
      const reason = `EAP method error: ${e instanceof Error ? e.message : String(e)}`;
      this.deps.log.error({ err: e, method: this.method?.name }, 'EAP method threw');
      return this.failure(reason);
    } finally {
      this.busy = false;
    }
  }

  private async step(bytes: Uint8Array): Promise<EapOutcome> {
    let p: EapPacket;
    try {
      p = decodeEap(bytes);
    } catch (e) {
      if (e instanceof EapError) return this.failure(`malformed EAP: ${e.message}`);
      throw e;
    }
    this.deps.log.debug({ eap: describeEap(p), id: p.identifier }, 'EAP response');
    if (p.code !== EapCode.RESPONSE) return this.failure(`expected an EAP Response, got ${describeEap(p)}`);
    if (p.identifier !== this.identifier) return this.failure(`identifier mismatch: got ${p.identifier}, expected ${this.identifier}`);

    if (this.phase === 'identity') {
      if (p.type !== EapType.IDENTITY) return this.failure(`expected EAP/RES/ID, got ${describeEap(p)}`);
      return this.onIdentity(p);
    }

    const m = this.method;
    if (!m) return this.failure('no EAP method in progress');
    if (p.type === EapType.NAK) return this.onNak(m, p);
    if (p.type !== m.impl.type) return this.failure(`expected a ${m.impl.name} response, got ${describeEap(p)}`);
    m.fresh = false;
    const step = await m.impl.process(p);
    switch (step.kind) {
      case 'request':
        return this.request(step.packet);
      case 'success':
        return this.success(m, step.identity, step.msk);
      case 'failure':
        return this.failure(step.reason);
    }
  }

  private async onIdentity(p: EapPacket): Promise<EapOutcome> {
    let identity = parseIdentity(p.data);
    if (identity === '') {
      identity = this.deps.ikeIdentity;
      this.deps.log.info({ identity }, 'empty EAP identity, using the IKE identity');
    }
    this.identity = identity;
    if (this.deps.eapIdPattern && !this.deps.eapIdPattern(identity)) return this.failure(`EAP identity '${identity}' is not allowed`);
    this.deps.log.info({ identity }, 'received EAP identity');
    const first = this.deps.methods[0];
    if (first === undefined) return this.failure('no EAP method allowed');
    this.phase = 'method';
    return this.startMethod(first);
  }

  private async onNak(current: ActiveMethod, p: EapPacket): Promise<EapOutcome> {
    if (!current.fresh) return this.failure(`Nak after ${current.impl.name} had begun`);
    const desired = [...p.data];
    const next = this.deps.methods.find((name) => !this.tried.has(name) && desired.includes(EAP_METHOD_TYPES[name]));
    if (next === undefined) {
      const wants = desired.length === 0 || (desired.length === 1 && desired[0] === 0) ? 'none' : desired.join(',');
      return this.failure(`peer refused ${current.impl.name} and proposes EAP types [${wants}], none of them allowed or untried`);
    }
    this.deps.log.info({ refused: current.name, next }, 'peer sent Nak, switching EAP method');
    current.impl.close?.();
    this.method = undefined;
    return this.startMethod(next);
  }

  private async startMethod(name: EapMethodName): Promise<EapOutcome> {
    this.tried.add(name);
    const impl = await this.createMethod(name);
    if (typeof impl === 'string') return this.failure(impl);
    this.method = { name, impl, fresh: true };
    const id = (this.identifier + 1) & 0xff;
    const first = await impl.start(id);
    this.deps.log.debug({ method: impl.name }, 'starting EAP method');
    return this.request(first);
  }

  /** The method, or the reason it cannot run (a configuration problem). */
  private async createMethod(name: EapMethodName): Promise<EapServerMethod | string> {
    const identity = this.identity ?? this.deps.ikeIdentity;
    const { rng, log } = this.deps;
    switch (name) {
      case 'eap-mschapv2':
        return createMsChapV2Server({ identity, secretFor: (user) => this.deps.secretFor(user), requireDomain: this.deps.mschapv2?.requireDomain, rng, log });
      case 'eap-md5':
        return createMd5Server({ identity, secretFor: (id) => this.deps.secretFor(id), rng, log });
      case 'eap-tls': {
        if (!this.deps.tls) return 'eap-tls is allowed but no TLS options are configured';
        // Loaded lazily so that password-only gateways never load the TLS stack.
        const { createEapTlsServer } = await import('./tls/eap-tls.js');
        return createEapTlsServer(this.deps.tls, identity, rng);
      }
    }
  }

  private request(packet: EapPacket): EapOutcome {
    if (this.rounds >= EAP_MAX_ROUNDS) return this.failure(`EAP conversation exceeded ${EAP_MAX_ROUNDS} rounds`);
    if (packet.code !== EapCode.REQUEST) throw new Error(`EAP method returned ${describeEap(packet)} instead of a Request`);
    this.identifier = (this.identifier + 1) & 0xff;
    this.rounds++;
    const out: EapPacket = { ...packet, identifier: this.identifier };
    this.deps.log.debug({ eap: describeEap(out), id: out.identifier }, 'EAP request');
    return { kind: 'continue', packet: encodeEap(out) };
  }

  private success(m: ActiveMethod, identity: string, msk: Uint8Array | undefined): EapOutcome {
    this.finish();
    this.deps.log.info({ identity, method: m.name, msk: msk !== undefined }, 'EAP authentication succeeded');
    const packet = encodeEap({ code: EapCode.SUCCESS, identifier: this.identifier, data: new Uint8Array(0) });
    return msk === undefined
      ? { kind: 'success', packet, identity, method: m.name }
      : { kind: 'success', packet, msk, identity, method: m.name };
  }

  private failure(reason: string): EapOutcome {
    const method = this.method?.name;
    const identity = this.identity;
    if (this.phase !== 'done') {
      this.finish();
      this.deps.log.info({ identity, method, reason }, 'EAP authentication failed');
    }
    const packet = encodeEap({ code: EapCode.FAILURE, identifier: this.identifier, data: new Uint8Array(0) });
    const out: Extract<EapOutcome, { kind: 'failure' }> = { kind: 'failure', packet, reason };
    if (identity !== undefined) out.identity = identity;
    if (method !== undefined) out.method = method;
    return out;
  }

  /**
   * Ends the conversation from outside, e.g. because its IKE_SA died in the middle of it: the
   * method releases what it holds (EAP-TLS its TLS session, EAP-MSCHAPv2 its keys). Idempotent.
   */
  close(): void {
    if (this.phase !== 'done') this.finish();
  }

  private finish(): void {
    this.phase = 'done';
    this.method?.impl.close?.();
  }
}
