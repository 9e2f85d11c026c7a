// UDP transport for IKE on ports 500 and 4500 (RFC 7296 §2.11, RFC 3948 §2.2).
// Node's dgram cannot tell which local address a datagram arrived on (no IP_PKTINFO), but NAT
// detection and "reply from the address the request came to" need exactly that. So we bind one
// socket per local address and port; a wildcard listen address expands to every address of the
// host, re-read periodically so addresses that appear later are served too.
// On port 4500 IKE messages carry a four-byte zero non-ESP marker, stripped and added here and
// nowhere else; single 0xFF bytes are NAT-T keepalives (RFC 3948 §2.3).
import * as dgram from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { isIPv6 } from 'node:net';
import type { Logger } from '../log/logger.js';
import type { Datagram, Transport } from '../ike/ports.js';
import { canonicalAddress, endpoint, formatEndpoint } from './endpoint.js';

const NON_ESP_MARKER = new Uint8Array(4);
const RESCAN_MS = 5_000;
const KEEPALIVE = new Uint8Array([0xff]);

export interface UdpOptions {
  /** Addresses to bind; '0.0.0.0' and '::' mean every IPv4 / IPv6 address of the host. */
  listen: string[];
  port: number;
  portNatT: number;
  log: Logger;
  onDatagram(d: Datagram): void;
  /** ESP-in-UDP packets that reach the socket (no kernel decapsulation): handed to the userspace dataplane. */
  onEsp?(packet: Uint8Array, local: Datagram['local'], remote: Datagram['remote']): void;
  /** Called for every bound socket before it receives (socket options: IPsec bypass, UDP_ENCAP). */
  prepareSocket?(socket: dgram.Socket, family: 4 | 6, port: number): void;
}

interface Bound {
  socket: dgram.Socket;
  address: string;
  port: number;
}

/** Expands wildcard listen addresses into the host's current unicast addresses. */
export function expandListen(listen: string[]): string[] {
  const wantV4 = listen.includes('0.0.0.0') || listen.includes('%any');
  const wantV6 = listen.includes('::') || listen.includes('%any');
  const out = new Set(listen.filter((a) => a !== '0.0.0.0' && a !== '::' && a !== '%any').map(canonicalAddress));
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      if (a.family === 'IPv4' && wantV4) out.add(a.address);
      // Link-local addresses need a scope and are not used for IKE.
      if (a.family === 'IPv6' && wantV6 && !a.address.toLowerCase().startsWith('fe80')) out.add(canonicalAddress(a.address));
    }
  }
  return [...out];
}

export class UdpTransport implements Transport {
  private readonly bound = new Map<string, Bound>();
  private rescanTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: UdpOptions) {}

  private key(address: string, port: number): string {
    return `${address}|${port}`;
  }

  /** Binds every socket; rejects (naming the address and port) if any bind fails at start-up. */
  async start(): Promise<string[]> {
    const addresses = expandListen(this.opts.listen);
    if (addresses.length === 0) throw new Error(`no local address to listen on (listen = ${this.opts.listen.join(', ')})`);
    for (const address of addresses) {
      await this.bindOne(address, this.opts.port);
      await this.bindOne(address, this.opts.portNatT);
    }
    const wildcard = this.opts.listen.some((a) => a === '0.0.0.0' || a === '::' || a === '%any');
    if (wildcard) {
      this.rescanTimer = setInterval(() => void this.rescan(), RESCAN_MS);
      this.rescanTimer.unref();
    }
    return addresses;
  }

  private bindOne(address: string, port: number): Promise<void> {
    const socket = isIPv6(address) ? dgram.createSocket({ type: 'udp6', ipv6Only: true }) : dgram.createSocket({ type: 'udp4' });
    return new Promise((resolve, reject) => {
      socket.once('error', (err) => {
        socket.close();
        reject(new Error(`cannot listen on ${isIPv6(address) ? `[${address}]` : address}:${port}: ${err.message}`));
      });
      socket.bind({ address, port, exclusive: true }, () => {
        socket.removeAllListeners('error');
        try {
          this.opts.prepareSocket?.(socket, isIPv6(address) ? 6 : 4, port);
        } catch (err) {
          socket.close();
          reject(new Error(`cannot prepare the IKE socket on ${address}:${port}: ${err instanceof Error ? err.message : String(err)}`));
          return;
        }
        socket.on('error', (err) => this.opts.log.warn({ err, address, port }, `socket error on ${address}:${port}`));
        socket.on('message', (msg, rinfo) => this.onMessage(address, port, msg, rinfo));
        this.bound.set(this.key(address, port), { socket, address, port });
        resolve();
      });
    });
  }

  /** Follows address changes of the host: binds new addresses, closes vanished ones. */
  private async rescan(): Promise<void> {
    if (this.closed) return;
    const now = new Set(expandListen(this.opts.listen));
    for (const address of now) {
      for (const port of [this.opts.port, this.opts.portNatT]) {
        if (this.bound.has(this.key(address, port))) continue;
        try {
          await this.bindOne(address, port);
          this.opts.log.info(`listening on new address ${address}:${port}`);
        } catch (err) {
          this.opts.log.warn({ err: String(err) }, `could not bind new address ${address}:${port}`);
        }
      }
    }
    for (const [k, b] of this.bound) {
      if (now.has(b.address)) continue;
      b.socket.close();
      this.bound.delete(k);
      this.opts.log.info(`address ${b.address} is gone, closed its port ${b.port}`);
    }
  }

  private onMessage(localAddress: string, localPort: number, msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const local = endpoint(localAddress, localPort);
    const remote = endpoint(rinfo.address, rinfo.port);
    let bytes = new Uint8Array(msg.buffer, msg.byteOffset, msg.byteLength);
    if (localPort === this.opts.portNatT) {
      if (bytes.length === 1 && bytes[0] === 0xff) return; // NAT-T keepalive
      if (bytes.length < 4) return;
      if (bytes[0] !== 0 || bytes[1] !== 0 || bytes[2] !== 0 || bytes[3] !== 0) {
        this.opts.onEsp?.(bytes, local, remote);
        return;
      }
      bytes = bytes.subarray(4);
    }
    this.opts.onDatagram({ bytes, local, remote });
  }

  send(d: Datagram): void {
    const b = this.bound.get(this.key(d.local.address, d.local.port));
    if (!b) {
      this.opts.log.warn(`cannot send to ${formatEndpoint(d.remote)}: no socket on ${formatEndpoint(d.local)}`);
      return;
    }
    const natT = d.local.port === this.opts.portNatT;
    const payload = natT ? Buffer.concat([NON_ESP_MARKER, d.bytes]) : d.bytes;
    b.socket.send(payload, d.remote.port, d.remote.address, (err) => {
      if (err) this.opts.log.warn({ err: err.message }, `sending to ${formatEndpoint(d.remote)} failed`);
    });
  }

  /** Sends a raw UDP payload (NAT-T keepalives, ESP-in-UDP) from one of our sockets. */
  sendRaw(local: Datagram['local'], remote: Datagram['remote'], bytes: Uint8Array): void {
    this.bound.get(this.key(local.address, local.port))?.socket.send(bytes, remote.port, remote.address);
  }

  /** A NAT-T keepalive (RFC 3948 §2.3): the single byte 0xFF, without non-ESP marker, from our NAT-T port only. */
  sendKeepalive(local: Datagram['local'], remote: Datagram['remote']): void {
    if (local.port !== this.opts.portNatT) return;
    this.sendRaw(local, remote, KEEPALIVE);
  }

  listening(): string[] {
    return [...this.bound.values()].map((b) => formatEndpoint(endpoint(b.address, b.port)));
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.rescanTimer) clearInterval(this.rescanTimer);
    await Promise.all([...this.bound.values()].map((b) => new Promise<void>((r) => b.socket.close(() => r()))));
    this.bound.clear();
  }
}
