// Interop tests need root, network namespaces and strongSwan. When something is missing
// the test must FAIL (never skip) and say how to install it.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';

export const CHARON_PATH = process.env.IKEGATE_CHARON ?? '/usr/lib/ipsec/charon';
export const PLUGIN_DIR = '/usr/lib/ipsec/plugins';

export type Tool = 'charon' | 'swanctl' | 'pki' | 'ip' | 'nft' | 'unshare' | 'ping' | 'nsenter' | 'openssl';

const DEBIAN_PACKAGES: Record<Tool, string> = {
  charon: 'strongswan-charon libcharon-extra-plugins libcharon-extauth-plugins libstrongswan-standard-plugins libstrongswan-extra-plugins',
  swanctl: 'strongswan-swanctl',
  pki: 'strongswan-pki',
  ip: 'iproute2',
  nft: 'nftables',
  unshare: 'util-linux',
  ping: 'iputils-ping',
  nsenter: 'util-linux',
  openssl: 'openssl',
};

/** Plugins the harness loads; a missing .so means a missing Debian package. */
const PLUGINS: Record<string, string> = {
  'kernel-libipsec': 'libcharon-extra-plugins',
  'eap-mschapv2': 'libcharon-extauth-plugins',
  'eap-identity': 'libcharon-extra-plugins',
  'eap-tls': 'libcharon-extra-plugins',
  openssl: 'libstrongswan-standard-plugins',
  vici: 'strongswan-charon',
  resolve: 'libstrongswan',
};

function findInPath(cmd: string): string | undefined {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin', '/bin']);
  for (const d of dirs) {
    const p = join(d, cmd);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // next
    }
  }
  return undefined;
}

/**
 * Throws an Error listing everything missing (tools, plugins, root, /dev/net/tun) with the
 * apt-get command that installs it. Call it first in every interop test file's beforeAll.
 */
export function requireTools(tools: readonly Tool[]): void {
  const problems: string[] = [];
  const packages = new Set<string>();
  if (process.platform !== 'linux') problems.push(`interop tests need Linux (this is ${process.platform})`);
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    problems.push('interop tests must run as root (network namespaces, veth, nftables, bind mounts)');
  }
  for (const t of tools) {
    const found = t === 'charon' ? (existsSync(CHARON_PATH) ? CHARON_PATH : undefined) : findInPath(t);
    if (!found) {
      problems.push(`missing tool: ${t === 'charon' ? CHARON_PATH : t}`);
      for (const p of DEBIAN_PACKAGES[t].split(' ')) packages.add(p);
    }
  }
  if (tools.includes('charon')) {
    for (const [plugin, pkg] of Object.entries(PLUGINS)) {
      if (!existsSync(join(PLUGIN_DIR, `libstrongswan-${plugin}.so`))) {
        problems.push(`missing strongSwan plugin ${plugin} (${PLUGIN_DIR})`);
        packages.add(pkg);
      }
    }
    if (!existsSync('/dev/net/tun')) problems.push('missing /dev/net/tun (kernel-libipsec needs TUN)');
  }
  if (problems.length > 0) {
    const install =
      packages.size > 0
        ? `\nInstall with:\n  apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${[...packages].sort().join(' ')}\n(or run .ci/run, which installs everything the interop tests need)`
        : '';
    throw new Error(`interop test prerequisites not met:\n  - ${problems.join('\n  - ')}${install}`);
  }
}
