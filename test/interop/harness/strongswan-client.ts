// A strongSwan IKEv2 client: its own charon (see charon.ts) in a client namespace, configured
// through a swanctl.conf rendered from a TypeScript object, driven with swanctl.
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CharonInstance } from './charon.js';
import type { ClientNode } from './netns.js';
import { tail } from './proc.js';
import { renderConf } from './swanctl-format.js';
import type { ConfSection, IkeSaInfo } from './swanctl-format.js';

export type AuthMethod = 'psk' | 'pubkey' | 'eap-mschapv2' | 'eap-md5' | 'eap-tls' | 'eap';

export interface ClientChild {
  /** ESP proposals (default ['aes256gcm16']). */
  espProposals?: string[];
  /** Default ['0.0.0.0/0', '::/0']. */
  remoteTs?: string[];
  /** Default: dynamic (the virtual IPs). */
  localTs?: string[];
  rekeyTime?: string;
  lifeTime?: string;
  /** Any further swanctl child options (e.g. { mode: 'tunnel' }). */
  extra?: ConfSection;
}

export interface ClientConnection {
  /** Connection name (default "gw"). */
  name?: string;
  /** Gateway address to connect to. */
  remoteAddrs: string;
  /** Own outer address (default: the kernel picks). */
  localAddrs?: string;
  /** IKE proposals (default ['aes256gcm16-prfsha384-ecp384']). */
  proposals?: string[];
  /** Requested virtual IPs (default ['0.0.0.0', '::']); [] requests none. */
  vips?: string[];
  local: {
    auth: AuthMethod;
    id: string;
    /** Certificate file names inside the client's x509/ dir. */
    certs?: string[];
    eapId?: string;
  };
  remote: {
    auth: 'psk' | 'pubkey';
    /** Expected gateway identity; omitted = %any, then the client sends no IDr. */
    id?: string;
    cacerts?: string[];
  };
  /** CHILD_SA configs by name (default { net: {} }). */
  children?: Record<string, ClientChild>;
  /** Any further swanctl connection options (e.g. { encap: true, mobike: false }). */
  extra?: ConfSection;
  secrets?: ClientSecret[];
}

export type ClientSecret =
  | { type: 'ike'; ids: string[]; secret: string }
  | { type: 'eap'; id: string; secret: string };

export interface InitiateResult {
  ok: boolean;
  /** swanctl --initiate output (includes the streamed log lines). */
  output: string;
  /** The client charon's complete file log at the time initiate returned. */
  log: string;
  /** The part of the log written during this initiate (this attempt only). */
  attemptLog: string;
  /** The IKE messages of this attempt (messageTrace of attemptLog). */
  trace: LoggedMessage[];
  /** IKE_SAs after the attempt (swanctl --list-sas --raw). */
  sas: IkeSaInfo[];
  /** The IKE_SA of this connection, when one exists. */
  sa: IkeSaInfo | undefined;
  durationMs: number;
}

export interface StartClientOptions {
  node: ClientNode;
  /** Instance directory (created). */
  dir: string;
  /** Credentials to copy into the client's swanctl dir (x509/, x509ca/, private/). */
  credDir?: string;
  /** charon file-log levels by subsystem over the defaults (e.g. { tls: 2 } for EAP-TLS). */
  logLevels?: Record<string, number>;
}

/** One IKE message as charon logged it: `generating|parsed EXCHANGE request|response N [ payloads ]`. */
export interface LoggedMessage {
  /** generating = this charon sent it, parsed = it received it. */
  dir: 'sent' | 'received';
  exchange: string;
  kind: 'request' | 'response';
  msgId: number;
  /** Payload tokens as strongSwan prints them, e.g. ['IDi', 'N(INIT_CONTACT)', 'CPRQ(ADDR DNS)', 'EAP/RES/ID']. */
  payloads: string[];
  /** The whole log line. */
  line: string;
}

/** Splits strongSwan's payload list on spaces outside parentheses. */
function splitPayloads(list: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of list) {
    if (ch === '(') depth++;
    else if (ch === ')') depth--;
    if (ch === ' ' && depth === 0) {
      if (cur !== '') out.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  if (cur !== '') out.push(cur);
  return out;
}

/**
 * The IKE messages in a charon log, in log order (needs enc logging at level 1, the harness
 * default). Retransmissions are not logged as "generating" again, and IKE fragments are
 * left out (the reassembled/unfragmented message is logged once), so each entry is one
 * message.
 */
export function messageTrace(log: string): LoggedMessage[] {
  const out: LoggedMessage[] = [];
  const re = /(generating|parsed) (\S+) (request|response) (\d+) \[ ?(.*?) ?\]\s*$/;
  for (const line of log.split('\n')) {
    const m = re.exec(line);
    if (!m) continue;
    const payloads = splitPayloads(m[5] ?? '');
    // IKE fragments (EF(i/n)): the reassembled message is logged again as a whole
    if (payloads.length > 0 && payloads.every((p) => /^EF\(\d+\/\d+\)$/.test(p))) continue;
    out.push({
      dir: m[1] === 'generating' ? 'sent' : 'received',
      exchange: m[2] ?? '',
      kind: m[3] === 'request' ? 'request' : 'response',
      msgId: Number(m[4]),
      payloads,
      line: line.trim(),
    });
  }
  return out;
}

/** A compact rendering of a trace, one message a line, for reports and assertion messages. */
export function formatTrace(trace: readonly LoggedMessage[]): string {
  return trace
    .map((t) => `${t.dir === 'sent' ? '->' : '<-'} ${t.exchange} ${t.kind} ${t.msgId} [ ${t.payloads.join(' ')} ]`)
    .join('\n');
}

function copyTree(from: string, to: string): void {
  for (const sub of ['x509', 'x509ca', 'private']) {
    let entries: string[] = [];
    try {
      entries = readdirSync(join(from, sub));
    } catch {
      continue;
    }
    mkdirSync(join(to, sub), { recursive: true });
    for (const e of entries) copyFileSync(join(from, sub, e), join(to, sub, e));
  }
}

export function renderClientConf(c: ClientConnection): string {
  const name = c.name ?? 'gw';
  const children: ConfSection = {};
  for (const [cn, ch] of Object.entries(c.children ?? { net: {} })) {
    children[cn] = {
      remote_ts: ch.remoteTs ?? ['0.0.0.0/0', '::/0'],
      local_ts: ch.localTs,
      esp_proposals: ch.espProposals ?? ['aes256gcm16'],
      rekey_time: ch.rekeyTime,
      life_time: ch.lifeTime,
      ...(ch.extra ?? {}),
    };
  }
  const conf: ConfSection = {
    connections: {
      [name]: {
        version: 2,
        remote_addrs: c.remoteAddrs,
        local_addrs: c.localAddrs,
        proposals: c.proposals ?? ['aes256gcm16-prfsha384-ecp384'],
        vips: (c.vips ?? ['0.0.0.0', '::']).length > 0 ? (c.vips ?? ['0.0.0.0', '::']) : undefined,
        ...(c.extra ?? {}),
        local: {
          auth: c.local.auth,
          id: c.local.id,
          certs: c.local.certs,
          eap_id: c.local.eapId,
        },
        remote: {
          auth: c.remote.auth,
          id: c.remote.id,
          cacerts: c.remote.cacerts,
        },
        children,
      },
    },
  };
  const secrets: ConfSection = {};
  (c.secrets ?? []).forEach((s, i) => {
    if (s.type === 'ike') {
      const sec: ConfSection = { secret: s.secret };
      s.ids.forEach((id, j) => (sec[`id-${j + 1}`] = id));
      secrets[`ike-${i + 1}`] = sec;
    } else {
      secrets[`eap-${i + 1}`] = { id: s.id, secret: s.secret };
    }
  });
  if (Object.keys(secrets).length > 0) conf.secrets = secrets;
  return renderConf(conf);
}

export class StrongswanClient {
  readonly node: ClientNode;
  readonly charon: CharonInstance;
  private connName = 'gw';

  constructor(node: ClientNode, charon: CharonInstance) {
    this.node = node;
    this.charon = charon;
  }

  get confPath(): string {
    return join(this.charon.swanctlDir, 'swanctl.conf');
  }

  /** Replaces the client's credentials (x509/, x509ca/, private/) with those of credDir; configure() loads them. */
  useCredentials(credDir: string): void {
    for (const sub of ['x509', 'x509ca', 'private']) {
      rmSync(join(this.charon.swanctlDir, sub), { recursive: true, force: true });
      mkdirSync(join(this.charon.swanctlDir, sub), { recursive: true });
    }
    copyTree(credDir, this.charon.swanctlDir);
  }

  /** Writes swanctl.conf for this connection and loads it (replacing earlier ones). */
  async configure(conn: ClientConnection): Promise<void> {
    this.connName = conn.name ?? 'gw';
    writeFileSync(this.confPath, renderClientConf(conn));
    await this.charon.swanctl('--load-all', ['--clear', '--noprompt']);
  }

  /**
   * `swanctl --initiate --child CHILD` (default: the first child) with a timeout in
   * seconds; never throws for a failed negotiation, see InitiateResult.ok.
   */
  async initiate(opts: { child?: string; timeoutSec?: number } = {}): Promise<InitiateResult> {
    const started = Date.now();
    const logStart = this.log().length;
    const timeoutSec = opts.timeoutSec ?? 30;
    const r = await this.charon.swanctl(
      '--initiate',
      ['--child', opts.child ?? 'net', '--timeout', String(timeoutSec)],
      { timeoutMs: (timeoutSec + 10) * 1000, check: false },
    );
    const output = r.stdout + r.stderr;
    const sas = await this.listSas();
    const sa = sas.find((s) => s.name === this.connName);
    const log = this.log();
    const attemptLog = log.slice(logStart);
    return {
      ok: r.code === 0 && /initiate completed successfully/.test(output),
      output,
      log,
      attemptLog,
      trace: messageTrace(attemptLog),
      sas,
      sa,
      durationMs: Date.now() - started,
    };
  }

  listSas(): Promise<IkeSaInfo[]> {
    return this.charon.listSas();
  }

  /** The charon file log (ike 2, cfg 2, knl 1). */
  log(): string {
    return this.charon.log();
  }

  /** The IKE messages this client sent and received so far (see messageTrace). */
  trace(): LoggedMessage[] {
    return messageTrace(this.log());
  }

  /** DNS servers the resolve plugin installed (from the private resolv.conf). */
  dnsServers(): string[] {
    let text = '';
    try {
      text = readFileSync(this.charon.resolvPath, 'utf8');
    } catch {
      return [];
    }
    return [...text.matchAll(/^nameserver\s+(\S+)/gm)].map((m) => m[1] ?? '').filter((s) => s !== '');
  }

  /** Terminates all IKE_SAs of this client (waits for the DELETE exchange). */
  async terminate(timeoutSec = 10): Promise<void> {
    const sas = await this.listSas();
    for (const sa of sas) {
      await this.charon.swanctl('--terminate', ['--ike-id', sa.uniqueId, '--timeout', String(timeoutSec)], {
        timeoutMs: (timeoutSec + 5) * 1000,
        check: false,
      });
    }
  }

  async stop(): Promise<void> {
    await this.charon.stop();
  }

  /** A failure message with the client's view, for assertion messages. */
  describe(res?: InitiateResult): string {
    return `client ${this.node.label} (${this.node.ns})\n--- initiate output ---\n${tail(res?.output ?? '', 4000)}\n--- charon.log ---\n${tail(this.log(), 8000)}`;
  }
}

/** Starts a charon in the client's namespace; configure() and initiate() it next. */
export async function startStrongswanClient(opts: StartClientOptions): Promise<StrongswanClient> {
  mkdirSync(opts.dir, { recursive: true });
  const charon = new CharonInstance({ ns: opts.node.ns, dir: opts.dir, logLevels: opts.logLevels });
  if (opts.credDir) copyTree(opts.credDir, charon.swanctlDir);
  await charon.start();
  return new StrongswanClient(opts.node, charon);
}

/** IKE_AUTH messages of a trace in one direction. */
export function ikeAuthMessages(trace: readonly LoggedMessage[], dir: 'sent' | 'received'): LoggedMessage[] {
  return trace.filter((t) => t.exchange === 'IKE_AUTH' && t.dir === dir);
}

/** The EAP tokens (EAP/REQ/ID, EAP/RES/MSCHAPV2 …) of messages, in order. */
export function eapTokens(msgs: readonly LoggedMessage[]): string[] {
  return msgs.flatMap((m) => m.payloads.filter((p) => p.startsWith('EAP/')));
}

/** A failure message for an initiate attempt: the client's view, its IKE messages, and the gateway. */
export function explainAttempt(client: StrongswanClient, gateway: { describe(): string }, res: InitiateResult): string {
  return `${client.describe(res)}\n--- IKE messages (client view) ---\n${formatTrace(res.trace)}\n${gateway.describe()}`;
}
