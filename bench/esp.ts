// Userspace ESP throughput (src/esp): one outbound EspSa seals an inner IP packet and the
// matching inbound EspSa opens it (anti-replay, ICV, padding), per algorithm and packet size.
// Reports packets/s and Mbit/s of inner packet data for seal+open together, and for seal and
// open alone. Run: `npm run bench -- esp`. Numbers only, never asserts.
import { randomBytes } from 'node:crypto';
import { bench, consume, formatOps, formatUs, table } from './harness.js';
import { createTransform, type TransformSpec } from '../src/esp/ciphers.js';
import { EspSa } from '../src/esp/esp.js';

interface Suite {
  name: string;
  spec: () => TransformSpec;
}

const SUITES: Suite[] = [
  { name: 'AES-256-GCM-16', spec: () => ({ enc: { alg: { family: 'aead', name: 'rfc4106(gcm(aes))', icvBits: 128 }, key: randomBytes(36) } }) },
  { name: 'ChaCha20-Poly1305', spec: () => ({ enc: { alg: { family: 'aead', name: 'rfc7539esp(chacha20,poly1305)', icvBits: 128 }, key: randomBytes(36) } }) },
  {
    name: 'AES-256-CBC/HMAC-SHA2-256-128',
    spec: () => ({
      enc: { alg: { family: 'crypt', name: 'cbc(aes)' }, key: randomBytes(32) },
      integ: { alg: { family: 'auth', name: 'hmac(sha256)', truncBits: 128 }, key: randomBytes(32) },
    }),
  },
];

const SIZES = [64, 1400];

/** A plausible inner IPv4 packet of `size` bytes. */
function innerPacket(size: number): Buffer {
  const p = randomBytes(size);
  p[0] = 0x45;
  p.writeUInt16BE(size, 2);
  return p;
}

function pair(s: Suite): { out: EspSa; inb: EspSa } {
  const spec = s.spec();
  // A replay window large enough that a run of sealed-but-not-yet-opened packets stays inside it.
  return { out: new EspSa(0xc0000001, 'out', createTransform(spec), false, 0), inb: new EspSa(0xc0000001, 'in', createTransform(spec), false, 4096) };
}

export function espMain(filter = ''): void {
  console.log(`node ${process.version}, userspace ESP (src/esp) seal/open per packet`);
  const rows: string[][] = [];
  for (const s of SUITES) {
    for (const size of SIZES) {
      if (!`${s.name} ${size}`.toLowerCase().includes(filter.toLowerCase())) continue;
      const inner = innerPacket(size);
      const both = pair(s);
      const r = bench(`${s.name} ${size} seal+open`, () => {
        const pkt = both.out.seal(4, inner) as Buffer;
        const res = both.inb.open(pkt);
        return res.ok ? res.payload : undefined;
      });
      const sealOnly = pair(s);
      const rs = bench(`${s.name} ${size} seal`, () => sealOnly.out.seal(4, inner));
      // Open alone: a ring of packets sealed before timing; when it wraps, a fresh inbound SA
      // (same keys, new replay window) opens them again, so no sealing happens in the loop.
      const spec = s.spec();
      const sealer = new EspSa(0xc0000001, 'out', createTransform(spec), false, 0);
      const ring: Buffer[] = [];
      for (let i = 0; i < 4096; i++) ring.push(sealer.seal(4, inner) as Buffer);
      let opener = new EspSa(0xc0000001, 'in', createTransform(spec), false, 4096);
      let next = 0;
      const ro = bench(`${s.name} ${size} open`, () => {
        if (next === ring.length) {
          opener = new EspSa(0xc0000001, 'in', createTransform(spec), false, 4096);
          next = 0;
        }
        const res = opener.open(ring[next++] as Buffer);
        if (!res.ok) throw new Error(`open failed: ${res.reason}`);
        return res.payload;
      });
      consume(r.opsPerSec);
      const mbit = (ops: number): string => ((ops * size * 8) / 1e6).toFixed(0);
      rows.push([s.name, `${size} B`, formatOps(r.opsPerSec), mbit(r.opsPerSec), formatUs(r.usPerOp), formatOps(rs.opsPerSec), mbit(rs.opsPerSec), formatOps(ro.opsPerSec), mbit(ro.opsPerSec)]);
      process.stderr.write(`  ${s.name} ${size} B: ${formatOps(r.opsPerSec)} pkt/s seal+open\n`);
    }
  }
  console.log('');
  console.log(table(['transform', 'inner packet', 'seal+open pkt/s', 'Mbit/s', 'µs/pkt', 'seal pkt/s', 'seal Mbit/s', 'open pkt/s', 'open Mbit/s'], rows));
  console.log('\nMbit/s counts inner packet bytes; one core; seal+open = one packet through both ends of a tunnel.');
}
