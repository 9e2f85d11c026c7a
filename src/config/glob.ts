// Minimal glob(3) for `include` patterns (strongswan.conf(5) "INCLUDING FILES"): `*`, `?` and
// `[...]` within path segments, results sorted like glob(3). Node 20 has no fs.glob.
import { readdirSync, statSync } from 'node:fs';
import { join, parse, sep } from 'node:path';

function segmentRegex(seg: string): RegExp {
  let re = '^';
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i] as string;
    if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else if (c === '[') {
      const end = seg.indexOf(']', i + 1);
      if (end < 0) re += '\\[';
      else {
        let body = seg.slice(i + 1, end).replace(/\\/g, '\\\\');
        if (body.startsWith('!')) body = '^' + body.slice(1);
        re += `[${body}]`;
        i = end;
      }
    } else re += c.replace(/[.+^${}()|\\]/g, '\\$&');
  }
  return new RegExp(re + '$');
}

/** Expands an absolute pattern to the existing regular files it names, sorted. */
export function expandGlob(pattern: string): string[] {
  const { root } = parse(pattern);
  const segments = pattern.slice(root.length).split(sep).filter((s) => s !== '');
  let bases = [root];
  for (let i = 0; i < segments.length; i++) {
    const seg = segments[i] as string;
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const base of bases) {
      if (!/[*?[]/.test(seg)) {
        next.push(join(base, seg));
        continue;
      }
      let names: string[];
      try {
        names = readdirSync(base);
      } catch {
        continue;
      }
      const re = segmentRegex(seg);
      // Like glob(3), wildcards do not match a leading dot.
      for (const n of names.sort()) if (!n.startsWith('.') && re.test(n)) next.push(join(base, n));
    }
    bases = last ? next : next.filter(isDir);
  }
  return bases.filter(isFile).sort();
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}
