// The set-up most interop files share: one topology, one strongSwan client (directly attached,
// or behind the NAT router) and ikegate with a PSK connection, made once per test file through
// vitest's hooks. A set-up failure is reported by every test (check()), never as a skip.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { startIkegate, type Gateway } from './gateway.js';
import { buildTopology, type Topology } from './netns.js';
import { stopAllTracked } from './proc.js';
import { requireTools } from './requirements.js';
import { CLIENT_ID, FileSetup, gatewayConfig, randomSecret } from './scenario.js';
import { startStrongswanClient, type StrongswanClient } from './strongswan-client.js';

export interface PskScenario {
  readonly topo: Topology;
  readonly gw: Gateway;
  readonly client: StrongswanClient;
  /** The PSK both sides are configured with. */
  readonly secret: string;
  /** Throws the set-up error, if any: call first in every test. */
  check(): void;
}

export function pskScenario(o: { tag: string; nat?: boolean }): PskScenario {
  const setup = new FileSetup();
  const secret = randomSecret();
  let topo: Topology | undefined;
  let gw: Gateway | undefined;
  let client: StrongswanClient | undefined;
  const need = <T>(v: T | undefined, what: string): T => {
    if (v === undefined) throw new Error(`interop set-up incomplete: no ${what}`);
    return v;
  };

  beforeAll(() =>
    setup.run(async () => {
      requireTools(['charon', 'swanctl', 'ip', 'nft', 'unshare']);
      topo = await buildTopology({ tag: o.tag, clients: o.nat ? 0 : 1, ...(o.nat ? { nat: true } : {}) });
      const node = o.nat ? topo.nat?.client : topo.clients[0];
      if (!node) throw new Error(o.nat ? 'topology has no NAT router' : 'topology has no client');
      client = await startStrongswanClient({ node, dir: join(topo.workDir, o.nat ? 'natclient' : 'c1') });
      gw = await startIkegate({
        ns: topo.gw.ns,
        credDir: join(topo.workDir, 'gw'),
        configText: gatewayConfig({ auth: 'psk', psks: [{ id: CLIENT_ID, secret }] }),
      });
    }),
  );

  afterEach(async () => {
    await client?.terminate();
  });

  afterAll(async () => {
    await client?.stop();
    await gw?.stop();
    await stopAllTracked();
    await topo?.destroy();
  });

  return {
    get topo() {
      return need(topo, 'topology');
    },
    get gw() {
      return need(gw, 'gateway');
    },
    get client() {
      return need(client, 'client');
    },
    secret,
    check: () => setup.check(),
  };
}
