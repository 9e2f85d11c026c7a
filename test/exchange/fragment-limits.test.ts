// Bounds of RFC 7383 reassembly: Windows fragments IKE_AUTH into datagrams as small as 626
// bytes (field facts §2.1.8), so at least 32 fragments per message must reassemble; memory held
// in partial reassemblies is bounded per SA and, across all SAs, by a global budget that drops
// the oldest reassembly when exceeded.
import { describe, expect, it } from 'vitest';
import { ReassemblyBudget, MAX_GLOBAL_REASSEMBLY_BYTES, type Reassembly } from '../../src/ike/protect/fragments.js';
import { endpoint } from '../../src/net/endpoint.js';
import { PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator, type AuthOptions } from '../helpers/initiator.js';

/** A large vendor ID payload makes IKE_AUTH as big as a certificate chain would. */
const bulk = (bytes: number): AuthOptions['extraInner'] => [{ kind: 'vendor', critical: false, data: new Uint8Array(bytes).fill(0x5a) }];
const ALICE: AuthOptions = { id: '@client.example.com', psk: PSK };

describe('fragment count', () => {
  it('an IKE_AUTH in 40 fragments of at most 598 bytes (626-byte IP datagrams) is reassembled', async () => {
    const gw = makeGateway(pskConfig());
    const client = new TestInitiator(gw, { fragmentation: true });
    await client.init();
    // HDR, SKF(1/40) { IDi, AUTH, ..., V }  -->  …  HDR, SKF(40/40) {}  -->
    const fragments = client.authRequest({ ...ALICE, extraInner: bulk(21_000), fragmentSize: 598 });
    expect(fragments.length).toBe(40);
    for (const f of fragments) expect(f.length).toBeLessThanOrEqual(598);
    const answers: Uint8Array[] = [];
    for (const f of fragments) answers.push(...(await client.transmit(f)));
    expect(client.handleAuthResponse(answers).ok).toBe(true);
    expect(gw.engine.reassemblyBudget.bytes).toBe(0);
  });
});

describe('global reassembly bound', () => {
  const part = (bytes: number): Reassembly => ({ messageId: 1, total: 2, firstInner: 35, bytes, parts: [new Uint8Array(bytes), undefined] });

  it('defaults to 8 MiB', () => {
    expect(new ReassemblyBudget().limit).toBe(MAX_GLOBAL_REASSEMBLY_BYTES);
    expect(MAX_GLOBAL_REASSEMBLY_BYTES).toBe(8 * 1024 * 1024);
  });

  it('drops the oldest reassemblies when the total is exceeded, never the one just updated', () => {
    const budget = new ReassemblyBudget(100);
    const evicted: string[] = [];
    const a = part(40);
    budget.update('a', a, () => evicted.push('a'));
    budget.update('b', part(40), () => evicted.push('b'));
    // a grows in place: it keeps its age.
    a.bytes = 50;
    budget.update('a', a, () => evicted.push('a'));
    expect(budget.bytes).toBe(90);
    budget.update('c', part(30), () => evicted.push('c'));
    expect(evicted).toEqual(['a']);
    expect(budget.bytes).toBe(70);
    budget.update('b', undefined, () => undefined);
    expect(budget.bytes).toBe(30);
    budget.release('c');
    expect(budget.bytes).toBe(0);
  });

  it('in the engine: a peer starting a reassembly beyond the limit pushes out the oldest peer\'s partial message', async () => {
    const gw = makeGateway(pskConfig());
    (gw.engine as { reassemblyBudget: ReassemblyBudget }).reassemblyBudget = new ReassemblyBudget(30_000);
    const peers = [0, 1, 2].map((i) => new TestInitiator(gw, { fragmentation: true, local: endpoint(`198.51.100.${20 + i}`, 500) }));
    const pending: Uint8Array[][] = [];
    for (const p of peers) {
      await p.init();
      const fragments = p.authRequest({ ...ALICE, extraInner: bulk(14_000), fragmentSize: 1000 });
      // All but the last fragment: a partial message of ~14 KB held for this SA.
      for (const f of fragments.slice(0, -1)) expect(await p.transmit(f)).toEqual([]);
      pending.push(fragments);
    }
    expect(gw.engine.reassemblyBudget.bytes).toBeLessThanOrEqual(30_000);
    expect(gw.logs.some((l) => l.msg.includes('global reassembly limit reached'))).toBe(true);
    // The oldest (peer 0) lost its partial message: its last fragment completes nothing.
    expect(await peers[0]!.transmit(pending[0]!.at(-1)!)).toEqual([]);
    // The youngest completes normally.
    const answers = await peers[2]!.transmit(pending[2]!.at(-1)!);
    expect(peers[2]!.handleAuthResponse(answers).ok).toBe(true);
    // Peer 0 retransmits the whole message and gets through.
    const again: Uint8Array[] = [];
    for (const f of pending[0]!) again.push(...(await peers[0]!.transmit(f)));
    expect(peers[0]!.handleAuthResponse(again).ok).toBe(true);
  });
});
