// The system under test: the ikegate daemon started inside the gateway namespace.
//
// Harness-debugging aid: with IKEGATE_INTEROP_REFERENCE=strongswan in the environment,
// startIkegate() starts a strongSwan charon with the same swanctl.conf instead (the
// `ikegate { }` section stripped). That validates the client side of each scenario
// against a known-good responder; it is NOT a way to make the suite pass.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CharonInstance } from './charon.js';
import { GW_WAN_V4, GW_WAN_V6 } from './netns.js';
import { run, spawnTracked, tail, waitFor } from './proc.js';
import type { RunResult, TrackedProcess } from './proc.js';
import { parseRawSection } from './swanctl-format.js';

/** Repository root, computed from this file's location (test/interop/harness/). */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const DAEMON_CLI = join(REPO_ROOT, 'dist', 'daemon', 'cli.js');

/** One log record of the gateway: a pino JSON line (ikegate) or { msg } (strongSwan). */
export interface LogLine {
  msg?: string;
  /** pino level: a number (30) or a label ("info"), depending on the logger's formatters. */
  level?: number | string;
  [key: string]: unknown;
}

const LEVELS: Record<string, number> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 };

/** The numeric pino level of a log line (labels mapped; missing = 30/info). */
export function logLevel(l: LogLine): number {
  if (typeof l.level === 'number') return l.level;
  if (typeof l.level === 'string') return LEVELS[l.level.toLowerCase()] ?? 30;
  return 30;
}

export interface GatewayOptions {
  /** Gateway namespace (topology.gw.ns). */
  ns: string;
  /**
   * The configuration in swanctl.conf syntax (connections/pools/secrets). Unless it has a
   * top-level `ikegate { }` section, one is prepended with listen, state_dir,
   * control_socket, log_level and dataplane = memory.
   */
  configText: string;
  /** Credential directory (x509/, x509ca/, private/); the config file is written into it. */
  credDir: string;
  /** Listen addresses (default 192.0.2.1 and 2001:db8::1). */
  listen?: string[];
  /** Default "debug". */
  logLevel?: string;
  /** Default "memory". */
  dataplane?: string;
  /** How long to wait for `ikegate ready` (default 20 s). */
  readyTimeoutMs?: number;
  /** Override IKEGATE_INTEROP_REFERENCE. */
  reference?: 'strongswan' | 'none';
}

export interface Gateway {
  readonly kind: 'ikegate' | 'strongswan';
  readonly ns: string;
  readonly configPath: string;
  readonly controlSocket: string;
  /** Log records so far (ikegate: parsed JSON lines of stdout). */
  logLines(): LogLine[];
  /** The raw log text (stdout + stderr). */
  logText(): string;
  findLog(pred: (l: LogLine) => boolean): LogLine | undefined;
  waitForLog(what: string, pred: (l: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** IKE_SAs: `cli.js list-sas --json --socket S` (reference: swanctl --list-sas). */
  listSas(): Promise<Array<Record<string, unknown>>>;
  isRunning(): boolean;
  /** Exit code or signal once exited. */
  exitStatus(): number | string | undefined;
  /** SIGTERM, wait up to 10 s, then SIGKILL; resolves with the exit status. */
  stop(): Promise<number | string | undefined>;
  /** The tail of the log, for assertion messages. */
  describe(): string;
}

export function referenceMode(opt?: GatewayOptions['reference']): 'strongswan' | undefined {
  const v = opt ?? process.env.IKEGATE_INTEROP_REFERENCE;
  return v === 'strongswan' ? 'strongswan' : undefined;
}

function hasIkegateSection(text: string): boolean {
  return /^\s*ikegate\s*\{/m.test(text);
}

/** Removes a top-level `ikegate { … }` section (brace matching). */
export function stripIkegateSection(text: string): string {
  const m = /^\s*ikegate\s*\{/m.exec(text);
  if (!m) return text;
  let depth = 0;
  let i = m.index + m[0].length - 1;
  for (; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) break;
  }
  return text.slice(0, m.index) + text.slice(i + 1);
}

export function composeIkegateConfig(opts: GatewayOptions, stateDir: string, socket: string): string {
  if (hasIkegateSection(opts.configText)) return opts.configText;
  const listen = opts.listen ?? [GW_WAN_V4, GW_WAN_V6];
  return [
    'ikegate {',
    `  listen = ${listen.join(', ')}`,
    `  state_dir = ${stateDir}`,
    `  control_socket = ${socket}`,
    `  log_level = ${opts.logLevel ?? 'debug'}`,
    `  dataplane = ${opts.dataplane ?? 'memory'}`,
    '}',
    opts.configText,
  ].join('\n');
}

export async function startIkegate(opts: GatewayOptions): Promise<Gateway> {
  if (referenceMode(opts.reference) === 'strongswan') return startStrongswanResponder(opts);
  if (!existsSync(DAEMON_CLI)) {
    throw new Error(`ikegate is not built: ${DAEMON_CLI} does not exist (run \`npm run build\` first)`);
  }
  mkdirSync(opts.credDir, { recursive: true });
  const stateDir = join(opts.credDir, 'state');
  mkdirSync(stateDir, { recursive: true });
  const socket = join(opts.credDir, 'ikegate.sock');
  const configPath = join(opts.credDir, 'ikegate.conf');
  writeFileSync(configPath, composeIkegateConfig(opts, stateDir, socket));

  const out = jsonLogCollector();
  const lines = out.lines;
  const onStdout = out.onChunk;
  const proc: TrackedProcess = spawnTracked(
    `ikegate@${opts.ns}`,
    ['ip', 'netns', 'exec', opts.ns, process.execPath, DAEMON_CLI, 'run', '--config', configPath],
    { onStdout, onStderr: (c) => out.append(c) },
  );
  let status: number | string | undefined;
  void proc.exited.then((s) => (status = s));

  const gw: Gateway = {
    kind: 'ikegate',
    ns: opts.ns,
    configPath,
    controlSocket: socket,
    logLines: () => lines,
    logText: () => out.text(),
    findLog: (pred) => lines.find(pred),
    waitForLog: (what, pred, timeoutMs = 10_000) =>
      waitFor(`gateway log: ${what}`, () => lines.find(pred), timeoutMs, 50),
    listSas: async () => {
      const r = await run([process.execPath, DAEMON_CLI, 'list-sas', '--json', '--socket', socket], {
        timeoutMs: 15_000,
      });
      const v = JSON.parse(r.stdout) as unknown;
      if (!Array.isArray(v)) throw new Error(`list-sas --json did not print an array:\n${r.stdout}`);
      return v as Array<Record<string, unknown>>;
    },
    isRunning: () => !proc.hasExited(),
    exitStatus: () => status,
    stop: async () => proc.stop(10_000),
    describe: () => `ikegate in ${opts.ns} (${proc.hasExited() ? `exited: ${String(status)}` : 'running'})\n--- ikegate log ---\n${tail(out.text(), 10_000)}`,
  };

  try {
    await waitFor(
      "ikegate's `ikegate ready` log line",
      () => {
        if (proc.hasExited()) throw new Error(`ikegate exited (${String(status)}) before it was ready`);
        return lines.some((l) => l.msg === 'ikegate ready');
      },
      opts.readyTimeoutMs ?? 20_000,
      50,
    );
  } catch (e) {
    await proc.stop(2000);
    throw new Error(`${(e as Error).message}\nconfig: ${configPath}\n--- ikegate output ---\n${tail(out.text(), 10_000)}`);
  }
  return gw;
}

/** Seconds the reference responder keeps an IKE_SA whose IKE_AUTH never completed. */
export const REFERENCE_HALF_OPEN_TIMEOUT_S = 5;

/**
 * The remote authentication rounds of each loaded connection of a strongSwan charon, from
 * `swanctl --list-conns --raw` (`remote-1 { class=EAP eap-type=EAP_MSCHAPV2 }` → "eap-mschapv2").
 */
async function referenceRemoteAuth(charon: CharonInstance): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  const r = await charon.swanctl('--list-conns', ['--raw'], { check: false });
  for (const line of r.stdout.split('\n')) {
    const m = /^list-conn event \{(.*)\}\s*$/.exec(line.trim());
    if (!m?.[1]) continue;
    for (const [name, conn] of Object.entries(parseRawSection(m[1]))) {
      if (typeof conn !== 'object' || Array.isArray(conn)) continue;
      const rounds: string[] = [];
      for (const [key, round] of Object.entries(conn)) {
        if (!/^remote/.test(key) || typeof round !== 'object' || Array.isArray(round)) continue;
        const cls = typeof round.class === 'string' ? round.class.toLowerCase() : '';
        const eap = round['eap-type'];
        rounds.push(cls === 'eap' && typeof eap === 'string' ? `eap-${eap.toLowerCase().replace(/^eap_/, '')}` : cls);
      }
      out.set(name, rounds);
    }
  }
  return out;
}

/**
 * A strongSwan charon as responder with the equivalent swanctl.conf: the reference used
 * to validate the harness itself (harness-selfcheck.test.ts) and, with
 * IKEGATE_INTEROP_REFERENCE=strongswan, the client side of every scenario.
 */
export async function startStrongswanResponder(opts: GatewayOptions): Promise<Gateway> {
  mkdirSync(opts.credDir, { recursive: true });
  const configPath = join(opts.credDir, 'swanctl-reference.conf');
  writeFileSync(configPath, stripIkegateSection(opts.configText));
  const charon = new CharonInstance({
    ns: opts.ns,
    dir: join(dirname(opts.credDir), `${opts.credDir.split('/').pop() ?? 'gw'}-strongswan`),
    swanctlDir: opts.credDir,
  });
  // strongSwan keeps a responder IKE_SA whose IKE_AUTH the initiator abandoned (e.g. with
  // INFORMATIONAL N(AUTH_FAILED) after an EAP failure) as CONNECTING until this timeout
  // (default 30 s); shorten it so "no SA left behind" checks settle quickly.
  await charon.start({ charonSettings: { half_open_timeout: REFERENCE_HALF_OPEN_TIMEOUT_S } });
  let status: number | string | undefined;
  const loaded = await charon.swanctl('--load-all', ['--noprompt', '--file', configPath], { check: false });
  if (loaded.code !== 0) {
    await charon.stop();
    throw new Error(`reference responder: swanctl --load-all failed:\n${loaded.stdout}${loaded.stderr}\n${tail(charon.log())}`);
  }
  const lines = (): LogLine[] =>
    charon
      .log()
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => ({ msg: l }));
  return {
    kind: 'strongswan',
    ns: opts.ns,
    configPath,
    controlSocket: charon.viciUri,
    logLines: lines,
    logText: () => charon.log(),
    findLog: (pred) => lines().find(pred),
    waitForLog: (what, pred, timeoutMs = 10_000) =>
      waitFor(`reference responder log: ${what}`, () => lines().find(pred), timeoutMs, 100),
    listSas: async () => {
      // strongSwan's list-sas does not name the authentication method; add the remote auth
      // rounds of the SA's connection (from list-conns) so scenarios can check for it.
      const auth = await referenceRemoteAuth(charon);
      return (await charon.listSas()).map((sa) => ({ ...sa, raw: undefined, remoteAuth: auth.get(sa.name) ?? [] }));
    },
    isRunning: () => charon.isRunning(),
    exitStatus: () => status,
    stop: async () => {
      await charon.stop();
      status = 0;
      return status;
    },
    describe: () => `strongSwan reference responder in ${opts.ns}\n--- charon.log ---\n${tail(charon.log(), 10_000)}`,
  };
}

// ---------------------------------------------------------------------------------------------
// ikegate with its embedded default configuration (`ikegate run` without --config).

/** What `ikegate run` prints on stderr when it runs the embedded default configuration. */
export interface DefaultConnectionInfo {
  stateDir: string | undefined;
  caCertPath: string | undefined;
  /** "AB:CD:…" (SHA-256 of the CA certificate's DER). */
  caFingerprint: string | undefined;
  /** From `user 'NAME', password 'PW'` (first start only). */
  user: string | undefined;
  password: string | undefined;
  /** From `users are in FILE` (later starts) or the first-start line. */
  usersFile: string | undefined;
  /** `Connect to one of: …`. */
  connectTo: string[];
}

export function parseDefaultConnectionInfo(text: string): DefaultConnectionInfo {
  const m = (re: RegExp): string | undefined => re.exec(text)?.[1];
  const pw = /user '([^']+)', password '([^']*)'/.exec(text);
  return {
    stateDir: m(/running its embedded default configuration \(state in (.+?)\)\./),
    caCertPath: m(/CA certificate[^:\n]*:\s*(\S+)/),
    caFingerprint: m(/CA SHA-256 fingerprint:\s*([0-9A-Fa-f:]+)/),
    user: pw?.[1],
    password: pw?.[2],
    usersFile: m(/users are in (\S+?)\)?$/m),
    connectTo: (m(/Connect to one of:\s*(.+?) \(IKEv2/) ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== ''),
  };
}

export interface DefaultGatewayOptions {
  /** Gateway namespace (topology.gw.ns). */
  ns: string;
  /** IKEGATE_STATE_DIR (created if missing; reused as it is otherwise). */
  stateDir: string;
  /**
   * Directory bind-mounted over /run inside the daemon's private mount namespace (created);
   * the control socket /run/ikegate/ikegate.sock appears as RUNDIR/ikegate/ikegate.sock.
   * Default: <stateDir>/../run-<ns>.
   */
  runDir?: string;
  /** How long to wait for `ikegate ready` and the connection info (default 20 s). */
  readyTimeoutMs?: number;
}

export interface DefaultGateway extends Gateway {
  readonly stateDir: string;
  /** PID of the daemon (node itself: ip netns exec, unshare and sh all exec). */
  readonly pid: number;
  /** The host-side path of the daemon's /run. */
  readonly runDir: string;
  /** Everything the daemon wrote on stderr (the connection info, errors). */
  stderrText(): string;
  /** The parsed connection info of this start. */
  readonly info: DefaultConnectionInfo;
  /** Runs `node cli.js ARGS` inside the daemon's network and mount namespaces (nsenter). */
  cli(args: readonly string[], opts?: { check?: boolean; timeoutMs?: number }): Promise<RunResult>;
}

/** `node cli.js ARGS` with IKEGATE_STATE_DIR set, outside any namespace (e.g. `cert issue`). */
export function ikegateCli(
  args: readonly string[],
  opts: { stateDir?: string; check?: boolean; timeoutMs?: number } = {},
): Promise<RunResult> {
  return run([process.execPath, DAEMON_CLI, ...args], {
    env: opts.stateDir !== undefined ? { IKEGATE_STATE_DIR: opts.stateDir } : {},
    check: opts.check ?? true,
    timeoutMs: opts.timeoutMs ?? 20_000,
  });
}

/**
 * Starts `ikegate run` WITHOUT --config (the embedded default: it listens on 0.0.0.0 and ::,
 * its control socket is /run/ikegate/ikegate.sock) inside the namespace and a private mount
 * namespace whose /run is a bind mount of runDir, with IKEGATE_STATE_DIR = stateDir. Waits for
 * the `ikegate ready` log line and the connection info on stderr. listSas() runs
 * `list-sas --json` without --socket inside the daemon's namespaces, so it exercises the
 * default socket path.
 */
export async function startIkegateDefault(opts: DefaultGatewayOptions): Promise<DefaultGateway> {
  if (!existsSync(DAEMON_CLI)) {
    throw new Error(`ikegate is not built: ${DAEMON_CLI} does not exist (run \`npm run build\` first)`);
  }
  mkdirSync(opts.stateDir, { recursive: true });
  const runDir = opts.runDir ?? join(dirname(opts.stateDir), `run-${opts.ns}`);
  mkdirSync(runDir, { recursive: true });

  const out = jsonLogCollector();
  const lines = out.lines;
  let stderr = '';
  const onStdout = out.onChunk;
  const script = 'mount --bind "$1" /run || exit 97; shift; exec "$@"';
  const proc: TrackedProcess = spawnTracked(
    `ikegate-default@${opts.ns}`,
    [
      'ip', 'netns', 'exec', opts.ns, 'unshare', '--mount', '--propagation', 'private', '--',
      'sh', '-c', script, 'sh', runDir, process.execPath, DAEMON_CLI, 'run',
    ],
    {
      env: { IKEGATE_STATE_DIR: opts.stateDir },
      onStdout,
      onStderr: (c) => {
        stderr += c;
        out.append(c);
      },
    },
  );
  let status: number | string | undefined;
  void proc.exited.then((s) => (status = s));
  const describe = (): string =>
    `ikegate (default config, state ${opts.stateDir}) in ${opts.ns} (${proc.hasExited() ? `exited: ${String(status)}` : 'running'})\n--- ikegate output ---\n${tail(out.text(), 10_000)}`;

  const cli: DefaultGateway['cli'] = (args, o = {}) =>
    run(['nsenter', '--target', String(proc.pid), '--mount', '--net', '--', process.execPath, DAEMON_CLI, ...args], {
      env: { IKEGATE_STATE_DIR: opts.stateDir },
      check: o.check ?? true,
      timeoutMs: o.timeoutMs ?? 15_000,
    });

  try {
    await waitFor(
      "ikegate's `ikegate ready` log line and its connection info on stderr",
      () => {
        if (proc.hasExited()) throw new Error(`ikegate exited (${String(status)}) before it was ready`);
        return lines.some((l) => l.msg === 'ikegate ready') && /Connect to one of: .*\n/.test(stderr);
      },
      opts.readyTimeoutMs ?? 20_000,
      50,
    );
  } catch (e) {
    await proc.stop(2000);
    throw new Error(`${(e as Error).message}\n${describe()}`);
  }

  return {
    kind: 'ikegate',
    ns: opts.ns,
    configPath: '<embedded default config>',
    controlSocket: join(runDir, 'ikegate', 'ikegate.sock'),
    stateDir: opts.stateDir,
    pid: proc.pid,
    runDir,
    info: parseDefaultConnectionInfo(stderr),
    stderrText: () => stderr,
    cli,
    logLines: () => lines,
    logText: () => out.text(),
    findLog: (pred) => lines.find(pred),
    waitForLog: (what, pred, timeoutMs = 10_000) =>
      waitFor(`gateway log: ${what}`, () => lines.find(pred), timeoutMs, 50),
    listSas: async () => {
      if (proc.hasExited()) throw new Error(`list-sas: the daemon is gone\n${describe()}`);
      const r = await cli(['list-sas', '--json']);
      const v = JSON.parse(r.stdout) as unknown;
      if (!Array.isArray(v)) throw new Error(`list-sas --json did not print an array:\n${r.stdout}`);
      return v as Array<Record<string, unknown>>;
    },
    isRunning: () => !proc.hasExited(),
    exitStatus: () => status,
    stop: async () => proc.stop(10_000),
    describe,
  };
}

/** The daemon's stdout as JSON log lines (pino), plus all output as text for failure messages. */
function jsonLogCollector(): { lines: LogLine[]; onChunk(chunk: string): void; append(chunk: string): void; text(): string } {
  const lines: LogLine[] = [];
  let text = '';
  let partial = '';
  return {
    lines,
    append: (chunk) => {
      text += chunk;
    },
    text: () => text,
    onChunk: (chunk) => {
      text += chunk;
      partial += chunk;
      const parts = partial.split('\n');
      partial = parts.pop() ?? '';
      for (const p of parts) {
        if (p.trim() === '') continue;
        try {
          const v = JSON.parse(p) as unknown;
          lines.push(typeof v === 'object' && v !== null ? (v as LogLine) : { msg: p });
        } catch {
          lines.push({ msg: p, unparsed: true });
        }
      }
    },
  };
}
