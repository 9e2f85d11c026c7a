// NAT-T keepalives (RFC 3948 §2.3): a single 0xFF byte from UDP 4500 every `keepalive` seconds
// in which nothing else was sent to the peer, when NAT was detected on either side (see
// src/ike/exchanges/keepalive.ts for why the gateway also sends them towards NATed clients).
import * as dgram from 'node:dgram';
import { describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Transport } from '../../src/ike/ports.js';
import { endpoint, type Endpoint } from '../../src/net/endpoint.js';
import { UdpTransport } from '../../src/net/udp.js';
import { PSK, pskConfig } from '../helpers/configs.js';
import { makeGateway } from '../helpers/gateway.js';
import { TestInitiator } from '../helpers/initiator.js';

const GW_NATT = endpoint('192.0.2.1', 4500);
const CLIENT = endpoint('198.51.100.10', 4500);

async function established(o: { nat?: 'correct' | 'wrong-source' | 'wrong-destination'; ikegate?: string } = {}) {
  const gw = makeGateway(pskConfig(o.ikegate ? { ikegate: o.ikegate } : {}), undefined, { address: GW_NATT });
  const keepalives: { at: number; local: Endpoint; remote: Endpoint }[] = [];
  (gw.transport as Transport).sendKeepalive = (local, remote) => void keepalives.push({ at: gw.clock.now(), local, remote });
  const client = new TestInitiator(gw, { local: CLIENT, nat: o.nat ?? 'wrong-source' });
  await client.connect({ id: '@client.example.com', psk: PSK });
  return { gw, client, keepalives, start: gw.clock.now() };
}

async function advance(gw: ReturnType<typeof makeGateway>, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 1000) {
    gw.clock.advance(Math.min(1000, ms - t));
    await gw.settle();
  }
}

describe('NAT-T keepalives', () => {
  it('towards a peer behind NAT: one keepalive per idle interval (default 20 s) from port 4500', async () => {
    const { gw, keepalives, start } = await established();
    await advance(gw, 19_000);
    expect(keepalives).toEqual([]);
    await advance(gw, 1_000);
    expect(keepalives).toEqual([{ at: start + 20_000, local: GW_NATT, remote: CLIENT }]);
    await advance(gw, 40_000);
    expect(keepalives.map((k) => k.at - start)).toEqual([20_000, 40_000, 60_000]);
  });

  it('when the gateway itself is behind NAT (strongSwan\'s condition), too', async () => {
    const { gw, keepalives } = await established({ nat: 'wrong-destination', ikegate: 'keepalive = 10s' });
    expect(gw.engine.listSas()[0]).toMatchObject({ natLocal: true, natRemote: false });
    await advance(gw, 10_000);
    expect(keepalives).toHaveLength(1);
  });

  it('other packets to the peer postpone the keepalive', async () => {
    const { gw, client, keepalives, start } = await established();
    await advance(gw, 15_000);
    // HDR, SK {}  -->  <--  HDR, SK {}   (our response is a packet to the peer)
    await client.informational([]);
    await advance(gw, 10_000);
    expect(keepalives).toEqual([]);
    await advance(gw, 10_000);
    expect(keepalives.map((k) => k.at - start)).toEqual([35_000]);
  });

  it('no NAT, or keepalive = 0: no keepalives', async () => {
    const a = await established({ nat: 'correct' });
    await advance(a.gw, 60_000);
    expect(a.keepalives).toEqual([]);
    const b = await established({ ikegate: 'keepalive = 0s' });
    await advance(b.gw, 60_000);
    expect(b.keepalives).toEqual([]);
  });

  it('stop with the SA', async () => {
    const { gw, client, keepalives } = await established();
    await client.informational([TestInitiator.deleteIke()]);
    await advance(gw, 60_000);
    expect(keepalives).toEqual([]);
  });
});

describe('UdpTransport.sendKeepalive', () => {
  it('sends the single byte 0xFF (no non-ESP marker) from the NAT-T socket, and nothing from port 500', async () => {
    const peer = dgram.createSocket('udp4');
    await new Promise<void>((r) => peer.bind(0, '127.0.0.1', () => r()));
    const got: { data: Buffer; port: number }[] = [];
    peer.on('message', (data, rinfo) => got.push({ data, port: rinfo.port }));
    const base = 20000 + Math.floor(Math.random() * 20000);
    const udp = new UdpTransport({ listen: ['127.0.0.1'], port: base, portNatT: base + 1, log: pino({ level: 'silent' }), onDatagram: () => undefined });
    await udp.start();
    try {
      const remote = endpoint('127.0.0.1', peer.address().port);
      udp.sendKeepalive(endpoint('127.0.0.1', base), remote);
      udp.sendKeepalive(endpoint('127.0.0.1', base + 1), remote);
      for (let i = 0; i < 50 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
      await new Promise((r) => setTimeout(r, 30));
      expect(got.map((g) => ({ bytes: [...g.data], port: g.port }))).toEqual([{ bytes: [0xff], port: base + 1 }]);
    } finally {
      await udp.close();
      peer.close();
    }
  });
});
