// An in-process gateway for exchange tests: the real IkeEngine with the in-memory twins of
// every port (FakeClock, CapturingTransport, MemoryDataplane, a log that tests can read) and
// a configuration written as swanctl.conf text, loaded by the real config loader.
import { pino } from 'pino';
import { loadConfigText } from '../../src/config/load.js';
import { CredentialStore } from '../../src/credentials/store.js';
import { seededRng, type Rng } from '../../src/crypto/random.js';
import { IkeEngine } from '../../src/ike/engine.js';
import type { Datagram } from '../../src/ike/ports.js';
import { endpoint, type Endpoint } from '../../src/net/endpoint.js';
import type { GatewayConfig } from '../../src/policy/policy.js';
import { PoolSet } from '../../src/policy/pool.js';
import { MemoryDataplane } from '../../src/xfrm/memory-dataplane.js';
import { FakeClock } from './clock.js';
import { CapturingTransport } from './transport.js';

export interface LogLine {
  level: string;
  msg: string;
  [k: string]: unknown;
}

export interface GatewayOptions {
  /** The gateway's IKE endpoint (default 192.0.2.1:500). */
  address?: Endpoint;
  rng?: Rng;
  /** A dataplane to use instead of a fresh MemoryDataplane (e.g. one that fails on purpose). */
  dataplane?: MemoryDataplane;
  /** Edits the loaded configuration before the engine sees it (settings without a swanctl key). */
  tweak?: (c: GatewayConfig) => void;
}

export interface Gateway {
  engine: IkeEngine;
  config: GatewayConfig;
  clock: FakeClock;
  transport: CapturingTransport;
  dataplane: MemoryDataplane;
  pools: PoolSet;
  credentials: CredentialStore;
  address: Endpoint;
  logs: LogLine[];
  events: { up: { id: string; remoteId: string; vips: string[] }[]; down: { id: string; reason: string }[]; authFailed: { remote: string; reason: string }[] };
  /** Delivers one datagram from `from` and returns what the engine sent back to it while handling it. */
  send(bytes: Uint8Array, from: Endpoint): Promise<Uint8Array[]>;
  /** Lets queued SA work and timer callbacks (which may import modules) run to completion. */
  settle(): Promise<void>;
  /** Log lines at level error: an internal error is a bug whatever the input was. */
  errors(): LogLine[];
}

export const GATEWAY_ADDRESS = endpoint('192.0.2.1', 500);

export function makeGateway(configText: string, credentials: CredentialStore = CredentialStore.empty(), opts: GatewayOptions = {}): Gateway {
  const { config, warnings } = loadConfigText(configText, '/test/swanctl.conf', '/test');
  if (warnings.length > 0) throw new Error(`test config has warnings: ${warnings.map((w) => w.message).join('; ')}`);
  opts.tweak?.(config);
  const logs: LogLine[] = [];
  const log = pino(
    { level: 'debug', formatters: { level: (label: string) => ({ level: label }) } },
    { write: (line: string) => void logs.push(JSON.parse(line) as LogLine) },
  );
  const clock = new FakeClock();
  const transport = new CapturingTransport();
  const dataplane = opts.dataplane ?? new MemoryDataplane();
  const pools = new PoolSet(config.pools);
  const events: Gateway['events'] = { up: [], down: [], authFailed: [] };
  const engine = new IkeEngine(
    config,
    {
      transport,
      clock,
      rng: opts.rng ?? seededRng('gateway'),
      dataplane,
      credentials,
      log,
      events: {
        ikeUp: (i) => void events.up.push(i),
        ikeDown: (i) => void events.down.push(i),
        authFailed: (i) => void events.authFailed.push(i),
      },
    },
    pools,
  );
  const address = opts.address ?? GATEWAY_ADDRESS;
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 5; i++) {
      await Promise.all([...engine.sas.values()].map((sa) => sa.queue));
      await new Promise((r) => setImmediate(r));
    }
  };
  return {
    engine,
    config,
    clock,
    transport,
    dataplane,
    pools,
    credentials,
    address,
    logs,
    events,
    async send(bytes, from) {
      transport.take();
      const d: Datagram = { bytes, local: address, remote: from };
      await engine.receive(d);
      return transport
        .take()
        .filter((x) => x.remote.address === from.address && x.remote.port === from.port)
        .map((x) => x.bytes);
    },
    settle,
    errors: () => logs.filter((l) => l.level === 'error' || l.level === 'fatal'),
  };
}
