// The local control socket (a UNIX stream socket, one JSON request per line, one JSON answer per
// line), through which `ikegate list-sas` and later commands talk to the running daemon.
// Access is governed by the socket's file permissions (0600, owner root), like charon's vici.
import { chmodSync, existsSync, mkdirSync, unlinkSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { dirname } from 'node:path';
import type { Logger } from '../log/logger.js';

export type ControlHandler = (request: { cmd: string; [k: string]: unknown }) => unknown | Promise<unknown>;

export class ControlServer {
  private server: Server | undefined;

  constructor(
    private readonly path: string,
    private readonly handler: ControlHandler,
    private readonly log: Logger,
  ) {}

  async start(): Promise<void> {
    mkdirSync(dirname(this.path), { recursive: true, mode: 0o750 });
    if (existsSync(this.path)) {
      // A live daemon answers; a stale socket from a crash does not and may be replaced.
      if (await isAlive(this.path)) throw new Error(`another ikegate is running (control socket ${this.path} answers)`);
      unlinkSync(this.path);
    }
    const server = createServer((conn) => {
      let buffered = '';
      conn.setEncoding('utf8');
      conn.on('error', () => conn.destroy());
      conn.on('data', (chunk: string) => {
        buffered += chunk;
        if (buffered.length > 65536) return conn.destroy();
        let nl: number;
        while ((nl = buffered.indexOf('\n')) >= 0) {
          const line = buffered.slice(0, nl);
          buffered = buffered.slice(nl + 1);
          void this.answer(line).then((a) => conn.writable && conn.write(`${JSON.stringify(a)}\n`));
        }
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.path, () => resolve());
    });
    chmodSync(this.path, 0o600);
    this.server = server;
  }

  private async answer(line: string): Promise<unknown> {
    try {
      const req = JSON.parse(line) as { cmd?: unknown };
      if (typeof req.cmd !== 'string') return { ok: false, error: 'request without cmd' };
      return { ok: true, result: await this.handler(req as { cmd: string }) };
    } catch (err) {
      this.log.debug({ err: String(err) }, 'bad control request');
      return { ok: false, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await new Promise<void>((r) => s.close(() => r()));
    try {
      unlinkSync(this.path);
    } catch {
      // already gone
    }
  }
}

function isAlive(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Client side: sends one request and returns the result, or throws with the daemon's error. */
export function controlRequest(path: string, request: { cmd: string; [k: string]: unknown }, timeoutMs = 5000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path);
    let buffered = '';
    const timer = setTimeout(() => {
      c.destroy();
      reject(new Error(`no answer from ${path} within ${timeoutMs} ms`));
    }, timeoutMs);
    c.setEncoding('utf8');
    c.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the ikegate daemon at ${path}: ${err.message}`));
    });
    c.once('connect', () => c.write(`${JSON.stringify(request)}\n`));
    c.on('data', (chunk: string) => {
      buffered += chunk;
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      c.end();
      const answer = JSON.parse(buffered.slice(0, nl)) as { ok: boolean; result?: unknown; error?: string };
      if (answer.ok) resolve(answer.result);
      else reject(new Error(answer.error ?? 'request failed'));
    });
  });
}
