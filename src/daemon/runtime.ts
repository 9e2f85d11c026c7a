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
import { UserspaceDataplane } from '../esp/userspace-dataplane.js';
import type { Dataplane } from '../xfrm/dataplane.js';
import { ControlServer } from './control.js';
import { UpdownRunner, type ChildEventInfo } from '../hooks/updown.js';
import { VERSION } from './version.js';

export interface Gateway {
  engine: IkeEngine;
  listening: string[];
  close(reason: string): Promise<void>;
}

/**
 * The packet path: the kernel (XFRM) when it has ESP, else userspace ESP over TUN, else the
 * in-memory recorder (IKE only). An explicit choice that cannot be honoured is a start-up error.
 */
async function openDataplane(config: GatewayConfig, log: Logger, udp: UdpTransport): Promise<Dataplane> {
  const want = config.daemon.dataplane;
  if (want === 'memory') return new MemoryDataplane();
  if (want === 'xfrm') {
    throw new ConfigError('dataplane = xfrm is not available in this version (use userspace, memory or auto)', config.files[0]);
  }
  try {
    return await UserspaceDataplane.open({ sendUdp: (l, r, b) => udp.sendRaw(l, r, b), log });
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (want === 'userspace') throw new ConfigError(reason, config.files[0]);
    log.warn(`${reason}; CHILD_SAs are negotiated and recorded, but no traffic is forwarded (dataplane = memory)`);
    return new MemoryDataplane();
  }
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

  // The transport exists first (the userspace dataplane sends through it); the engine and the
  // dataplane receive from it once they exist.
  let engine: IkeEngine | undefined;
  let dataplane: Dataplane | undefined;
  const udp = new UdpTransport({
    listen: config.daemon.listen,
    port: config.daemon.port,
    portNatT: config.daemon.portNatT,
    log,
    onDatagram: (d) => void engine?.receive(d),
    onEsp: (packet, local, remote) => {
      if (dataplane instanceof UserspaceDataplane) dataplane.receiveEsp(packet, local, remote);
    },
  });
  dataplane = await openDataplane(config, log, udp);
  const transport: Transport = { send: (d: Datagram) => udp.send(d) };
  const updown = new UpdownRunner(log);
  const events = { child: (e: ChildEventInfo) => void updown.handle(e) };
  engine = new IkeEngine(config, { transport, clock: systemClock, rng: systemRng, dataplane, credentials, log, events }, pools);
  const liveEngine = engine;
  const liveDataplane = dataplane;
  const control = new ControlServer(
    config.daemon.controlSocket,
    (req) => {
      switch (req.cmd) {
        case 'list-sas':
          return liveEngine.listSas();
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
  let listening: string[];
  try {
    await control.start();
    await udp.start();
    listening = udp.listening();
  } catch (err) {
    await udp.close();
    await control.close();
    await liveDataplane.close();
    throw err;
  }
  log.info(
    { listening, connections: config.connections.map((c) => c.name), dataplane: liveDataplane.name, controlSocket: config.daemon.controlSocket, version: VERSION },
    'ikegate ready',
  );
  return {
    engine: liveEngine,
    listening,
    async close(reason: string) {
      log.info({ reason }, `shutting down: ${reason}`);
      await liveEngine.close(reason);
      await updown.drain();
      await udp.close();
      await control.close();
      await liveDataplane.close();
    },
  };
}
