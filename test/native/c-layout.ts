// Reference layout for the native layout test: compiles a tiny C program against the system's
// <linux/xfrm.h>, <linux/netlink.h> and <linux/rtnetlink.h> at test time (gcc) and runs it.
// Keys as in native structLayout(): "<type>.size" is sizeof, "<type>.<member>" is offsetof;
// a type name ending in _t is a typedef, anything else is a struct tag.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const KEY_RE = /^([a-z_][a-z0-9_]*)\.([a-z_][a-z0-9_]*)$/;

export function cTypeName(name: string): string {
  return name.endsWith('_t') ? name : `struct ${name}`;
}

/** The C source printing one "key value" line per key. */
export function layoutProgram(keys: readonly string[]): string {
  const lines = keys.map((key) => {
    const m = KEY_RE.exec(key);
    if (!m) throw new Error(`bad layout key ${key}`);
    const [, type = '', member = ''] = m;
    const expr = member === 'size' ? `sizeof(${cTypeName(type)})` : `offsetof(${cTypeName(type)}, ${member})`;
    return `  printf("%s %zu\\n", "${key}", (size_t)${expr});`;
  });
  return [
    '#include <stddef.h>',
    '#include <stdio.h>',
    '#include <linux/netlink.h>',
    '#include <linux/rtnetlink.h>',
    '#include <linux/xfrm.h>',
    'int main(void) {',
    ...lines,
    '  return 0;',
    '}',
    '',
  ].join('\n');
}

/** Compiles and runs layoutProgram(keys) with gcc in a temporary directory. */
export function cLayout(keys: readonly string[]): Record<string, number> {
  const dir = mkdtempSync(join(tmpdir(), 'ikg-layout-'));
  try {
    const src = join(dir, 'layout.c');
    const exe = join(dir, 'layout');
    writeFileSync(src, layoutProgram(keys));
    execFileSync('gcc', ['-std=gnu11', '-Wall', '-o', exe, src], { stdio: 'pipe' });
    const out = execFileSync(exe, { encoding: 'utf8' });
    const result: Record<string, number> = {};
    for (const line of out.trim().split('\n')) {
      const [key = '', value = ''] = line.split(' ');
      result[key] = Number(value);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
