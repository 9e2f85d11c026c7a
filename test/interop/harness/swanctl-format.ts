// swanctl.conf rendering (from plain objects) and parsing of `swanctl --list-sas --raw`.

/** A swanctl.conf section: string/number/boolean values, lists, or nested sections. */
export interface ConfSection {
  [key: string]: string | number | boolean | readonly string[] | ConfSection | undefined;
}

function renderValue(v: string | number | boolean | readonly string[]): string {
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return String(v);
  if (typeof v === 'string') return quoteIfNeeded(v);
  return v.map((x) => quoteIfNeeded(x)).join(', ');
}

function quoteIfNeeded(s: string): string {
  if (/^[A-Za-z0-9_.:/%@*+-]+$/.test(s)) return s;
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Renders nested objects as swanctl.conf / strongswan.conf syntax. */
export function renderConf(section: ConfSection, indent = ''): string {
  let out = '';
  for (const [key, value] of Object.entries(section)) {
    if (value === undefined) continue;
    if (typeof value === 'object' && !Array.isArray(value)) {
      out += `${indent}${key} {\n${renderConf(value as ConfSection, `${indent}  `)}${indent}}\n`;
    } else {
      out += `${indent}${key} = ${renderValue(value as string | number | boolean | readonly string[])}\n`;
    }
  }
  return out;
}

/** A parsed vici section: strings, lists of strings, or nested sections. */
export interface RawSection {
  [key: string]: string | string[] | RawSection;
}

/**
 * Parses one `{ … }` body of swanctl --raw output. Keys are lower-case vici keys; a value
 * runs until the next ` key=`, ` key {` or `}`, so values with spaces (DNs) survive.
 */
export function parseRawSection(text: string): RawSection {
  let i = 0;
  const ws = (): void => {
    while (i < text.length && /\s/.test(text[i] ?? '')) i++;
  };
  const section = (): RawSection => {
    const out: RawSection = {};
    for (;;) {
      ws();
      if (i >= text.length || text[i] === '}') {
        i++;
        return out;
      }
      const km = /^[^\s={}]+/.exec(text.slice(i));
      if (!km) throw new Error(`swanctl raw: cannot parse at ${text.slice(i, i + 40)}`);
      const key = km[0];
      i += key.length;
      ws();
      if (text[i] === '{') {
        i++;
        out[key] = section();
      } else if (text[i] === '=') {
        i++;
        if (text[i] === '[') {
          const end = text.indexOf(']', i);
          out[key] = text
            .slice(i + 1, end)
            .split(/\s+/)
            .filter((s) => s !== '');
          i = end + 1;
        } else {
          const rest = text.slice(i);
          const m = /\s+(?=[a-z0-9_-]+(?:=|\s*\{))|\s*\}/.exec(rest);
          const len = m ? m.index : rest.length;
          out[key] = rest.slice(0, len);
          i += len;
        }
      } else {
        throw new Error(`swanctl raw: expected = or { after ${key}`);
      }
    }
  };
  return section();
}

export interface ChildSaInfo {
  name: string;
  state: string;
  mode: string;
  protocol: string;
  encap: boolean;
  encrAlg: string | undefined;
  encrKeysize: number | undefined;
  integAlg: string | undefined;
  dhGroup: string | undefined;
  localTs: string[];
  remoteTs: string[];
}

export interface IkeSaInfo {
  /** Connection name. */
  name: string;
  uniqueId: string;
  state: string;
  version: number;
  localHost: string;
  localPort: number;
  localId: string;
  remoteHost: string;
  remotePort: number;
  remoteId: string;
  remoteEapId: string | undefined;
  initiator: boolean;
  natLocal: boolean;
  natRemote: boolean;
  natFake: boolean;
  natAny: boolean;
  encrAlg: string | undefined;
  encrKeysize: number | undefined;
  integAlg: string | undefined;
  prfAlg: string | undefined;
  dhGroup: string | undefined;
  localVips: string[];
  remoteVips: string[];
  childSas: ChildSaInfo[];
  raw: RawSection;
}

const str = (s: RawSection, k: string): string | undefined => {
  const v = s[k];
  return typeof v === 'string' ? v : undefined;
};
const list = (s: RawSection, k: string): string[] => {
  const v = s[k];
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : [];
};
const num = (s: RawSection, k: string): number | undefined => {
  const v = str(s, k);
  return v === undefined ? undefined : Number(v);
};
const yes = (s: RawSection, k: string): boolean => str(s, k) === 'yes';

function toChild(c: RawSection): ChildSaInfo {
  return {
    name: str(c, 'name') ?? '',
    state: str(c, 'state') ?? '',
    mode: str(c, 'mode') ?? '',
    protocol: str(c, 'protocol') ?? '',
    encap: yes(c, 'encap'),
    encrAlg: str(c, 'encr-alg'),
    encrKeysize: num(c, 'encr-keysize'),
    integAlg: str(c, 'integ-alg'),
    dhGroup: str(c, 'dh-group'),
    localTs: list(c, 'local-ts'),
    remoteTs: list(c, 'remote-ts'),
  };
}

/** Parses the full output of `swanctl --list-sas --raw` (one `list-sa event {…}` per line). */
export function parseListSasRaw(output: string): IkeSaInfo[] {
  const sas: IkeSaInfo[] = [];
  for (const line of output.split('\n')) {
    const m = /^list-sa event \{(.*)\}\s*$/.exec(line.trim());
    if (!m?.[1]) continue;
    const ev = parseRawSection(m[1]);
    for (const [name, v] of Object.entries(ev)) {
      if (typeof v !== 'object' || Array.isArray(v)) continue;
      const s = v;
      const children = s['child-sas'];
      sas.push({
        name,
        uniqueId: str(s, 'uniqueid') ?? '',
        state: str(s, 'state') ?? '',
        version: num(s, 'version') ?? 0,
        localHost: str(s, 'local-host') ?? '',
        localPort: num(s, 'local-port') ?? 0,
        localId: str(s, 'local-id') ?? '',
        remoteHost: str(s, 'remote-host') ?? '',
        remotePort: num(s, 'remote-port') ?? 0,
        remoteId: str(s, 'remote-id') ?? '',
        remoteEapId: str(s, 'remote-eap-id'),
        initiator: yes(s, 'initiator'),
        natLocal: yes(s, 'nat-local'),
        natRemote: yes(s, 'nat-remote'),
        natFake: yes(s, 'nat-fake'),
        natAny: yes(s, 'nat-any'),
        encrAlg: str(s, 'encr-alg'),
        encrKeysize: num(s, 'encr-keysize'),
        integAlg: str(s, 'integ-alg'),
        prfAlg: str(s, 'prf-alg'),
        dhGroup: str(s, 'dh-group'),
        localVips: list(s, 'local-vips'),
        remoteVips: list(s, 'remote-vips'),
        childSas:
          children && typeof children === 'object' && !Array.isArray(children)
            ? Object.values(children)
                .filter((c): c is RawSection => typeof c === 'object' && !Array.isArray(c))
                .map(toChild)
            : [],
        raw: s,
      });
    }
  }
  return sas;
}
