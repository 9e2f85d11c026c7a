// updown hooks: the PLUTO_* environment strongSwan scripts expect, one invocation per TS pair,
// "-v6" verbs for IPv6, and failing scripts reported without throwing.
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { UpdownRunner, updownEnvironment, type ChildEventInfo } from '../../../src/hooks/updown.js';
import { createLogger } from '../../../src/log/logger.js';
import { Writable } from 'node:stream';

const base: ChildEventInfo = {
  verb: 'up',
  child: 'net',
  reqid: 7,
  ikeSerial: 3,
  me: '192.0.2.1',
  myPort: 4500,
  peer: '198.51.100.9',
  peerPort: 31337,
  myId: 'gw.example.org',
  peerId: '192.168.1.13',
  eapId: 'alice',
  localTs: ['0.0.0.0/0', '::/0'],
  remoteTs: ['10.3.0.5/32', 'fd00:3::5/128'],
  peerVips: ['10.3.0.5', 'fd00:3::5'],
  dns: ['10.3.0.1', 'fd00:3::1'],
  encap: true,
  spiIn: 0xc0000001,
  spiOut: 0x12ab,
};

function capture(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const chunks: string[] = [];
  const sink = new Writable({
    write(c: Buffer, _e, cb) {
      chunks.push(c.toString());
      cb();
    },
  });
  return { log: createLogger('debug', sink), lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('updown environment', () => {
  it('describes an IPv4 pair like strongSwan does', () => {
    const env = updownEnvironment(base, '0.0.0.0/0', '10.3.0.5/32');
    expect(env).toMatchObject({
      PLUTO_VERB: 'up-client',
      PLUTO_CONNECTION: 'net',
      PLUTO_REQID: '7',
      PLUTO_ME: '192.0.2.1',
      PLUTO_MY_CLIENT: '0.0.0.0/0',
      PLUTO_MY_CLIENT_MASK: '0.0.0.0',
      PLUTO_PEER: '198.51.100.9',
      PLUTO_PEER_ID: '192.168.1.13',
      PLUTO_PEER_CLIENT: '10.3.0.5/32',
      PLUTO_PEER_CLIENT_NET: '10.3.0.5',
      PLUTO_PEER_CLIENT_MASK: '255.255.255.255',
      PLUTO_XAUTH_ID: 'alice',
      PLUTO_PEER_SOURCEIP: '10.3.0.5',
      PLUTO_PEER_SOURCEIP4_1: '10.3.0.5',
      PLUTO_DNS4_1: '10.3.0.1',
      PLUTO_UDP_ENC: '31337',
    });
  });

  it('uses the -v6 verb and prefix-length masks for IPv6', () => {
    const env = updownEnvironment({ ...base, verb: 'down' }, '::/0', 'fd00:3::5/128');
    expect(env.PLUTO_VERB).toBe('down-client-v6');
    expect(env.PLUTO_PEER_CLIENT_MASK).toBe('128');
    expect(env.PLUTO_PEER_SOURCEIP).toBe('fd00:3::5');
  });
});

describe('UpdownRunner', () => {
  it('runs the script once per same-family TS pair with the environment', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'updown-'));
    const out = join(dir, 'calls');
    const script = join(dir, 'updown.sh');
    writeFileSync(script, `#!/bin/sh\necho "$PLUTO_VERB $PLUTO_MY_CLIENT $PLUTO_PEER_CLIENT $PLUTO_XAUTH_ID" >> ${out}\n`);
    chmodSync(script, 0o755);
    const { log } = capture();
    const runner = new UpdownRunner(log);
    await runner.handle({ ...base, updown: script });
    await runner.handle({ ...base, verb: 'down', updown: script });
    expect(readFileSync(out, 'utf8').trim().split('\n')).toEqual([
      'up-client 0.0.0.0/0 10.3.0.5/32 alice',
      'up-client-v6 ::/0 fd00:3::5/128 alice',
      'down-client 0.0.0.0/0 10.3.0.5/32 alice',
      'down-client-v6 ::/0 fd00:3::5/128 alice',
    ]);
  });

  it('logs a failing script with its output and carries on', async () => {
    const { log, lines } = capture();
    const runner = new UpdownRunner(log);
    await runner.handle({ ...base, localTs: ['0.0.0.0/0'], remoteTs: ['10.3.0.5/32'], updown: 'echo proxy-arp failed >&2; exit 3' });
    const warn = lines().find((l) => l.level === 'warn');
    expect(warn?.msg).toContain('exit 3');
    expect(warn?.output).toBe('proxy-arp failed');
  });
});
