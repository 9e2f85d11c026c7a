// Wires the real ports into the engine: UDP sockets, the system clock and RNG, the credential
// store, the dataplane and the control socket. Everything is checked before anything listens:
// an invalid configuration or a missing credential never starts half a daemon.
import { CredentialStore } from '../credentials/store.js';
import { systemRng } from '../crypto/random.js';
import { IkeEngine } from '../ike/engine.js';
import { systemClock, type Datagram, type Transport } from '../ike/ports.js';
import { ConfigError } from '../ike/errors.js';
import type { Logger } from '../log/logger.js';
import { UdpTransport } from '../net/udp.js';
import type { GatewayConfig } from '../policy/policy.js';
import { PoolSet } from '../policy/pool.js';
import { MemoryDataplane } from '../xfrm/memory-dataplane.js';
import type { Dataplane } from '../xfrm/dataplane.js';
import { ControlServer } from './control.js';
import { UpdownRunner, type ChildEventInfo } from '../hooks/updown.js';
import { VERSION } from './version.js';

export interface Gateway {
  engine: IkeEngine;
  listening: string[];
  close(reason: string): Promise<void>;
}

function chooseDataplane(config: GatewayConfig, log: Logger): Dataplane {
  const want = config.daemon.dataplane;
  if (want === 'xfrm' || want === 'userspace') {
    throw new ConfigError(`dataplane = ${want} is not available in this version (use memory or auto)`, config.files[0]);
  }
  if (want === 'auto') {
    log.warn('no packet dataplane is available yet: CHILD_SAs are negotiated and recorded, but no traffic is forwarded (dataplane = memory)');
  }
  return new MemoryDataplane();
}

/** Fails with a ConfigError when a connection cannot authenticate itself. */
function checkLocalCredentials(config: GatewayConfig, credentials: CredentialStore): void {
  for (const conn of config.connections) {
    for (const round of conn.local) {
      if (round.auth !== 'pubkey') continue;
      const cred = credentials.localCredential(round.id.any ? undefined : round.id.id);
      if (!cred) {
        throw new ConfigError(
          `connection '${conn.name}': local auth = pubkey but no certificate with its private key was found in ${config.credentialDir} (x509/ and private/)${round.id.any ? '' : ` for id ${round.id.text}`}`,
          conn.where.split(':')[0],
          Number(conn.where.split(':')[1]) || undefined,
        );
      }
    }
  }
}

export async function startGateway(config: GatewayConfig, log: Logger): Promise<Gateway> {
  const credentials = await CredentialStore.load(config.credentialDir, config.secrets);
  checkLocalCredentials(config, credentials);
  const pools = new PoolSet(config.pools);
  const dataplane = chooseDataplane(config, log);

  let udp: UdpTransport | undefined;
  const transport: Transport = { send: (d: Datagram) => udp?.send(d) };
  const updown = new UpdownRunner(log);
  const events = { child: (e: ChildEventInfo) => void updown.handle(e) };
  const engine = new IkeEngine(config, { transport, clock: systemClock, rng: systemRng, dataplane, credentials, log, events }, pools);
  udp = new UdpTransport({
    listen: config.daemon.listen,
    port: config.daemon.port,
    portNatT: config.daemon.portNatT,
    log,
    onDatagram: (d) => void engine.receive(d),
  });
  const control = new ControlServer(
    config.daemon.controlSocket,
    (req) => {
      switch (req.cmd) {
        case 'list-sas':
          return engine.listSas();
        case 'list-pools':
          return pools.list();
        case 'version':
          return { version: VERSION };
        default:
          throw new Error(`unknown command '${req.cmd}'`);
      }
    },
    log,
  );
  await control.start();
  let listening: string[];
  try {
    await udp.start();
    listening = udp.listening();
  } catch (err) {
    await udp.close();
    await control.close();
    throw err;
  }
  log.info(
    { listening, connections: config.connections.map((c) => c.name), dataplane: dataplane.name, controlSocket: config.daemon.controlSocket, version: VERSION },
    'ikegate ready',
  );
  return {
    engine,
    listening,
    async close(reason: string) {
      log.info({ reason }, `shutting down: ${reason}`);
      await engine.close(reason);
      await updown.drain();
      await udp?.close();
      await control.close();
      await dataplane.close();
    },
  };
}
