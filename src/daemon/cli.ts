#!/usr/bin/env node
// The `ikegate` command: run the daemon, list SAs through the control socket, print the version.
// A bad configuration is one line on stderr naming file and line, and exit status 1.
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDefaultCredentials, issueClientCertificate } from '../credentials/bootstrap.js';
import { defaultConfigFor, ensureDefaultUser } from '../config/default.js';
import { DAEMON_DEFAULTS, loadConfig, loadConfigText, type LoadResult } from '../config/load.js';
import type { IkeSaSummary } from '../ike/sa/summary.js';
import { createLogger } from '../log/logger.js';
import { controlRequest } from './control.js';
import { startGateway } from './runtime.js';
import { VERSION } from './version.js';

const USAGE = `usage: ikegate <command> [options]

commands:
  run [--config FILE]            run the gateway (without --config: the embedded default,
                                 with a CA and server certificate created in the state directory)
  list-sas [--json] [--socket PATH | --config FILE]
                                 list IKE_SAs and CHILD_SAs of the running daemon
  cert issue NAME [--state-dir DIR]
                                 issue a client certificate from the default CA
  version                        print the version
`;

const DEFAULT_STATE_DIR = process.env.IKEGATE_STATE_DIR ?? DAEMON_DEFAULTS.stateDir;

function fail(message: string, code = 1): never {
  process.stderr.write(`ikegate: ${message}\n`);
  process.exit(code);
}

/** Interfaces whose addresses clients never connect to (containers, bridges, tunnels, our TUN). */
const INTERNAL_INTERFACE = /^(docker|br-|veth|virbr|cni|flannel|cali|tun|tap|wg|ikegate)/;

/** The addresses a client may type to reach this host: the default server certificate names them. */
function hostAddresses(): string[] {
  const out: string[] = [];
  for (const [name, list] of Object.entries(networkInterfaces())) {
    if (INTERNAL_INTERFACE.test(name)) continue;
    for (const a of list ?? []) if (!a.internal && !a.address.toLowerCase().startsWith('fe80')) out.push(a.address);
  }
  return out;
}

async function loadForRun(configPath: string | undefined): Promise<LoadResult & { defaultInfo?: string }> {
  if (configPath) return loadConfig(configPath);
  const stateDir = DEFAULT_STATE_DIR;
  const addresses = hostAddresses();
  const boot = await ensureDefaultCredentials(stateDir, { hostnames: [hostname()], addresses });
  const user = ensureDefaultUser(stateDir);
  const loaded = loadConfigText(defaultConfigFor(stateDir), '<embedded default config>', join(stateDir, 'swanctl'));
  const info = [
    `ikegate is running its embedded default configuration (state in ${stateDir}).`,
    `Clients verify the gateway with the ikegate CA:`,
    `  CA certificate (install it as a trusted root on clients): ${boot.caCertPath}`,
    `  CA SHA-256 fingerprint: ${boot.caFingerprintSha256}`,
    `  server certificate: ${boot.serverCertPath} (names: ${[hostname(), ...addresses].join(', ')})`,
    `Clients authenticate with a user name and password (EAP-MSCHAPv2, Windows' default) or a certificate:`,
    user.password
      ? `  user '${user.user}', password '${user.password}' (created now; shown only once; users are in ${user.file})`
      : `  users are in ${user.file}`,
    `  issue a client certificate: ikegate cert issue <name>`,
    `Connect to one of: ${[hostname(), ...addresses].join(', ')} (IKEv2, UDP 500/4500).`,
  ].join('\n');
  return { ...loaded, defaultInfo: info };
}

async function run(configPath: string | undefined): Promise<void> {
  let loaded: Awaited<ReturnType<typeof loadForRun>>;
  try {
    loaded = await loadForRun(configPath);
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const log = createLogger(loaded.config.daemon.logLevel);
  for (const w of loaded.warnings) log.warn({ file: w.file, line: w.line }, `${w.file}:${w.line}: ${w.message}`);
  let gateway: Awaited<ReturnType<typeof startGateway>>;
  try {
    gateway = await startGateway(loaded.config, log);
  } catch (err) {
    log.flush?.();
    fail(err instanceof Error ? err.message : String(err));
  }
  if (loaded.defaultInfo) process.stderr.write(`${loaded.defaultInfo}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    void gateway.close(`received ${signal}`).then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'error during shutdown');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

function formatSas(sas: IkeSaSummary[]): string {
  if (sas.length === 0) return 'no IKE_SAs\n';
  const lines: string[] = [];
  for (const sa of sas) {
    lines.push(
      `${sa.name}: #${sa.id} ${sa.state}, ${sa.local}[${sa.localId ?? '-'}]...${sa.remote}[${sa.remoteId ?? '-'}]${sa.natRemote ? ' (peer behind NAT)' : ''}`,
    );
    lines.push(`  ${sa.proposal}, SPIs ${sa.ispi}_i ${sa.rspi}_r, ${sa.ageSeconds}s${sa.remoteAuth ? `, auth ${sa.remoteAuth}` : ''}`);
    if (sa.eapIdentity) lines.push(`  EAP identity: ${sa.eapIdentity} (${sa.eapMethod ?? 'EAP'})`);
    if (sa.vips.length) lines.push(`  virtual IPs: ${sa.vips.join(', ')}`);
    for (const c of sa.children) {
      const usage = c.usageIn || c.usageOut ? `, ${c.usageIn?.bytes ?? 0} bytes_i (${c.usageIn?.packets ?? 0} pkts), ${c.usageOut?.bytes ?? 0} bytes_o (${c.usageOut?.packets ?? 0} pkts)${lastUse(c.usageIn?.lastUse ?? c.usageOut?.lastUse)}` : '';
      lines.push(`  ${c.name}{${c.reqid}}: ${c.proposal}, SPIs ${c.spiIn}_i ${c.spiOut}_o${c.encap ? ', UDP-encapsulated' : ''}, ${c.ageSeconds}s${usage}`);
      lines.push(`    ${c.localTs.join(' ')} === ${c.remoteTs.join(' ')}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

function lastUse(at: number | undefined): string {
  return at === undefined ? '' : `, last use ${Math.max(0, Math.round((Date.now() - at) / 1000))}s ago`;
}

function socketPath(values: { socket?: string | undefined; config?: string | undefined }): string {
  if (values.socket) return values.socket;
  if (values.config) {
    try {
      return loadConfig(values.config).config.daemon.controlSocket;
    } catch (err) {
      fail(err instanceof Error ? err.message : String(err));
    }
  }
  return DAEMON_DEFAULTS.controlSocket;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run': {
      const { values } = parseArgs({ args: rest, options: { config: { type: 'string', short: 'c' } }, strict: true });
      await run(values.config);
      return;
    }
    case 'list-sas': {
      const { values } = parseArgs({
        args: rest,
        options: { json: { type: 'boolean' }, socket: { type: 'string' }, config: { type: 'string', short: 'c' } },
        strict: true,
      });
      const sas = (await controlRequest(socketPath(values), { cmd: 'list-sas' })) as IkeSaSummary[];
      process.stdout.write(values.json ? `${JSON.stringify(sas, null, 2)}\n` : formatSas(sas));
      return;
    }
    case 'cert': {
      const { values, positionals } = parseArgs({ args: rest, options: { 'state-dir': { type: 'string' } }, allowPositionals: true, strict: true });
      if (positionals[0] !== 'issue' || !positionals[1]) fail(`usage: ikegate cert issue NAME [--state-dir DIR]`, 2);
      const issued = await issueClientCertificate(values['state-dir'] ?? DEFAULT_STATE_DIR, { name: positionals[1] });
      process.stdout.write(`${issued.certPem}${issued.keyPem}`);
      return;
    }
    case 'version':
    case '--version':
      process.stdout.write(`ikegate ${VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(USAGE);
      return;
    default:
      process.stderr.write(USAGE);
      fail(`unknown command '${command}'`, 2);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => fail(err instanceof Error ? err.message : String(err)));
