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
import { XfrmDataplane } from '../xfrm/xfrm-dataplane.js';
import { probeKernelEsp } from '../xfrm/esp-probe.js';
import { dgramSocketFd, loadNative, nativeUnavailableMessage } from '../xfrm/netlink/binding.js';
import { UDP_ENCAP_ESPINUDP } from '../xfrm/netlink/xfrm-constants.js';
import type { Socket } from 'node:dgram';
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
  const native = loadNative();
  if (!native.ok) {
    const reason = nativeUnavailableMessage(native.reason);
    if (want !== 'auto') throw new ConfigError(reason, config.files[0]);
    log.warn(`${reason}; CHILD_SAs are negotiated and recorded, but no traffic is forwarded (dataplane = memory)`);
    return new MemoryDataplane();
  }
  if (want === 'xfrm' || want === 'auto') {
    const xfrm = XfrmDataplane.open(native.native, { routingTable: config.daemon.routingTable });
    const probe = await probeKernelEsp(xfrm);
    if (probe.ok) {
      // Stale states and policies of a crashed earlier run would shadow the new ones.
      const flushed = await xfrm.flushOwn();
      if (flushed.states + flushed.policies + flushed.routes + flushed.rules > 0) log.info(flushed, 'removed stale XFRM states, policies, routes and rules of an earlier run');
      // Road-warrior policies (0/0 <-> one virtual IP) go into the hash table, not the linear list.
      await xfrm.setPolicyHashThresholds({ ipv4: { lbits: 0, rbits: 32 }, ipv6: { lbits: 0, rbits: 128 } }).catch((err: unknown) => log.warn({ err: String(err) }, 'could not set XFRM policy hash thresholds'));
      log.info('kernel XFRM dataplane');
      return xfrm;
    }
    await xfrm.close();
    if (want === 'xfrm') throw new ConfigError(`dataplane = xfrm: ${probe.reason}`, config.files[0]);
    log.info(`kernel ESP unavailable (${probe.reason}): using the userspace ESP dataplane`);
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

/**
 * Socket options for the IKE sockets: IKE itself must never be caught by an IPsec policy
 * (bypass), and with the kernel dataplane port 4500 decapsulates ESP-in-UDP (UDP_ENCAP).
 */
function prepareIkeSocket(getDataplane: () => Dataplane | undefined, portNatT: number, log: Logger) {
  return (socket: Socket, family: 4 | 6, port: number): void => {
    const native = loadNative();
    if (!native.ok) return;
    const fd = dgramSocketFd(socket);
    native.native.setIpsecBypass(fd, family);
    if (port === portNatT && getDataplane() instanceof XfrmDataplane) native.native.setUdpEncap(fd, UDP_ENCAP_ESPINUDP);
    log.debug({ family, port }, 'IKE socket prepared');
  };
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
    prepareSocket: prepareIkeSocket(() => dataplane, config.daemon.portNatT, log),
  });
  dataplane = await openDataplane(config, log, udp);
  const transport: Transport = { send: (d: Datagram) => udp.send(d), sendKeepalive: (local, remote) => udp.sendKeepalive(local, remote) };
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
          return liveEngine.listSasWithUsage();
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
