// IKEv2 handshake load generator for bench/handshake.ts. It runs as its own process inside the
// client network namespace (`node dist-bench/bench/handshake-load.js`) and takes commands as
// JSON lines on stdin, answering each with one JSON line on stdout:
//
//   {"op":"run", ...RunSpec}   IKE_SA_INIT + IKE_AUTH, `concurrency` handshakes in flight, each
//                              slot on its own UDP socket (own source port); answers RunReport.
//                              The established IKE_SAs are kept (the responder holds them too).
//   {"op":"delete"}            INFORMATIONAL D(IKE) for every IKE_SA kept by earlier runs.
//   {"op":"exit"}
//
// Every exchange is one request and at most one wait of `timeoutMs`: nothing is retransmitted,
// a lost or late message makes that handshake count as failed. A COOKIE answer is followed once
// (that is the protocol, not a retransmission). The initiators are the test initiator
// (test/helpers/initiator.ts), childless (RFC 6023), so no CHILD_SA is negotiated and nothing
// is installed in a kernel. All initiators of a run share one KE value per group (RFC 7296
// §2.12 allows reuse), which takes the key generation off the generator's side; the responder
// still makes a fresh one per IKE_SA and computes the shared secret.
import { createPrivateKey } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { CredentialStore, type LocalCredential } from '../src/credentials/store.js';
import { parseCertificate } from '../src/credentials/x509.js';
import { keGroupFor } from '../src/crypto/catalogue.js';
import { parseProposal } from '../src/crypto/proposal-syntax.js';
import type { KeyExchange } from '../src/crypto/suite.js';
import { NotifyType } from '../src/ike/constants.js';
import { endpoint, type Endpoint } from '../src/net/endpoint.js';
import { TestInitiator, type AuthOptions, type Link } from '../test/helpers/initiator.js';

export interface RunSpec {
  /** Responder address (UDP port 500). */
  target: string;
  /** Our address in the client namespace. */
  local: string;
  /** One IKE proposal in strongSwan syntax. */
  ike: string;
  auth: { kind: 'psk'; psk: string } | { kind: 'cert'; certFile: string; keyFile: string; id: string };
  /** Handshakes started in this run (the run ends when all have finished). */
  total: number;
  /** Handshakes in flight. */
  concurrency: number;
  /** No new handshake starts after this many milliseconds. */
  maxMs: number;
  /** Wait for each response this long (no retransmission). */
  timeoutMs: number;
  /** First UDP source port; slot i uses basePort + i. */
  basePort: number;
}

export interface RunReport {
  started: number;
  ok: number;
  failed: number;
  /** Failure reason -> count (init-timeout, auth-timeout, N(<type>), auth-unverified, …). */
  reasons: Record<string, number>;
  elapsedMs: number;
  handshakesPerSec: number;
  /** CPU time of this generator process during the run (user + system). */
  cpuMs: number;
  /** Handshakes whose IKE_SA_INIT response announced N(CHILDLESS_IKEV2_SUPPORTED). */
  childlessAnnounced: number;
  /** IKE_SA_INIT exchanges answered with a COOKIE first. */
  cookies: number;
  /** Median / 99th percentile handshake latency (ms) of the successful ones. */
  p50Ms: number;
  p99Ms: number;
  /** IKE_SAs now kept for a later delete. */
  kept: number;
}

export interface DeleteReport {
  deleted: number;
  failed: number;
  elapsedMs: number;
}

/** One UDP socket with at most one exchange outstanding: the initiator's Link. */
class UdpSlot implements Link {
  readonly address: Endpoint;
  readonly local: Endpoint;
  private waiter: { ispi: Buffer; messageId: number; resolve: (d: Uint8Array[]) => void; timer: NodeJS.Timeout } | undefined;

  constructor(
    private readonly socket: Socket,
    target: string,
    local: Endpoint,
    private readonly timeoutMs: number,
  ) {
    this.address = endpoint(target, 500);
    this.local = local;
    socket.on('message', (msg) => this.onMessage(msg));
  }

  static async open(local: string, port: number, target: string, timeoutMs: number): Promise<UdpSlot> {
    const socket = createSocket({ type: 'udp4', recvBufferSize: 1 << 20 });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(port, local, () => {
        socket.off('error', reject);
        resolve();
      });
    });
    return new UdpSlot(socket, target, endpoint(local, port), timeoutMs);
  }

  private onMessage(msg: Buffer): void {
    const w = this.waiter;
    // A response to the request in flight: same initiator SPI and Message ID (a late answer to
    // an earlier, abandoned exchange is dropped).
    if (!w || msg.length < 28 || !msg.subarray(0, 8).equals(w.ispi) || msg.readUInt32BE(20) !== w.messageId) return;
    clearTimeout(w.timer);
    this.waiter = undefined;
    w.resolve([new Uint8Array(msg)]);
  }

  send(bytes: Uint8Array, _from: Endpoint): Promise<Uint8Array[]> {
    if (this.waiter) throw new Error('one exchange at a time per slot');
    const header = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve([]);
      }, this.timeoutMs);
      this.waiter = { ispi: Buffer.from(header.subarray(0, 8)), messageId: header.readUInt32BE(20), resolve, timer };
      this.socket.send(bytes, 500, this.address.address);
    });
  }

  close(): void {
    this.socket.close();
  }
}

interface Kept {
  initiator: TestInitiator;
  slot: number;
}

function loadCredential(certFile: string, keyFile: string): LocalCredential {
  const store = CredentialStore.fromMemory({
    credentials: [{ cert: parseCertificate(readFileSync(certFile, 'latin1')), privateKey: createPrivateKey(readFileSync(keyFile, 'latin1')), chain: [] }],
  });
  const cred = store.localCredentials()[0];
  if (!cred) throw new Error('no client credential');
  return cred;
}

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
}

export class LoadGenerator {
  private slots: UdpSlot[] = [];
  private slotKey = '';
  private kept: Kept[] = [];
  private readonly kex = new Map<number, KeyExchange>();

  private async slotsFor(spec: RunSpec): Promise<UdpSlot[]> {
    const key = `${spec.local}|${spec.target}|${spec.basePort}|${spec.concurrency}|${spec.timeoutMs}`;
    if (key !== this.slotKey) {
      for (const s of this.slots) s.close();
      this.slots = [];
      for (let i = 0; i < spec.concurrency; i++) this.slots.push(await UdpSlot.open(spec.local, spec.basePort + i, spec.target, spec.timeoutMs));
      this.slotKey = key;
    }
    return this.slots;
  }

  private sharedKex(ike: string): KeyExchange {
    const group = parseProposal(ike, 'ike').ke[0];
    if (group === undefined) throw new Error(`proposal ${ike} has no KE method`);
    let kex = this.kex.get(group);
    if (!kex) {
      kex = keGroupFor(group).create();
      this.kex.set(group, kex);
    }
    return kex;
  }

  async run(spec: RunSpec): Promise<RunReport> {
    const slots = await this.slotsFor(spec);
    const credential = spec.auth.kind === 'cert' ? loadCredential(spec.auth.certFile, spec.auth.keyFile) : undefined;
    const keyExchange = this.sharedKex(spec.ike);
    const reasons: Record<string, number> = {};
    const fail = (why: string): void => void (reasons[why] = (reasons[why] ?? 0) + 1);
    const latencies: number[] = [];
    let started = 0;
    let ok = 0;
    let childlessAnnounced = 0;
    let cookies = 0;

    const one = async (slotIndex: number, seq: number): Promise<void> => {
      const slot = slots[slotIndex]!;
      const t0 = performance.now();
      const ini = new TestInitiator(slot, { local: slot.local, ike: [spec.ike], keyExchange });
      const init = await ini.init(2);
      if (ini.cookie) cookies++;
      if (init.kind === 'silence') return fail('init-timeout');
      if (init.kind === 'error') return fail(`init N(${init.notify})`);
      if (init.kind !== 'ok') return fail(`init ${init.kind}`);
      if (ini.initNotify(NotifyType.CHILDLESS_IKEV2_SUPPORTED)) childlessAnnounced++;
      const o: AuthOptions =
        spec.auth.kind === 'psk'
          ? { id: `@c${slotIndex}-${seq}.bench.example`, psk: spec.auth.psk, cp: false, childless: true }
          : { id: spec.auth.id, credential: credential!, cp: false, childless: true };
      const response = await ini.transmit(ini.authRequest(o));
      if (response.length === 0) return fail('auth-timeout');
      const out = ini.handleAuthResponse(response, o);
      if (out.error !== undefined) return fail(`auth N(${out.error})`);
      if (!out.ok) return fail(`auth-unverified: ${out.authProblem ?? '?'}`);
      latencies.push(performance.now() - t0);
      ok++;
      this.kept.push({ initiator: ini, slot: slotIndex });
    };

    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    const worker = async (slotIndex: number): Promise<void> => {
      while (started < spec.total && performance.now() - t0 < spec.maxMs) {
        const seq = started++;
        try {
          await one(slotIndex, seq);
        } catch (e) {
          fail(`error: ${(e as Error).message.slice(0, 80)}`);
        }
      }
    };
    await Promise.all(slots.map((_, i) => worker(i)));
    const elapsedMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    latencies.sort((a, b) => a - b);
    return {
      started,
      ok,
      failed: started - ok,
      reasons,
      elapsedMs,
      handshakesPerSec: (ok * 1000) / elapsedMs,
      cpuMs: (cpu.user + cpu.system) / 1000,
      childlessAnnounced,
      cookies,
      p50Ms: percentile(latencies, 0.5),
      p99Ms: percentile(latencies, 0.99),
      kept: this.kept.length,
    };
  }

  /** INFORMATIONAL D(IKE) for every kept IKE_SA, one per slot at a time. */
  async deleteAll(): Promise<DeleteReport> {
    const t0 = performance.now();
    const bySlot = new Map<number, Kept[]>();
    for (const k of this.kept) bySlot.set(k.slot, [...(bySlot.get(k.slot) ?? []), k]);
    this.kept = [];
    let deleted = 0;
    let failed = 0;
    await Promise.all(
      [...bySlot.values()].map(async (list) => {
        for (const k of list) {
          try {
            const r = await k.initiator.informational([TestInitiator.deleteIke()]);
            if (r) deleted++;
            else failed++;
          } catch {
            failed++;
          }
        }
      }),
    );
    return { deleted, failed, elapsedMs: performance.now() - t0 };
  }

  close(): void {
    for (const s of this.slots) s.close();
    this.slots = [];
  }
}

/** The command loop: JSON lines in, one JSON line out per command. */
async function serve(): Promise<void> {
  const gen = new LoadGenerator();
  const reply = (v: unknown): void => void process.stdout.write(`${JSON.stringify(v)}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    try {
      const cmd = JSON.parse(line) as { op: string } & Partial<RunSpec>;
      if (cmd.op === 'run') reply({ ok: true, report: await gen.run(cmd as RunSpec) });
      else if (cmd.op === 'delete') reply({ ok: true, report: await gen.deleteAll() });
      else if (cmd.op === 'exit') break;
      else reply({ ok: false, error: `unknown op ${cmd.op}` });
    } catch (e) {
      reply({ ok: false, error: (e as Error).stack ?? String(e) });
    }
  }
  gen.close();
  process.exit(0);
}

if (process.argv[1]?.endsWith('handshake-load.js')) void serve();
