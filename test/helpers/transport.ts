// The engine's Transport port for tests: records every datagram the engine sends.
import type { Datagram, Transport } from '../../src/ike/ports.js';

export class CapturingTransport implements Transport {
  readonly sent: Datagram[] = [];
  private cursor = 0;

  send(d: Datagram): void {
    this.sent.push({ bytes: d.bytes.slice(), local: d.local, remote: d.remote });
  }

  /** Datagrams sent since the last take(). */
  take(): Datagram[] {
    const out = this.sent.slice(this.cursor);
    this.cursor = this.sent.length;
    return out;
  }
}
