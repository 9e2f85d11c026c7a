// Dead peer detection (RFC 7296 §2.4) with a manual clock: after `dpd_delay` without anything
// from the peer the gateway sends an empty INFORMATIONAL request; it retransmits on the
// `ikegate { retransmit_timeout, retransmit_tries, retransmit_base }` schedule, and when every
// try goes unanswered the SA, its leases and its dataplane state are removed (dpd_action = clear)
// or kept (dpd_action = none).
import { describe, expect, it } from 'vitest';
import { PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator } from '../helpers/initiator.js';
import { deliver, gatewayRequests, sealResponse } from '../helpers/peer-requests.js';

// Retransmits after 1 s and 1 + 2 = 3 s; gives up at 3 + 4 = 7 s after the first request.
const SCHEDULE = 'retransmit_timeout = 1\nretransmit_tries = 2\nretransmit_base = 2';

async function established(o: { dpdAction?: 'clear' | 'none' } = {}) {
  const gw = makeGateway(pskConfig({ extra: 'dpd_delay = 30s', ikegate: SCHEDULE }), undefined, {
    tweak: (c) => {
      for (const child of c.connections[0]!.children) child.dpdAction = o.dpdAction ?? 'clear';
    },
  });
  const client = new TestInitiator(gw);
  await client.connect({ id: '@client.example.com', psk: PSK });
  gw.transport.take();
  return { gw, client };
}

async function advance(gw: ReturnType<typeof makeGateway>, ms: number): Promise<void> {
  // One second at a time, letting the SA queue run between timers (they chain through it).
  for (let t = 0; t < ms; t += 1000) {
    gw.clock.advance(Math.min(1000, ms - t));
    await gw.settle();
  }
}

describe('dead peer detection', () => {
  it('nothing is sent before dpd_delay; then HDR, SK {} and an answering peer keeps its SA', async () => {
    const { gw, client } = await established();
    await advance(gw, 29_000);
    expect(gatewayRequests(gw, client)).toEqual([]);
    await advance(gw, 2_000);
    // <--  HDR, SK {}   (message ID 0: the gateway's first own request)
    const [req] = gatewayRequests(gw, client);
    expect(req).toBeDefined();
    expect(req!.inner).toEqual([]);
    expect(req!.header.messageId).toBe(0);
    // HDR, SK {}  -->   (the client's response)
    await deliver(gw, sealResponse(client, req!.header, []), client.local);
    await advance(gw, 10_000);
    expect(gw.engine.listSas()).toHaveLength(1);
    expect(gatewayRequests(gw, client)).toEqual([]); // no retransmits after the answer
    // The next check comes dpd_delay after the answer, with the next message ID.
    await advance(gw, 25_000);
    const [next] = gatewayRequests(gw, client);
    expect(next?.header.messageId).toBe(1);
  });

  it('a silent peer is removed after the retransmission schedule: SA, leases and dataplane state', async () => {
    const { gw, client } = await established();
    expect(gw.dataplane.sas.size).toBe(2);
    await advance(gw, 30_000);
    expect(gatewayRequests(gw, client)).toHaveLength(1); // the check
    await advance(gw, 1_000);
    expect(gatewayRequests(gw, client)).toHaveLength(1); // retransmit 1
    await advance(gw, 2_000);
    expect(gatewayRequests(gw, client)).toHaveLength(1); // retransmit 2
    await advance(gw, 3_000);
    expect(gw.engine.listSas()).toHaveLength(1); // still waiting for the last answer
    await advance(gw, 1_000);
    expect(gw.engine.listSas()).toEqual([]);
    expect(gw.dataplane.sas.size).toBe(0);
    expect(gw.dataplane.policies.size).toBe(0);
    expect(gw.pools.list().every((l) => !l.online)).toBe(true);
    expect(gw.events.down.map((d) => d.reason)).toEqual(['dead peer detected']);
    expect(gw.errors()).toEqual([]);
  });

  it('dpd_action = none keeps the SA of a silent peer and keeps checking', async () => {
    const { gw, client } = await established({ dpdAction: 'none' });
    await advance(gw, 40_000);
    expect(gw.engine.listSas()).toHaveLength(1);
    expect(gw.dataplane.sas.size).toBe(2);
    expect(gw.logs.some((l) => l.msg.includes('dpd_action = none keeps its SAs'))).toBe(true);
    gatewayRequests(gw, client);
    await advance(gw, 31_000);
    expect(gatewayRequests(gw, client).length).toBeGreaterThanOrEqual(1);
  });

  it('traffic from the peer postpones the check', async () => {
    const { gw, client } = await established();
    await advance(gw, 20_000);
    // HDR, SK {}  -->  <--  HDR, SK {}   (the client's own liveness check counts as traffic)
    expect(await client.informational([])).toBeDefined();
    gw.transport.take();
    await advance(gw, 15_000); // 35 s after establishment, 15 s after the peer's message
    expect(gatewayRequests(gw, client)).toEqual([]);
    await advance(gw, 15_000); // dpd_delay after the peer's message
    expect(gatewayRequests(gw, client)).toHaveLength(1);
  });
});
