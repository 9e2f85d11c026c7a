// strongSwan settings syntax (strongswan.conf(5)): sections, values, quoting, comments,
// includes, references, and errors that name file and line.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSettings, parseSettingsFile, type ConfSection } from '../../../src/config/swanctl-syntax.js';
import { ConfigError } from '../../../src/ike/errors.js';

const sec = (root: ConfSection, ...path: string[]): ConfSection => {
  let s = root;
  for (const p of path) {
    const next = s.sections.get(p);
    if (!next) throw new Error(`no section ${path.join('.')}`);
    s = next;
  }
  return s;
};
const val = (root: ConfSection, path: string): string | undefined => {
  const parts = path.split('.');
  const key = parts.pop() as string;
  return sec(root, ...parts).values.get(key)?.value;
};

function parseError(text: string, file = 'swanctl.conf'): ConfigError {
  try {
    parseSettings(text, file);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return e as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('settings syntax', () => {
  it('parses nested sections and values with their lines', () => {
    const root = parseSettings('a = b\nconnections {\n  rw {\n    pools = p1, p2\n  }\n}\n', '/etc/swanctl/swanctl.conf');
    expect(val(root, 'a')).toBe('b');
    expect(val(root, 'connections.rw.pools')).toBe('p1, p2');
    const v = sec(root, 'connections', 'rw').values.get('pools');
    expect(v).toMatchObject({ file: '/etc/swanctl/swanctl.conf', line: 4 });
    expect(sec(root, 'connections', 'rw').line).toBe(3);
  });

  it('joins unquoted value parts with one space and keeps quoted text verbatim', () => {
    const root = parseSettings('a =   x    y\t z  \nb = "  two  spaces "\nc = pre"q u"post\n', 'f');
    expect(val(root, 'a')).toBe('x y z');
    expect(val(root, 'b')).toBe('  two  spaces ');
    expect(val(root, 'c')).toBe('pre q u post');
  });

  it('handles escapes and line continuation inside quotes', () => {
    const root = parseSettings('a = "x\\ty\\n\\"q\\"\\\\"\nb = "one \\\ntwo"\nc = after\n', 'f');
    expect(val(root, 'a')).toBe('x\ty\n"q"\\');
    expect(val(root, 'b')).toBe('one two');
    // Line numbers continue correctly after a continued string.
    expect(sec(root).values.get('c')?.line).toBe(4);
  });

  it('strips comments, also after values and sections, and allows { on the next line', () => {
    const root = parseSettings('# header\ns # comment\n{\n  k = v # trailing\n  # k = ignored\n}\n', 'f');
    expect(val(root, 's.k')).toBe('v');
  });

  it('a value ends at } so one-line sections work', () => {
    const root = parseSettings('s { a = 1 }\nt { }\n', 'f');
    expect(val(root, 's.a')).toBe('1');
    expect(sec(root, 't').values.size).toBe(0);
  });

  it('empty value is an empty string', () => {
    expect(val(parseSettings('a =\n', 'f'), 'a')).toBe('');
  });

  it('merges duplicate sections and lets later keys win', () => {
    const root = parseSettings('s {\n a = 1\n b = 2\n}\ns {\n a = 3\n c = 4\n}\n', 'f');
    const s = sec(root, 's');
    expect([...s.values.keys()]).toEqual(['a', 'b', 'c']);
    expect(val(root, 's.a')).toBe('3');
    expect(s.values.get('a')?.line).toBe(6);
    expect(s.line).toBe(1);
  });

  it('keeps section order as written', () => {
    const root = parseSettings('c { z {\n}\n a {\n}\n m {\n}\n}\n', 'f');
    expect([...sec(root, 'c').sections.keys()]).toEqual(['z', 'a', 'm']);
  });

  it('a key may be called include', () => {
    expect(val(parseSettings('include = yes\n', 'f'), 'include')).toBe('yes');
  });

  it('resolves section references: own values win, first reference wins, subsections inherited', () => {
    const text = [
      'connections {',
      '  base { version = 2\n mobike = no\n children { net { mode = tunnel } } }',
      '  other { mobike = maybe\n dpd_delay = 5s }',
      '  rw : connections.base, connections.other {',
      '    pools = p',
      '    version = 0',
      '  }',
      '}',
    ].join('\n');
    const root = parseSettings(text, 'f');
    expect(val(root, 'connections.rw.version')).toBe('0');
    expect(val(root, 'connections.rw.mobike')).toBe('no');
    expect(val(root, 'connections.rw.dpd_delay')).toBe('5s');
    expect(val(root, 'connections.rw.children.net.mode')).toBe('tunnel');
    // The base itself is untouched by the child's own values.
    expect(val(root, 'connections.base.pools')).toBeUndefined();
  });

  it('rejects a reference to a missing section with its line', () => {
    const e = parseError('a {\n}\nb : nope {\n}\n');
    expect(e.line).toBe(3);
    expect(e.message).toContain("'nope'");
  });

  it.each([
    ['a {\n b = 1\n', 'not closed', 3],
    ['}\n', "unexpected '}'", 1],
    ['a = "open\n\n', 'unterminated string', 1],
    ['a b\n', "expected '=' or '{'", 1],
    ['"x" = 1\n', 'unexpected quoted string', 1],
    ['a.b = 1\n', 'dots are not allowed', 1],
    ['ok = 1\n\nx {\n  y z\n}\n', "expected '=' or '{' after 'y'", 4],
  ])('syntax error %j → ConfigError with line', (text, msg, line) => {
    const e = parseError(text, '/etc/swanctl/swanctl.conf');
    expect(e.message).toContain(msg);
    expect(e.file).toBe('/etc/swanctl/swanctl.conf');
    expect(e.line).toBe(line);
    expect(e.message.startsWith(`/etc/swanctl/swanctl.conf:${line}: `)).toBe(true);
  });
});

describe('include', () => {
  function tree(files: Record<string, string>): string {
    const dir = mkdtempSync(join(tmpdir(), 'ikegate-inc-'));
    for (const [name, text] of Object.entries(files)) {
      const p = join(dir, name);
      mkdirSync(join(p, '..'), { recursive: true });
      writeFileSync(p, text);
    }
    return dir;
  }

  it('includes relative to the including file, globs sorted, into the current section', () => {
    const dir = tree({
      'swanctl.conf': 'connections {\n  include conf.d/*.conf\n}\npools {\n  include "pools/p.conf"\n}\n',
      'conf.d/b.conf': 'b { version = 2 }\n',
      'conf.d/a.conf': 'a {\n  version = 2\n}\nb { mobike = no }\n',
      'conf.d/skip.txt': 'garbage {',
      'pools/p.conf': 'p { addrs = 10.0.0.0/24 }\n',
    });
    const { root, files } = parseSettingsFile(join(dir, 'swanctl.conf'));
    expect([...sec(root, 'connections').sections.keys()]).toEqual(['a', 'b']);
    expect(val(root, 'connections.b.mobike')).toBe('no');
    expect(val(root, 'connections.b.version')).toBe('2');
    expect(val(root, 'pools.p.addrs')).toBe('10.0.0.0/24');
    const v = sec(root, 'connections', 'a').values.get('version');
    expect(v?.file).toBe(join(dir, 'conf.d/a.conf'));
    expect(v?.line).toBe(2);
    expect(files).toEqual([join(dir, 'swanctl.conf'), join(dir, 'conf.d/a.conf'), join(dir, 'conf.d/b.conf'), join(dir, 'pools/p.conf')]);
  });

  it('a glob matching nothing is fine, a missing named file is an error', () => {
    const dir = tree({ 'a.conf': 'include conf.d/*.conf\nx = 1\n', 'b.conf': 'x = 1\ninclude missing.conf\n' });
    expect(val(parseSettingsFile(join(dir, 'a.conf')).root, 'x')).toBe('1');
    try {
      parseSettingsFile(join(dir, 'b.conf'));
      throw new Error('expected error');
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      expect((e as ConfigError).line).toBe(2);
      expect((e as ConfigError).file).toBe(join(dir, 'b.conf'));
    }
  });

  it('errors in included files name the included file', () => {
    const dir = tree({ 'main.conf': 'include sub.conf\n', 'sub.conf': 'ok = 1\nbad {\n' });
    try {
      parseSettingsFile(join(dir, 'main.conf'));
      throw new Error('expected error');
    } catch (e) {
      expect((e as ConfigError).file).toBe(join(dir, 'sub.conf'));
    }
  });

  it('refuses include cycles', () => {
    const dir = tree({ 'a.conf': 'include b.conf\n', 'b.conf': 'include a.conf\n' });
    expect(() => parseSettingsFile(join(dir, 'a.conf'))).toThrow(/cycle/);
  });
});
