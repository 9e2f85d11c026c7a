// Error types that carry their RFC 7296 reaction. One boundary (the engine) turns them into
// a response notify, a silent drop or an SA deletion; anything else is a bug, logged as such.
import { notifyName, type NotifyType } from './constants.js';

/** Malformed bytes: lengths or structure that do not parse (RFC 7296 §2.21: INVALID_SYNTAX). */
export class DecodeError extends Error {
  override readonly name = 'DecodeError';
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} (at offset ${offset})`);
  }
}

/** A protocol failure that becomes a NOTIFY payload of type `notify`. */
export class IkeError extends Error {
  override readonly name = 'IkeError';
  constructor(
    readonly notify: NotifyType,
    message: string,
    readonly data: Uint8Array = new Uint8Array(0),
  ) {
    super(`${notifyName(notify)}: ${message}`);
  }
}

/** A configuration or credential problem found at start-up: names the file, line and key. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(
    message: string,
    readonly file?: string,
    readonly line?: number,
  ) {
    super(file ? `${file}${line ? `:${line}` : ''}: ${message}` : message);
  }
}
