// pino set-up: JSON lines to stdout, one child logger per IKE_SA bound to its SPIs and peer.
// Field names that could hold secrets are redacted at the logger, as a second line of defence
// behind the rule that secrets are never passed to a log call at all.
import { pino, type Logger } from 'pino';

export type { Logger };

const REDACT = ['*.secret', '*.psk', '*.password', '*.key', '*.keys', '*.skD', '*.msk', 'secret', 'psk', 'password', 'msk'];

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const opts = {
    level,
    base: { name: 'ikegate' },
    redact: { paths: REDACT, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return destination ? pino(opts, destination) : pino(opts);
}

/** A logger that discards everything (tests that do not look at logs). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

/**
 * Logs a repeated condition (e.g. junk datagrams from one source) at most once per interval,
 * with a count of what was suppressed, so a flood cannot flood the log as well.
 */
export class RateLimitedLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();
  constructor(
    private readonly intervalMs: number,
    private readonly maxKeys = 1024,
  ) {}

  /** Returns the number of suppressed repeats to report, or undefined if this one is suppressed. */
  admit(key: string, now: number): number | undefined {
    const e = this.last.get(key);
    if (e && now - e.at < this.intervalMs) {
      e.suppressed++;
      return undefined;
    }
    if (!e && this.last.size >= this.maxKeys) this.last.delete(this.last.keys().next().value as string);
    this.last.set(key, { at: now, suppressed: 0 });
    return e?.suppressed ?? 0;
  }
}
