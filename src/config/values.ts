// Value syntax of swanctl.conf options (swanctl.conf(5) "TIME FORMATS", strongswan.conf(5)
// "NUMBER FORMATS"; the parsing rules of strongSwan's vici config loader): booleans, numbers
// (decimal or 0x hex), times with s/m/h/d, byte volumes with k/m/g (×1024), comma lists,
// secrets in plain text, 0x hex or 0s base64. Each parser throws Error with a short reason.

/** strongSwan accepts yes/true/enabled/1 and no/false/disabled/0, case-insensitively. */
export function parseBool(v: string): boolean {
  const t = v.trim().toLowerCase();
  if (t === 'yes' || t === 'true' || t === 'enabled' || t === '1') return true;
  if (t === 'no' || t === 'false' || t === 'disabled' || t === '0') return false;
  throw new Error(`'${v}' is not a boolean (yes/no)`);
}

function parseIntStrict(t: string): number | undefined {
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t.slice(2), 16);
  if (/^\d+$/.test(t)) return Number(t);
  return undefined;
}

export function parseUint(v: string, max = Number.MAX_SAFE_INTEGER): number {
  const n = parseIntStrict(v.trim());
  if (n === undefined || n > max) throw new Error(`'${v}' is not a number${max < Number.MAX_SAFE_INTEGER ? ` (0..${max})` : ''}`);
  return n;
}

export function parseFloatStrict(v: string): number {
  const t = v.trim();
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error(`'${v}' is not a number`);
  return Number(t);
}

const TIME_UNITS: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400 };

/** Seconds from "30", "30s", "10m", "4h", "1d" (suffix case-insensitive, blanks allowed). */
export function parseDuration(v: string): number {
  const m = /^(0x[0-9a-f]+|\d+)\s*([smhd]?)$/i.exec(v.trim());
  if (!m) throw new Error(`'${v}' is not a time (number with optional s, m, h or d)`);
  return (parseIntStrict(m[1] as string) as number) * (TIME_UNITS[(m[2] as string).toLowerCase()] as number);
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** Bytes from "1000", "500k", "10m", "2g" (binary multiples, as strongSwan). */
export function parseBytes(v: string): number {
  const m = /^(0x[0-9a-f]+|\d+)\s*([kmg]?)$/i.exec(v.trim());
  if (!m) throw new Error(`'${v}' is not a byte count (number with optional k, m or g)`);
  return (parseIntStrict(m[1] as string) as number) * (SIZE_UNITS[(m[2] as string).toLowerCase()] as number);
}

/** Comma-separated list; blanks around items dropped, empty items removed. */
export function parseList(v: string): string[] {
  return v
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

export function parseEnum<T extends string>(v: string, allowed: readonly T[]): T {
  const t = v.trim().toLowerCase();
  const hit = allowed.find((a) => a === t);
  if (hit === undefined) throw new Error(`'${v}' is not one of ${allowed.join(', ')}`);
  return hit;
}

/** swanctl secret value: `0x` hex, `0s` base64, or the text itself (UTF-8). */
export function parseSecret(v: string): Uint8Array {
  if (/^0x/i.test(v)) {
    const hex = v.slice(2);
    if (hex.length === 0 || hex.length % 2 !== 0 || /[^0-9a-f]/i.test(hex)) throw new Error('invalid hex secret after 0x');
    return new Uint8Array(Buffer.from(hex, 'hex'));
  }
  if (/^0s/i.test(v)) {
    const b64 = v.slice(2);
    if (b64.length === 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(b64) || b64.length % 4 === 1) throw new Error('invalid base64 secret after 0s');
    return new Uint8Array(Buffer.from(b64, 'base64'));
  }
  return new TextEncoder().encode(v);
}
