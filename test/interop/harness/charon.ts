// One strongSwan charon daemon inside a network namespace, fully private:
//  - its own strongswan.conf (STRONGSWAN_CONF) with an explicit plugin list
//    (kernel-libipsec before kernel-netlink: the host kernel has no ESP),
//  - its own /run (charon hard-codes /var/run/charon.pid) via `unshare --mount` + bind mount,
//  - its own vici socket, SWANCTL_DIR, file log and resolv.conf (resolve plugin),
//  - /sbin/resolvconf, if installed, shadowed by a shim that writes into the test dir
//    (strongSwan 5.9 prefers resolvconf unconditionally and would touch the host's DNS).
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, spawnTracked, tail, waitFor } from './proc.js';
import type { RunResult, TrackedProcess } from './proc.js';
import { CHARON_PATH } from './requirements.js';
import { renderConf } from './swanctl-format.js';
import type { ConfSection } from './swanctl-format.js';
import { parseListSasRaw } from './swanctl-format.js';
import type { IkeSaInfo } from './swanctl-format.js';

export const CHARON_PLUGINS = [
  'random', 'nonce', 'openssl', 'kdf', 'pem', 'pkcs1', 'pkcs8', 'x509', 'pubkey', 'constraints',
  'kernel-libipsec', 'kernel-netlink', 'socket-default', 'vici', 'resolve', 'attr',
  'eap-identity', 'eap-md5', 'eap-mschapv2', 'eap-tls',
] as const;

const SWANCTL_PLUGINS = 'random nonce openssl pem pkcs1 pkcs8 x509 pubkey';
const RESOLVCONF = '/sbin/resolvconf';

export interface CharonOptions {
  ns: string;
  /** Instance directory (created): strongswan.conf, run/, swanctl/, charon.log, resolv.conf. */
  dir: string;
  /** Directory used as SWANCTL_DIR (default DIR/swanctl). */
  swanctlDir?: string;
  /** Extra settings merged into the `charon { }` section. */
  charonSettings?: ConfSection;
  /** Wait this long for the vici socket (default 15 s). */
  startTimeoutMs?: number;
  /** File-log levels by subsystem, merged over the defaults (e.g. { tls: 2 }). */
  logLevels?: Record<string, number>;
}

export class CharonInstance {
  readonly ns: string;
  readonly dir: string;
  readonly swanctlDir: string;
  readonly confPath: string;
  readonly viciUri: string;
  readonly logPath: string;
  readonly outPath: string;
  readonly resolvPath: string;
  private readonly logLevels: Record<string, number>;
  private proc: TrackedProcess | undefined;

  constructor(opts: CharonOptions) {
    this.ns = opts.ns;
    this.dir = opts.dir;
    this.swanctlDir = opts.swanctlDir ?? join(opts.dir, 'swanctl');
    this.confPath = join(opts.dir, 'strongswan.conf');
    this.viciUri = `unix://${join(opts.dir, 'run', 'charon.vici')}`;
    this.logPath = join(opts.dir, 'charon.log');
    this.outPath = join(opts.dir, 'charon.out');
    this.resolvPath = join(opts.dir, 'resolv.conf');
    this.logLevels = opts.logLevels ?? {};
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  isRunning(): boolean {
    return this.proc !== undefined && !this.proc.hasExited();
  }

  writeConf(extra: ConfSection = {}): void {
    const d = this.dir;
    const conf: ConfSection = {
      charon: {
        load_modular: false,
        load: CHARON_PLUGINS.join(' '),
        retransmit_tries: 3,
        retransmit_timeout: '1.0',
        retransmit_base: '1.5',
        install_virtual_ip: true,
        ...extra,
        plugins: {
          vici: { socket: this.viciUri },
          resolve: { file: this.resolvPath },
          openssl: { load_legacy: true },
          ...((extra.plugins as ConfSection | undefined) ?? {}),
        },
        filelog: {
          main: {
            path: join(d, 'charon.log'),
            time_format: '%H:%M:%S',
            append: false,
            flush_line: true,
            default: 1,
            ike: 2,
            cfg: 2,
            knl: 1,
            enc: 1,
            net: 1,
            ...this.logLevels,
          },
        },
        syslog: { daemon: { default: -1 }, auth: { default: -1 } },
      },
      swanctl: { load: SWANCTL_PLUGINS },
    };
    writeFileSync(this.confPath, renderConf(conf));
  }

  async start(opts: { startTimeoutMs?: number; charonSettings?: ConfSection } = {}): Promise<void> {
    const d = this.dir;
    mkdirSync(join(d, 'run'), { recursive: true });
    for (const sub of ['x509', 'x509ca', 'x509ocsp', 'x509aa', 'x509ac', 'x509crl', 'pubkey', 'private', 'rsa', 'ecdsa', 'bliss', 'pkcs8', 'pkcs12']) {
      mkdirSync(join(this.swanctlDir, sub), { recursive: true });
    }
    this.writeConf(opts.charonSettings);
    writeFileSync(this.resolvPath, '');
    const shim = join(d, 'resolvconf-shim');
    writeFileSync(
      shim,
      `#!/bin/sh\n# test shim: record what strongSwan would hand to resolvconf\ncase "$1" in -a) cat >> '${this.resolvPath}' ;; *) cat > /dev/null ;; esac\n`,
    );
    chmodSync(shim, 0o755);
    const resolvconf = existsSync(RESOLVCONF) ? realpathSync(RESOLVCONF) : '';
    const script =
      'mount --bind "$1/run" /run || exit 97; ' +
      'if [ -n "$3" ]; then mount --bind "$1/resolvconf-shim" "$3" || exit 98; fi; ' +
      'exec "$2"';
    this.proc = spawnTracked(
      `charon@${this.ns}`,
      ['ip', 'netns', 'exec', this.ns, 'unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', script, 'sh', d, CHARON_PATH, resolvconf],
      { env: { STRONGSWAN_CONF: this.confPath }, logFile: this.outPath },
    );
    const sock = join(d, 'run', 'charon.vici');
    try {
      await waitFor(
        `charon's vici socket in ${this.ns}`,
        () => {
          if (this.proc?.hasExited()) throw new Error('charon exited during start-up');
          return existsSync(sock);
        },
        opts.startTimeoutMs ?? 15_000,
        50,
      );
    } catch (e) {
      const msg = `charon in ${this.ns} did not come up: ${(e as Error).message}\n--- charon.out ---\n${this.readFile(this.outPath)}\n--- charon.log ---\n${tail(this.log())}`;
      await this.stop();
      throw new Error(msg);
    }
  }

  private readFile(p: string): string {
    try {
      return readFileSync(p, 'utf8');
    } catch {
      return '';
    }
  }

  /** The daemon's file log (IKE 2, CFG 2, KNL 1). */
  log(): string {
    return this.readFile(this.logPath);
  }

  /** Runs `swanctl CMD --uri … ARGS` with this instance's STRONGSWAN_CONF and SWANCTL_DIR. */
  swanctl(cmd: string, args: readonly string[] = [], opts: { timeoutMs?: number; check?: boolean } = {}): Promise<RunResult> {
    return run(['swanctl', cmd, '--uri', this.viciUri, ...args], {
      env: { STRONGSWAN_CONF: this.confPath, SWANCTL_DIR: this.swanctlDir },
      timeoutMs: opts.timeoutMs ?? 20_000,
      check: opts.check ?? true,
    });
  }

  async listSas(): Promise<IkeSaInfo[]> {
    const r = await this.swanctl('--list-sas', ['--raw']);
    return parseListSasRaw(r.stdout);
  }

  async stop(): Promise<void> {
    if (this.proc) await this.proc.stop(5000);
  }
}
