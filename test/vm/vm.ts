// Host side of the QEMU test bed (test/vm/vm-run.sh): what it needs, and one guest run.
// A missing piece (qemu, the cloud kernel, busybox-static, virtiofsd, a build) is a FAILURE
// with the package to install, never a skip.
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from '../interop/harness/proc.js';

export const VM_DIR = fileURLToPath(new URL('.', import.meta.url));
export const VM_RUN = join(VM_DIR, 'vm-run.sh');
const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

function inPath(cmd: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    try {
      accessSync(join(d, cmd), constants.X_OK);
      return join(d, cmd);
    } catch {
      // next
    }
  }
  return undefined;
}

/** The newest /boot/vmlinuz-*-cloud-amd64, as vm-run.sh picks it. */
export function cloudKernel(): string | undefined {
  let names: string[] = [];
  try {
    names = readdirSync('/boot').filter((n) => /^vmlinuz-.*-cloud-amd64$/.test(n));
  } catch {
    return undefined;
  }
  names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  const last = names[names.length - 1];
  return last ? join('/boot', last) : undefined;
}

/** Throws listing everything the VM run lacks, with the apt-get line that installs it. */
export function requireVm(): void {
  const problems: string[] = [];
  const packages = new Set<string>();
  const need = (ok: boolean, what: string, pkg?: string): void => {
    if (ok) return;
    problems.push(what);
    if (pkg) packages.add(pkg);
  };
  if (typeof process.getuid === 'function') need(process.getuid() === 0, 'the VM runner must run as root (virtiofsd, bind mounts)');
  need(inPath('qemu-system-x86_64') !== undefined, 'missing qemu-system-x86_64', 'qemu-system-x86');
  need(existsSync('/usr/lib/qemu/virtiofsd') || inPath('virtiofsd') !== undefined, 'missing virtiofsd (/usr/lib/qemu/virtiofsd)', 'qemu-system-x86');
  const busybox = inPath('busybox');
  need(busybox !== undefined, 'missing busybox', 'busybox-static');
  if (busybox) {
    // a dynamically linked busybox cannot run in the initramfs (no libc there)
    const elf = readFileSync(busybox).subarray(0, 4096).toString('latin1');
    need(!elf.includes('/lib64/ld-linux') && !elf.includes('/lib/ld-linux'), `${busybox} is dynamically linked`, 'busybox-static');
  }
  need(inPath('cpio') !== undefined, 'missing cpio', 'cpio');
  need(inPath('modprobe') !== undefined, 'missing modprobe', 'kmod');
  need(inPath('lz4') !== undefined, 'missing lz4 (unpacks the kernel for a fast PVH boot)', 'lz4');
  const kernel = cloudKernel();
  need(kernel !== undefined, 'no /boot/vmlinuz-*-cloud-amd64 (the guest kernel, with ESP)', 'linux-image-cloud-amd64');
  if (kernel) {
    const kver = kernel.replace(/^\/boot\/vmlinuz-/, '');
    need(existsSync(`/lib/modules/${kver}/modules.dep`), `no /lib/modules/${kver}/modules.dep`, 'linux-image-cloud-amd64');
  }
  need(existsSync(join(REPO_ROOT, 'dist', 'daemon', 'cli.js')), 'ikegate is not built (dist/daemon/cli.js): run `npm run build`');
  need(existsSync(join(REPO_ROOT, 'native', 'build', 'Release', 'ikegate.node')), 'the native addon is not built (native/build/Release/ikegate.node): run `npm install` / `node native/build.mjs`');
  if (problems.length > 0) {
    const install = packages.size > 0
      ? `\nInstall with:\n  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${[...packages].sort().join(' ')}\n(or run scripts/test-deps.sh)`
      : '';
    throw new Error(`kernel-ESP VM prerequisites not met:\n  - ${problems.join('\n  - ')}${install}`);
  }
}

export interface VmRun {
  /** vm-run.sh's exit status: the guest command's, 124 = VM timeout, 125 = VM failure. */
  code: number | null;
  stdout: string;
  stderr: string;
  durationMs: number;
  /** From vm-run.sh -T: qemu launch -> guest command start, and the command itself (seconds). */
  bootS: number | undefined;
  commandS: number | undefined;
}

/**
 * Boots one VM: `vm-run.sh -T -t TIMEOUT -w DIR… -- argv…`. The guest sees the host's files
 * read-only (the checkout, dist, node_modules, strongSwan) and writes only to the -w dirs.
 */
export async function runInVm(argv: readonly string[], opts: { shared: string[]; timeoutS: number; env?: Record<string, string> }): Promise<VmRun> {
  const args = ['-T', '-t', String(opts.timeoutS)];
  for (const d of opts.shared) args.push('-w', d);
  for (const [k, v] of Object.entries(opts.env ?? {})) args.push('-e', `${k}=${v}`);
  const r = await run(['bash', VM_RUN, ...args, '--', ...argv], { check: false, timeoutMs: (opts.timeoutS + 60) * 1000 });
  const t = /boot \(qemu launch -> command start\) ([\d.]+)s.*?command ([\d.]+)s/.exec(r.stderr);
  return {
    code: r.code,
    stdout: r.stdout,
    stderr: r.stderr,
    durationMs: r.durationMs,
    bootS: t ? Number(t[1]) : undefined,
    commandS: t ? Number(t[2]) : undefined,
  };
}
