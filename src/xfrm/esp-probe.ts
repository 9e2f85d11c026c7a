// Does this kernel do ESP? XFRM netlink can exist without the esp4/esp6 modules (containers,
// micro-VMs, this project's development host): policies install, but every ESP state is refused.
// Installing and removing one throwaway state on loopback answers the question before any
// client depends on it.
import { randomBytes } from 'node:crypto';
import type { Dataplane, SaSpec } from './dataplane.js';

const PROBE_SPI = 0xcffffffe;

export async function probeKernelEsp(dp: Dataplane): Promise<{ ok: true } | { ok: false; reason: string }> {
  const sa: SaSpec = {
    id: { src: '127.0.0.1', dst: '127.0.0.2', spi: PROBE_SPI, proto: 'esp' },
    reqid: 0,
    mode: 'tunnel',
    direction: 'out',
    enc: { alg: { family: 'crypt', name: 'cbc(aes)' }, key: randomBytes(16) },
    integ: { alg: { family: 'auth', name: 'hmac(sha256)', truncBits: 128 }, key: randomBytes(32) },
    replayWindow: 0,
    esn: false,
    lifetime: {},
  };
  try {
    await dp.installSa(sa);
  } catch (err) {
    return { ok: false, reason: err instanceof Error ? err.message : String(err) };
  }
  await dp.deleteSa(sa.id).catch(() => undefined);
  return { ok: true };
}
