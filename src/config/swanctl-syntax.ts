// Parser for strongSwan's settings syntax as used by swanctl.conf (strongswan.conf(5) "SYNTAX",
// "INCLUDING FILES", "REFERENCING OTHER SECTIONS"): nested `name { }` sections, `key = value`
// lines, `#` comments, `include PATTERN` and `name : other.section { }` references.
// Every section and value remembers its file and line so later checks can point at them.
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { ConfigError } from '../ike/errors.js';
import { expandGlob } from './glob.js';

export interface ConfValue {
  key: string;
  value: string;
  file: string;
  line: number;
}

export interface ConfRef {
  path: string; // absolute dotted name, e.g. "connections.base"
  file: string;
  line: number;
}

export interface ConfSection {
  name: string;
  file: string;
  line: number;
  /** Insertion order is file order (first definition wins the position, later values win the text). */
  values: Map<string, ConfValue>;
  sections: Map<string, ConfSection>;
  refs: ConfRef[];
}

export interface ParseOptions {
  /** Reads an included file; defaults to fs.readFileSync(…, 'utf8'). */
  readFile?: (path: string) => string;
  /** Expands an include pattern to file names; defaults to a filesystem glob. */
  glob?: (pattern: string) => string[];
}

/** strongSwan stops at a nesting depth of includes; so do we, and we also refuse cycles. */
const MAX_INCLUDE_DEPTH = 10;

export function newSection(name: string, file: string, line: number): ConfSection {
  return { name, file, line, values: new Map(), sections: new Map(), refs: [] };
}

/** Parses settings text; `file` names it in errors and anchors relative includes. */
export function parseSettings(text: string, file: string, options: ParseOptions = {}): ConfSection {
  const root = newSection('', file, 1);
  const ctx: Ctx = {
    readFile: options.readFile ?? ((p) => readFileSync(p, 'utf8')),
    glob: options.glob ?? expandGlob,
    stack: [file],
    files: [file],
  };
  parseInto(root, text, file, ctx);
  resolveReferences(root);
  return root;
}

/** Reads and parses a file; the list of every file read is in `files` (main file first). */
export function parseSettingsFile(path: string, options: ParseOptions = {}): { root: ConfSection; files: string[] } {
  const readFile = options.readFile ?? ((p: string) => readFileSync(p, 'utf8'));
  let text: string;
  try {
    text = readFile(path);
  } catch (e) {
    throw new ConfigError(`cannot read config file: ${(e as Error).message}`, path);
  }
  const root = newSection('', path, 1);
  const ctx: Ctx = { readFile, glob: options.glob ?? expandGlob, stack: [path], files: [path] };
  parseInto(root, text, path, ctx);
  resolveReferences(root);
  return { root, files: ctx.files };
}

interface Ctx {
  readFile: (path: string) => string;
  glob: (pattern: string) => string[];
  stack: string[]; // include chain, for cycle detection
  files: string[];
}

// ---- lexer -------------------------------------------------------------------------------

type Tok =
  | { t: 'name'; s: string; line: number }
  | { t: 'nl'; line: number }
  | { t: '{' | '}' | ':' | ','; line: number }
  | { t: 'value'; s: string; line: number } // everything after `=` up to the end of the line
  | { t: 'include'; s: string; line: number }
  | { t: 'eof'; line: number };

const NAME_STOP = new Set(['#', '{', '}', '=', '"', '\r', '\n', '\t', ' ', ',', ':']);

class Lexer {
  private i = 0;
  line = 1;
  private pendingValue = false;
  constructor(
    private readonly src: string,
    private readonly file: string,
  ) {}

  private err(msg: string, line = this.line): never {
    throw new ConfigError(msg, this.file, line);
  }

  next(): Tok {
    if (this.pendingValue) {
      this.pendingValue = false;
      return this.value();
    }
    const s = this.src;
    for (;;) {
      const c = s[this.i];
      if (c === undefined) return { t: 'eof', line: this.line };
      if (c === ' ' || c === '\t' || c === '\r') {
        this.i++;
        continue;
      }
      if (c === '#') {
        while (this.i < s.length && s[this.i] !== '\n') this.i++;
        continue;
      }
      if (c === '\n') {
        this.i++;
        return { t: 'nl', line: this.line++ };
      }
      if (c === '{' || c === '}' || c === ':' || c === ',') {
        this.i++;
        return { t: c, line: this.line };
      }
      if (c === '=') {
        this.i++;
        this.pendingValue = true;
        return this.next();
      }
      if (c === '"') this.err('unexpected quoted string (quotes are only allowed in values)');
      const start = this.i;
      while (this.i < s.length && !NAME_STOP.has(s[this.i] as string)) this.i++;
      const word = s.slice(start, this.i);
      // `include` followed by blanks and not by `=` starts an include statement (a key may
      // still be called "include").
      if (word === 'include' && (s[this.i] === ' ' || s[this.i] === '\t')) {
        let j = this.i;
        while (s[j] === ' ' || s[j] === '\t') j++;
        if (s[j] !== '=' && s[j] !== '\n' && s[j] !== undefined && s[j] !== '#') {
          this.i = j;
          return this.includePattern();
        }
      }
      return { t: 'name', s: word, line: this.line };
    }
  }

  /** A value runs to the end of the line, `#` or `}`; parts are joined by one space. */
  private value(): Tok {
    const s = this.src;
    const line = this.line;
    const parts: string[] = [];
    for (;;) {
      const c = s[this.i];
      if (c === undefined || c === '\n' || c === '#' || c === '}') break;
      if (c === ' ' || c === '\t' || c === '\r') {
        this.i++;
        continue;
      }
      if (c === '"') {
        this.i++;
        parts.push(this.quoted());
        continue;
      }
      const start = this.i;
      while (this.i < s.length && !'#}"\r\n\t '.includes(s[this.i] as string)) this.i++;
      parts.push(s.slice(start, this.i));
    }
    return { t: 'value', s: parts.join(' '), line };
  }

  /** A double-quoted string: \n \r \t escapes, backslash-newline joins lines, \x is x. */
  private quoted(): string {
    const s = this.src;
    const startLine = this.line;
    let out = '';
    for (;;) {
      const c = s[this.i];
      if (c === undefined) this.err('unterminated string', startLine);
      this.i++;
      if (c === '"') return out;
      if (c === '\r') continue;
      if (c === '\n') {
        this.line++;
        out += '\n';
        continue;
      }
      if (c !== '\\') {
        out += c;
        continue;
      }
      const e = s[this.i];
      if (e === undefined) this.err('unterminated string', startLine);
      this.i++;
      if (e === 'n') out += '\n';
      else if (e === 'r') out += '\r';
      else if (e === 't') out += '\t';
      else if (e === '\n') this.line++;
      else if (e === '\r' && s[this.i] === '\n') {
        this.i++;
        this.line++;
      } else out += e;
    }
  }

  private includePattern(): Tok {
    const s = this.src;
    const line = this.line;
    if (s[this.i] === '"') {
      this.i++;
      return { t: 'include', s: this.quoted(), line };
    }
    let out = '';
    for (;;) {
      const c = s[this.i];
      if (c === undefined || c === '\n' || c === '#' || c === '}' || c === ' ' || c === '\t' || c === '\r') break;
      if (c === '\\' && s[this.i + 1] !== undefined && '"#} '.includes(s[this.i + 1] as string)) {
        out += s[this.i + 1];
        this.i += 2;
        continue;
      }
      out += c;
      this.i++;
    }
    if (out === '') this.err('include without a file pattern', line);
    return { t: 'include', s: out, line };
  }
}

// ---- parser ------------------------------------------------------------------------------

function checkName(name: string, what: string, file: string, line: number): void {
  // strongswan.conf(5): names may not contain . , : { } = " # or blanks; the lexer stops at
  // the others, a dot has to be rejected here.
  if (name.includes('.')) throw new ConfigError(`invalid ${what} name '${name}' (dots are not allowed)`, file, line);
}

function parseInto(root: ConfSection, text: string, file: string, ctx: Ctx): void {
  const lx = new Lexer(text, file);
  const stack: ConfSection[] = [root];
  let tok: Tok = lx.next();

  for (;;) {
    const cur = stack[stack.length - 1] as ConfSection;
    switch (tok.t) {
      case 'eof':
        if (stack.length > 1) throw new ConfigError(`section '${cur.name}' opened at line ${cur.line} is not closed`, file, tok.line);
        return;
      case 'nl':
        tok = lx.next();
        continue;
      case '}':
        if (stack.length === 1) throw new ConfigError("unexpected '}'", file, tok.line);
        stack.pop();
        tok = lx.next();
        continue;
      case 'include':
        includeFiles(cur, tok.s, file, tok.line, ctx);
        tok = lx.next();
        continue;
      case 'name':
        break;
      default:
        throw new ConfigError(`unexpected '${tok.t === 'value' ? tok.s : tok.t}'`, file, tok.line);
    }
    const name = tok.s;
    const line = tok.line;
    tok = lx.next();
    if (tok.t === 'value') {
      checkName(name, 'key', file, line);
      // Later definitions override earlier ones (strongSwan keeps the last value).
      cur.values.set(name, { key: name, value: tok.s, file, line });
      tok = lx.next();
      if (tok.t !== 'nl' && tok.t !== 'eof' && tok.t !== '}') throw new ConfigError(`expected end of line after value of '${name}'`, file, tok.line);
      continue;
    }
    // A section: `name [: ref, ref] [newline] {`.
    checkName(name, 'section', file, line);
    const refs: ConfRef[] = [];
    if (tok.t === ':') {
      for (;;) {
        tok = lx.next();
        if (tok.t !== 'name') throw new ConfigError(`expected a section reference after ':' in '${name}'`, file, tok.line);
        refs.push({ path: tok.s, file, line: tok.line });
        tok = lx.next();
        if (tok.t !== ',') break;
      }
    }
    while (tok.t === 'nl') tok = lx.next();
    if (tok.t !== '{') {
      throw new ConfigError(`expected '=' or '{' after '${name}'`, file, line);
    }
    tok = lx.next();
    let sec = cur.sections.get(name);
    if (!sec) {
      sec = newSection(name, file, line);
      cur.sections.set(name, sec);
    }
    // Duplicate sections merge; references accumulate.
    sec.refs.push(...refs);
    stack.push(sec);
  }
}

function includeFiles(into: ConfSection, pattern: string, file: string, line: number, ctx: Ctx): void {
  if (ctx.stack.length > MAX_INCLUDE_DEPTH) throw new ConfigError(`includes nested deeper than ${MAX_INCLUDE_DEPTH}`, file, line);
  const abs = isAbsolute(pattern) ? pattern : resolve(dirname(file), pattern);
  const hasGlob = /[*?[]/.test(pattern);
  const matches = hasGlob ? ctx.glob(abs) : [abs];
  for (const path of matches) {
    if (ctx.stack.includes(path)) throw new ConfigError(`include cycle: '${path}' includes itself`, file, line);
    let text: string;
    try {
      text = ctx.readFile(path);
    } catch (e) {
      // A glob that matches nothing is fine (conf.d/*.conf on a fresh system); a named file
      // that cannot be read is an error.
      throw new ConfigError(`cannot read included file '${path}': ${(e as Error).message}`, file, line);
    }
    ctx.stack.push(path);
    if (!ctx.files.includes(path)) ctx.files.push(path);
    parseInto(into, text, path, ctx);
    ctx.stack.pop();
  }
}

// ---- section references (strongSwan 5.7.0+) ----------------------------------------------

function findSection(root: ConfSection, path: string): ConfSection | undefined {
  let cur: ConfSection | undefined = root;
  for (const part of path.split('.')) {
    cur = cur?.sections.get(part);
    if (!cur) return undefined;
  }
  return cur;
}

/**
 * Makes every section that references others (`b : connections.a { }`) contain the inherited
 * values and subsections it does not set itself. Own values win; among references the first
 * listed wins. The result is a plain tree with `refs` emptied.
 */
export function resolveReferences(root: ConfSection): void {
  const done = new Set<ConfSection>();
  const active = new Set<ConfSection>();
  const visit = (sec: ConfSection): void => {
    if (done.has(sec)) return;
    if (active.has(sec)) throw new ConfigError(`section reference cycle involving '${sec.name}'`, sec.file, sec.line);
    active.add(sec);
    for (const ref of sec.refs) {
      const target = findSection(root, ref.path);
      if (!target) throw new ConfigError(`referenced section '${ref.path}' does not exist`, ref.file, ref.line);
      visit(target);
      inherit(sec, target);
    }
    sec.refs = [];
    for (const child of sec.sections.values()) visit(child);
    active.delete(sec);
    done.add(sec);
  };
  visit(root);
}

function inherit(into: ConfSection, from: ConfSection): void {
  for (const [k, v] of from.values) if (!into.values.has(k)) into.values.set(k, v);
  for (const [k, s] of from.sections) {
    const existing = into.sections.get(k);
    if (existing) inherit(existing, s);
    else into.sections.set(k, cloneSection(s));
  }
}

function cloneSection(s: ConfSection): ConfSection {
  const c = newSection(s.name, s.file, s.line);
  for (const [k, v] of s.values) c.values.set(k, v);
  for (const [k, sub] of s.sections) c.sections.set(k, cloneSection(sub));
  return c;
}
