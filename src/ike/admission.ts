// Pre-SA admission (RFC 7296 §2.6): once the number of half-open IKE_SAs passes a threshold,
// IKE_SA_INIT requests must carry a COOKIE we handed out. The cookie is stateless:
//   Cookie = <version of secret> | HMAC-SHA256(secret, Ni | IPi | SPIi)
// The secret rotates; the previous one stays valid for one period so in-flight clients succeed.
import { createHmac } from 'node:crypto';
import { concat, ctEqual } from '../crypto/bytes.js';
import type { Rng } from '../crypto/random.js';
import { parseIp } from '../net/address.js';

export class CookieJar {
  private current: { version: number; secret: Uint8Array };
  private previous?: { version: number; secret: Uint8Array };
  private rotatedAt: number;

  constructor(
    private readonly rng: Rng,
    now: number,
    private readonly rotateMs = 120_000,
  ) {
    this.current = { version: 0, secret: rng.bytes(32) };
    this.rotatedAt = now;
  }

  private rotate(now: number): void {
    if (now - this.rotatedAt < this.rotateMs) return;
    this.previous = this.current;
    this.current = { version: (this.current.version + 1) & 0xff, secret: this.rng.bytes(32) };
    this.rotatedAt = now;
  }

  private mac(secret: Uint8Array, ni: Uint8Array, address: string, ispi: Uint8Array): Uint8Array {
    return new Uint8Array(createHmac('sha256', secret).update(ni).update(parseIp(address) ?? new Uint8Array(0)).update(ispi).digest());
  }

  make(ni: Uint8Array, address: string, ispi: Uint8Array, now: number): Uint8Array {
    this.rotate(now);
    return concat(new Uint8Array([this.current.version]), this.mac(this.current.secret, ni, address, ispi));
  }

  verify(cookie: Uint8Array, ni: Uint8Array, address: string, ispi: Uint8Array, now: number): boolean {
    this.rotate(now);
    if (cookie.length !== 33) return false;
    const version = cookie[0];
    const s = version === this.current.version ? this.current : version === this.previous?.version ? this.previous : undefined;
    if (!s) return false;
    return ctEqual(cookie.subarray(1), this.mac(s.secret, ni, address, ispi));
  }
}
