// Builds the native addon (native/build/Release/ikegate.node) with the node-gyp that npm
// bundles, against the headers of the local Node install: nothing is downloaded.
// Run by `npm install` (package.json "install"). A failed build is not an install failure:
// it prints one line saying which features are unavailable and exits 0; the daemon then
// runs without the kernel dataplane (src/xfrm/netlink/binding.ts reports the same).
//
//   IKEGATE_SKIP_NATIVE=1   skip the build
//   IKEGATE_NATIVE_VERBOSE=1   show node-gyp's output even on success
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const nativeDir = dirname(fileURLToPath(import.meta.url));
const logFile = join(nativeDir, 'build', 'build.log');
const verbose = process.env.IKEGATE_NATIVE_VERBOSE === '1';

function unavailable(reason) {
  console.log(`ikegate: native addon not built (${reason}): kernel XFRM dataplane and TUN unavailable`);
  process.exit(0);
}

/** npm's bundled node-gyp: npm passes its path to scripts; otherwise find it next to npm. */
function findNodeGyp() {
  const candidates = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  const npmCli = process.env.npm_execpath;
  if (npmCli) candidates.push(join(dirname(realpathSync(npmCli)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const npm = join(dir, 'npm');
    if (dir && existsSync(npm)) {
      candidates.push(join(dirname(realpathSync(npm)), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
    }
  }
  // Node's own prefix (e.g. /usr/share/nodejs/npm on Debian, <prefix>/lib/node_modules/npm elsewhere).
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  candidates.push(join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(join(prefix, 'share', 'nodejs', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((c) => c.endsWith('.js') && existsSync(c));
}

/** Headers of the running Node: <prefix>/include/node/node_api.h, as with nodedir=/usr. */
function findNodeDir() {
  const configured = process.env.npm_config_nodedir;
  if (configured && existsSync(join(configured, 'include', 'node', 'node_api.h'))) return configured;
  const prefix = dirname(dirname(realpathSync(process.execPath)));
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined;
}

if (process.env.IKEGATE_SKIP_NATIVE === '1') unavailable('IKEGATE_SKIP_NATIVE=1');
if (process.platform !== 'linux') unavailable(`platform ${process.platform} is not Linux`);

try {
  createRequire(join(nativeDir, 'binding.gyp')).resolve('node-addon-api');
} catch {
  unavailable('node-addon-api is not installed');
}

const nodeGyp = findNodeGyp();
if (!nodeGyp) unavailable("npm's bundled node-gyp was not found");
const nodeDir = findNodeDir();
if (!nodeDir) unavailable(`no Node headers next to ${process.execPath} (set npm_config_nodedir)`);

const args = [nodeGyp, 'rebuild', `--nodedir=${nodeDir}`, '--jobs=max'];
const result = spawnSync(process.execPath, args, {
  cwd: nativeDir,
  encoding: 'utf8',
  stdio: verbose ? 'inherit' : 'pipe',
  env: { ...process.env, npm_config_nodedir: nodeDir },
});

const output = `$ ${process.execPath} ${args.join(' ')}\n${result.stdout ?? ''}${result.stderr ?? ''}`;
const built = join(nativeDir, 'build', 'Release', 'ikegate.node');
if (result.error || result.status !== 0 || !existsSync(built)) {
  mkdirSync(dirname(logFile), { recursive: true });
  writeFileSync(logFile, output);
  const why = result.error ? result.error.message : `node-gyp exited with ${result.status ?? result.signal}`;
  unavailable(`${why}; see ${relative(process.cwd(), logFile) || logFile}`);
}
if (!verbose) writeFileSync(logFile, output);
console.log(`ikegate: native addon built (${relative(process.cwd(), built)})`);
