// Parsers for what iproute2 prints about XFRM (`ip -s xfrm state`, `ip xfrm policy`), used to
// check a guest's kernel state from the host. Only the fields the tests look at are read.

export interface XfrmStateText {
  src: string;
  dst: string;
  proto: string;
  spi: number;
  reqid: number;
  mode: string;
  /** `aead NAME 0xKEY (N bits) ICV`. */
  aead?: { name: string; icvBits: number };
  /** `enc NAME 0xKEY`. */
  enc?: string;
  /** `auth-trunc NAME 0xKEY (N bits) TRUNC`. */
  auth?: { name: string; truncBits: number };
  /** `encap type espinudp sport 4500 dport 4500 addr 0.0.0.0`. */
  encap?: { type: string; sport: number; dport: number };
  /** `output-mark 0xVALUE/0xMASK` (XFRMA_SET_MARK / _MASK). */
  outputMark?: { value: number; mask: number | undefined };
  /** `lifetime current:` counters (only with -s). */
  bytes?: number;
  packets?: number;
  /** The whole block as printed. */
  text: string;
}

export interface XfrmPolicyText {
  src: string;
  dst: string;
  /** in/out/fwd, or socket-in/socket-out for per-socket policies. */
  dir: string;
  priority: number;
  tmpl?: { src: string; dst: string; proto: string; reqid: number; mode: string };
  text: string;
}

/** Splits output into blocks that each start with an unindented `src … dst …` line. */
function blocks(output: string): string[] {
  const out: string[] = [];
  let cur: string[] = [];
  for (const line of output.split('\n')) {
    if (/^src \S+ dst \S+/.test(line)) {
      if (cur.length > 0) out.push(cur.join('\n'));
      cur = [line];
    } else if (cur.length > 0 && line.trim() !== '') {
      cur.push(line);
    }
  }
  if (cur.length > 0) out.push(cur.join('\n'));
  return out;
}

export function parseXfrmStates(output: string): XfrmStateText[] {
  return blocks(output).map((text) => {
    const head = /^src (\S+) dst (\S+)/.exec(text);
    const id = /proto (\S+) spi 0x([0-9a-f]+)(?:\(\d+\))? reqid (\d+)(?:\(0x[0-9a-f]+\))? mode (\S+)/.exec(text);
    const aead = /\n\s*aead (\S+) 0x[0-9a-f]+ \(\d+ bits\) (\d+)/.exec(text);
    const enc = /\n\s*enc (\S+) 0x/.exec(text);
    const auth = /\n\s*auth-trunc (\S+) 0x[0-9a-f]+ \(\d+ bits\) (\d+)/.exec(text);
    const encap = /encap type (\S+) sport (\d+) dport (\d+)/.exec(text);
    const mark = /output-mark (0x[0-9a-f]+)(?:\/(0x[0-9a-f]+))?/.exec(text);
    const cur = /lifetime current:\s*\n\s*(\d+)\(bytes\), (\d+)\(packets\)/.exec(text);
    const s: XfrmStateText = {
      src: head?.[1] ?? '',
      dst: head?.[2] ?? '',
      proto: id?.[1] ?? '',
      spi: id ? parseInt(id[2] ?? '0', 16) : 0,
      reqid: id ? Number(id[3]) : 0,
      mode: id?.[4] ?? '',
      text,
    };
    if (aead) s.aead = { name: aead[1] ?? '', icvBits: Number(aead[2]) };
    if (enc) s.enc = enc[1];
    if (auth) s.auth = { name: auth[1] ?? '', truncBits: Number(auth[2]) };
    if (encap) s.encap = { type: encap[1] ?? '', sport: Number(encap[2]), dport: Number(encap[3]) };
    if (mark) s.outputMark = { value: parseInt(mark[1] ?? '0', 16), mask: mark[2] !== undefined ? parseInt(mark[2], 16) : undefined };
    if (cur) {
      s.bytes = Number(cur[1]);
      s.packets = Number(cur[2]);
    }
    return s;
  });
}

export function parseXfrmPolicies(output: string): XfrmPolicyText[] {
  return blocks(output).map((text) => {
    const head = /^src (\S+) dst (\S+)/.exec(text);
    const dir = /\n\s*(?:dir (in|out|fwd)|socket (in|out)) priority (\d+)/.exec(text);
    const tmpl = /tmpl src (\S+) dst (\S+)\s*\n\s*proto (\S+) reqid (\d+) mode (\S+)/.exec(text);
    const p: XfrmPolicyText = {
      src: head?.[1] ?? '',
      dst: head?.[2] ?? '',
      dir: dir ? (dir[1] ?? `socket-${dir[2] ?? ''}`) : '',
      priority: dir ? Number(dir[3]) : -1,
      text,
    };
    if (tmpl) p.tmpl = { src: tmpl[1] ?? '', dst: tmpl[2] ?? '', proto: tmpl[3] ?? '', reqid: Number(tmpl[4]), mode: tmpl[5] ?? '' };
    return p;
  });
}

/** kernel-esp-guest.sh's xfrm_view output: `ip -s xfrm state`, a `=== policies` line, `ip xfrm policy`. */
export function splitXfrmView(output: string): { states: string; policies: string } {
  const i = output.search(/^=== policies$/m);
  if (i < 0) return { states: output, policies: '' };
  return { states: output.slice(0, i), policies: output.slice(i).replace(/^=== policies\n?/, '') };
}
