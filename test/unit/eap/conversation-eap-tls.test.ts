// How EapConversation runs 'eap-tls': it builds the method through createEapTlsServer(opts,
// identity, rng) from src/eap/tls/eap-tls.ts (mocked here with a scripted method, so this file
// tests the wiring and the round limit, not TLS), and it bounds a method that never finishes.
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { EapCode, EapType } from '../../../src/ike/constants.js';
import type { EapServerMethod } from '../../../src/eap/method.js';
import type { EapPacket } from '../../../src/eap/packet.js';

const script = vi.hoisted(() => ({ mode: 'forever' as 'forever' | 'success', calls: [] as unknown[][] }));

vi.mock('../../../src/eap/tls/eap-tls.js', () => ({
  createEapTlsServer: (...args: unknown[]): EapServerMethod => {
    script.calls.push(args);
    let rounds = 0;
    const req = (identifier: number): EapPacket => ({ code: 1, identifier, type: 13, data: Uint8Array.of(0x20) });
    return {
      type: 13,
      name: 'EAP-TLS',
      start: (id) => req(id),
      process: async (r) => {
        rounds++;
        if (script.mode === 'success' && rounds === 2) return { kind: 'success', msk: new Uint8Array(64).fill(7), identity: 'CN=alice' };
        return { kind: 'request', packet: req(r.identifier + 1) };
      },
    };
  },
}));

const { EapConversation, EAP_MAX_ROUNDS } = await import('../../../src/eap/conversation.js');
const { decodeEap, encodeEap } = await import('../../../src/eap/packet.js');
const { seededRng } = await import('../../../src/crypto/random.js');
const { silentLogger } = await import('../../../src/log/logger.js');
const { utf8 } = await import('../../../src/crypto/bytes.js');

const tls = { certChainPem: 'pem', keyPem: 'key', caPem: ['ca'], verifyPeer: async () => ({ ok: true as const, subject: 'CN=alice' }) };
const rng = seededRng('tls-wiring');

function conv(withTls = true) {
  return new EapConversation({ methods: ['eap-tls', 'eap-mschapv2'], ikeIdentity: 'ike', secretFor: () => undefined, ...(withTls ? { tls } : {}), rng, log: silentLogger() });
}

const answer = (req: Uint8Array, type: number, data: Uint8Array): Uint8Array =>
  encodeEap({ code: EapCode.RESPONSE, identifier: decodeEap(req).identifier, type, data });

beforeEach(() => {
  script.calls.length = 0;
});

describe('EAP-TLS wiring', () => {
  it('creates the method with (deps.tls, EAP identity, rng) and returns its MSK on success', async () => {
    script.mode = 'success';
    const c = conv();
    let out = await c.process(answer(c.start(), EapType.IDENTITY, utf8('alice@example.com')));
    expect(script.calls).toEqual([[tls, 'alice@example.com', rng]]);
    if (out.kind !== 'continue') throw new Error('expected EAP/REQ/TLS');
    expect(decodeEap(out.packet).type).toBe(EapType.TLS);
    out = await c.process(answer(out.packet, EapType.TLS, Uint8Array.of(0)));
    if (out.kind !== 'continue') throw new Error('expected another EAP/REQ/TLS');
    out = await c.process(answer(out.packet, EapType.TLS, Uint8Array.of(0)));
    expect(out.kind).toBe('success');
    if (out.kind !== 'success') return;
    expect(out.method).toBe('eap-tls');
    expect(out.identity).toBe('CN=alice');
    expect(out.msk).toEqual(new Uint8Array(64).fill(7));
  });

  it(`stops a method that never ends after ${EAP_MAX_ROUNDS} requests`, async () => {
    script.mode = 'forever';
    const c = conv();
    let packet = c.start();
    let sent = 1;
    let out = await c.process(answer(packet, EapType.IDENTITY, utf8('alice')));
    while (out.kind === 'continue') {
      sent++;
      packet = out.packet;
      out = await c.process(answer(packet, EapType.TLS, Uint8Array.of(0)));
    }
    expect(sent).toBe(EAP_MAX_ROUNDS);
    expect(out.kind).toBe('failure');
    if (out.kind === 'failure') expect(out.reason).toMatch(/exceeded 50 rounds/);
    expect(decodeEap(out.packet).code).toBe(EapCode.FAILURE);
  });

  it('eap-tls allowed without TLS options is a failure with a configuration reason', async () => {
    const c = conv(false);
    const out = await c.process(answer(c.start(), EapType.IDENTITY, utf8('alice')));
    expect(out.kind).toBe('failure');
    if (out.kind === 'failure') expect(out.reason).toMatch(/no TLS options/);
    expect(script.calls).toEqual([]);
  });
});
