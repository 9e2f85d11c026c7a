// Which payloads each exchange may carry, how often, and whether inside SK (RFC 7296 §1.2–1.5,
// §2.6; RFC 7383 §2.5; RFC 4555 §3; RFC 9242 §3). The idea is strongSwan message.c's
// payload_rule tables: one table checked once, before any exchange code runs, instead of
// "if (!payload) fail" scattered through the exchanges.
import { ExchangeType, NotifyType, exchangeName, isErrorNotify, payloadName } from '../constants.js';
import { IkeError } from '../errors.js';
import { typeOfKind } from './message.js';
import type { Payload, PayloadKind } from './payload.js';

/** Per-message limits (strongSwan's MAX_*_PAYLOADS): a cap on work done for one message. */
export const MAX_NOTIFY = 20;
export const MAX_DELETE = 20;
export const MAX_CERT = 8;
export const MAX_CERTREQ = 20;
export const MAX_VID = 20;

/** Kinds a rule can name: SK/SKF are the envelope, unknowns are never ruled on. */
export type RuledKind = Exclude<PayloadKind, 'sk' | 'skf' | 'unknown'>;

export interface PayloadRule {
  kind: RuledKind;
  min: number;
  max: number;
  /** Must travel inside SK/SKF. */
  encrypted: boolean;
  /**
   * A payload of this kind makes the message complete: the other rules' minimums no longer
   * apply (e.g. an error notify alone is a full response). A predicate narrows which ones.
   */
  sufficient?: boolean | ((p: Payload) => boolean);
}

export type RuleExchange = 'IKE_SA_INIT' | 'IKE_AUTH' | 'CREATE_CHILD_SA' | 'INFORMATIONAL' | 'IKE_INTERMEDIATE';
export type RuleKey = `${RuleExchange}/${'request' | 'response'}`;

/** IANA-style names in error messages: "KE missing", "IDi must be encrypted". */
const kindLabel = (kind: Exclude<PayloadKind, 'unknown'>): string => payloadName(typeOfKind(kind));

const isErrorNotifyPayload = (p: Payload): boolean => p.kind === 'notify' && isErrorNotify(p.notify);
// An IKE_SA_INIT response may be just N(COOKIE) (§2.6) or just an error such as
// N(INVALID_KE_PAYLOAD) or N(NO_PROPOSAL_CHOSEN) (§1.2).
const isErrorOrCookie = (p: Payload): boolean =>
  p.kind === 'notify' && (isErrorNotify(p.notify) || p.notify === NotifyType.COOKIE);

const rule = (
  kind: RuledKind,
  min: number,
  max: number,
  encrypted: boolean,
  sufficient?: PayloadRule['sufficient'],
): PayloadRule => (sufficient === undefined ? { kind, min, max, encrypted } : { kind, min, max, encrypted, sufficient });

const E = true; // inside SK
const C = false; // in the clear

export const RULES: Readonly<Record<RuleKey, readonly PayloadRule[]>> = {
  // HDR, SAi1, KEi, Ni [, N(COOKIE)] [, N(NAT_DETECTION_*)] [, V+] -->   (§1.2, §2.6, §2.23)
  'IKE_SA_INIT/request': [
    rule('notify', 0, MAX_NOTIFY, C),
    rule('sa', 1, 1, C),
    rule('ke', 1, 1, C),
    rule('nonce', 1, 1, C),
    rule('vendor', 0, MAX_VID, C),
  ],
  // <-- HDR, SAr1, KEr, Nr, [CERTREQ] | HDR, N(COOKIE) | HDR, N(error)
  'IKE_SA_INIT/response': [
    rule('notify', 0, MAX_NOTIFY, C, isErrorOrCookie),
    rule('sa', 1, 1, C),
    rule('ke', 1, 1, C),
    rule('nonce', 1, 1, C),
    rule('certreq', 0, MAX_CERTREQ, C),
    rule('vendor', 0, MAX_VID, C),
  ],
  // HDR, SK { IDi, [CERT+,] [CERTREQ+,] [IDr,] [AUTH,] [EAP,] [CP,] [SAi2, TSi, TSr,] N*, V* }
  // Later EAP rounds carry only EAP, the last one only AUTH (§2.16): both are sufficient.
  // That IDi is present in the *first* IKE_AUTH request is for the exchange to check.
  'IKE_AUTH/request': [
    rule('notify', 0, MAX_NOTIFY, E),
    rule('eap', 0, 1, E, true),
    rule('auth', 0, 1, E, true),
    rule('idi', 1, 1, E),
    rule('cert', 0, MAX_CERT, E),
    rule('certreq', 0, MAX_CERTREQ, E),
    rule('idr', 0, 1, E),
    rule('sa', 0, 1, E),
    rule('tsi', 0, 1, E),
    rule('tsr', 0, 1, E),
    rule('cp', 0, 1, E),
    rule('vendor', 0, MAX_VID, E),
  ],
  // <-- HDR, SK { IDr, [CERT+,] AUTH, [EAP,] [CP,] [SAr2, TSi, TSr,] N* } | SK { EAP } |
  //     SK { AUTH, ... } | SK { N(error) }
  'IKE_AUTH/response': [
    rule('notify', 0, MAX_NOTIFY, E, isErrorNotifyPayload),
    rule('eap', 0, 1, E, true),
    rule('auth', 0, 1, E, true),
    rule('idr', 1, 1, E),
    rule('cert', 0, MAX_CERT, E),
    rule('sa', 0, 1, E),
    rule('tsi', 0, 1, E),
    rule('tsr', 0, 1, E),
    rule('cp', 0, 1, E),
    rule('vendor', 0, MAX_VID, E),
  ],
  // HDR, SK { [N(REKEY_SA)], SA, Ni, [KEi], [TSi, TSr] } -->   (§1.3.1–1.3.3)
  'CREATE_CHILD_SA/request': [
    rule('notify', 0, MAX_NOTIFY, E),
    rule('sa', 1, 1, E),
    rule('nonce', 1, 1, E),
    rule('ke', 0, 1, E),
    rule('tsi', 0, 1, E),
    rule('tsr', 0, 1, E),
    rule('cp', 0, 1, E),
    rule('vendor', 0, MAX_VID, E),
  ],
  // <-- HDR, SK { SA, Nr, [KEr], [TSi, TSr] } | SK { N(error) }   (§1.3, §2.7)
  'CREATE_CHILD_SA/response': [
    rule('notify', 0, MAX_NOTIFY, E, isErrorNotifyPayload),
    rule('sa', 1, 1, E),
    rule('nonce', 1, 1, E),
    rule('ke', 0, 1, E),
    rule('tsi', 0, 1, E),
    rule('tsr', 0, 1, E),
    rule('cp', 0, 1, E),
    rule('vendor', 0, MAX_VID, E),
  ],
  // HDR, SK { [N,] [D,] [CP,] ... } <--> (§1.4, §1.5; MOBIKE updates are notifies, RFC 4555)
  'INFORMATIONAL/request': [
    rule('notify', 0, MAX_NOTIFY, E),
    rule('delete', 0, MAX_DELETE, E),
    rule('cp', 0, 1, E),
    rule('vendor', 0, MAX_VID, E),
  ],
  'INFORMATIONAL/response': [
    rule('notify', 0, MAX_NOTIFY, E),
    rule('delete', 0, MAX_DELETE, E),
    rule('cp', 0, 1, E),
    rule('vendor', 0, MAX_VID, E),
  ],
  // RFC 9242 §3: protected like IKE_AUTH; content defined by extensions (additional KEs).
  'IKE_INTERMEDIATE/request': [rule('notify', 0, MAX_NOTIFY, E), rule('ke', 0, 1, E)],
  'IKE_INTERMEDIATE/response': [rule('notify', 0, MAX_NOTIFY, E, isErrorNotifyPayload), rule('ke', 0, 1, E)],
};

const RULE_EXCHANGES: ReadonlyMap<number, RuleExchange> = new Map([
  [ExchangeType.IKE_SA_INIT, 'IKE_SA_INIT'],
  [ExchangeType.IKE_AUTH, 'IKE_AUTH'],
  [ExchangeType.CREATE_CHILD_SA, 'CREATE_CHILD_SA'],
  [ExchangeType.INFORMATIONAL, 'INFORMATIONAL'],
  [ExchangeType.IKE_INTERMEDIATE, 'IKE_INTERMEDIATE'],
]);

/** The rules for an exchange type number, or undefined for exchanges we have no table for. */
export function rulesFor(exchange: number, response: boolean): readonly PayloadRule[] | undefined {
  const name = RULE_EXCHANGES.get(exchange);
  return name ? RULES[`${name}/${response ? 'response' : 'request'}`] : undefined;
}

/**
 * Checks a message's payloads against its table; throws IkeError(INVALID_SYNTAX) naming the
 * first problem. `outer` are the clear payloads, `inner` the decrypted ones. For protected
 * exchanges, calling it with `inner` undefined checks only the clear part (useful before
 * decryption or reassembly); counts and minimums are checked once `inner` is given.
 * Unknown payloads are ignored here: see firstCriticalUnknown().
 */
export function checkRules(exchange: number, response: boolean, outer: readonly Payload[], inner: readonly Payload[] | undefined): void {
  const label = `${exchangeName(exchange)} ${response ? 'response' : 'request'}`;
  const fail = (why: string): never => {
    throw new IkeError(NotifyType.INVALID_SYNTAX, `${label}: ${why}`);
  };
  const rules = rulesFor(exchange, response);
  if (!rules) return fail('no payload rules for this exchange');
  const ruleOf = (kind: PayloadKind): PayloadRule | undefined => rules.find((r) => r.kind === kind);
  // IKE_SA_INIT is the only exchange in the clear; every other one travels inside SK (§1.2).
  const isProtected = rules.every((r) => r.encrypted);

  for (const p of outer) {
    if (p.kind === 'sk' || p.kind === 'skf' || p.kind === 'unknown') continue;
    const r = ruleOf(p.kind);
    if (!r) fail(`${kindLabel(p.kind)} not allowed`);
    else if (r.encrypted) fail(`${kindLabel(p.kind)} must be encrypted`);
  }
  const envelopes = outer.filter((p) => p.kind === 'sk' || p.kind === 'skf');
  if (!isProtected && envelopes[0]) fail(`${kindLabel(envelopes[0].kind)} not allowed`);
  if (isProtected && envelopes.length === 0) fail('SK payload missing');
  if (envelopes.length > 1) fail('more than one SK/SKF payload');
  if (isProtected && inner === undefined) return;

  for (const p of inner ?? []) {
    if (p.kind === 'unknown') continue;
    if (p.kind === 'sk' || p.kind === 'skf') fail(`${kindLabel(p.kind)} inside an encrypted payload`);
    else if (!ruleOf(p.kind)) fail(`${kindLabel(p.kind)} not allowed`);
  }

  const all = [...outer, ...(inner ?? [])];
  let complete = false;
  for (const p of all) {
    const r = p.kind === 'unknown' ? undefined : ruleOf(p.kind);
    if (!r?.sufficient) continue;
    if (r.sufficient === true || r.sufficient(p)) complete = true;
  }
  for (const r of rules) {
    const found = all.filter((p) => p.kind === r.kind).length;
    const name = kindLabel(r.kind);
    if (found > r.max) fail(`${found} ${name} payloads, at most ${r.max} allowed`);
    if (!complete && found < r.min) fail(r.min === 1 ? `${name} missing` : `${found} ${name} payloads, at least ${r.min} needed`);
  }
}

/**
 * The type of the first unknown payload with the Critical bit set, or undefined. Such a
 * message is rejected with UNSUPPORTED_CRITICAL_PAYLOAD carrying this type (RFC 7296 §2.5);
 * unknown payloads without the bit are skipped.
 */
export function firstCriticalUnknown(payloads: readonly Payload[]): number | undefined {
  for (const p of payloads) if (p.kind === 'unknown' && p.critical) return p.type;
  return undefined;
}
