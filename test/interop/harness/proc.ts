// Process helpers for the interop harness: run a command with a timeout and collect its
// output, and start long-running processes (charon, ikegate) that are tracked by PID so
// that every one of them is stopped again, even when a test fails half-way.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { openSync, closeSync } from 'node:fs';

export interface RunOptions {
  /** Kill the command (SIGKILL) after this many milliseconds. Default 30 s. */
  timeoutMs?: number;
  /** Extra environment variables (added to process.env). */
  env?: Record<string, string>;
  /** Data written to the command's stdin (stdin is /dev/null otherwise). */
  input?: string;
  /** Throw when the command exits non-zero or times out. Default true. */
  check?: boolean;
}

export interface RunResult {
  argv: string[];
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export class CommandError extends Error {
  readonly result: RunResult;
  constructor(result: RunResult) {
    const how = result.timedOut ? 'timed out' : `exited with ${result.code ?? result.signal}`;
    super(
      `command ${how}: ${result.argv.join(' ')}\n--- stdout ---\n${tail(result.stdout)}\n--- stderr ---\n${tail(result.stderr)}`,
    );
    this.name = 'CommandError';
    this.result = result;
  }
}

export function tail(text: string, maxChars = 6000): string {
  return text.length > maxChars ? `…${text.slice(-maxChars)}` : text;
}

/** Runs argv[0] with argv[1..] (no shell) and resolves when it has exited. */
export function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('run: empty argv');
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const check = opts.check ?? true;
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, {
      env: { ...process.env, ...opts.env },
      stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    if (opts.input !== undefined) child.stdin?.end(opts.input);
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot run ${argv.join(' ')}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const result: RunResult = {
        argv: [...argv],
        code,
        signal,
        stdout,
        stderr,
        timedOut,
        durationMs: Date.now() - started,
      };
      if (check && (timedOut || code !== 0)) reject(new CommandError(result));
      else resolve(result);
    });
  });
}

/** A long-running process started by the harness, its output going to a file. */
export interface TrackedProcess {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  readonly exited: Promise<number | string>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after graceMs; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number | string>;
}

const tracked = new Set<TrackedProcess>();

export interface SpawnOptions {
  env?: Record<string, string>;
  /** stdout and stderr are appended to this file (the process owns no pipes). */
  logFile?: string;
  /** Called with every chunk of stdout (only when logFile is not given). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
}

/** Starts a process that the harness keeps track of (see stopAllTracked). */
export function spawnTracked(name: string, argv: readonly string[], opts: SpawnOptions = {}): TrackedProcess {
  const [file, ...args] = argv;
  if (file === undefined) throw new Error('spawnTracked: empty argv');
  let fd: number | undefined;
  if (opts.logFile !== undefined) fd = openSync(opts.logFile, 'a');
  const child = spawn(file, args, {
    env: { ...process.env, ...opts.env },
    stdio: fd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', fd, fd],
  });
  if (fd !== undefined) closeSync(fd);
  if (fd === undefined) {
    child.stdout?.setEncoding('utf8').on('data', (d: string) => opts.onStdout?.(d));
    child.stderr?.setEncoding('utf8').on('data', (d: string) => opts.onStderr?.(d));
  }
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.on('error', (err) => {
      done = true;
      resolve(`spawn error: ${err.message}`);
    });
    child.on('exit', (code, signal) => {
      done = true;
      resolve(code ?? signal ?? 'unknown');
    });
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (e.g. ENOENT); 'error' follows.
  }
  const proc: TrackedProcess = {
    name,
    pid: child.pid ?? -1,
    child,
    exited,
    hasExited: () => done,
    stop: async (graceMs = 5000) => {
      if (!done && child.pid !== undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => {
          if (!done) child.kill('SIGKILL');
        }, graceMs);
        const r = await exited;
        clearTimeout(timer);
        tracked.delete(proc);
        return r;
      }
      tracked.delete(proc);
      return exited;
    },
  };
  tracked.add(proc);
  void exited.then(() => tracked.delete(proc));
  return proc;
}

/** Stops every process this worker started through spawnTracked. */
export async function stopAllTracked(): Promise<void> {
  await Promise.all([...tracked].map((p) => p.stop(3000)));
}

// Last resort: if the worker exits with tracked processes still running, kill them by PID.
process.on('exit', () => {
  for (const p of tracked) {
    if (!p.hasExited()) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
});

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Polls fn until it returns a truthy value or the deadline passes. */
export async function waitFor<T>(
  what: string,
  fn: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  timeoutMs: number,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}
