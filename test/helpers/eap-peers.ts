// Client-side EAP peers for the exchange tests, as EapClientPeer (initiator.ts authEap()). They
// adapt the peers written for the EAP unit tests, which are built from the RFC functions and
// node:tls independently of src/eap:
//   mschapv2Peer / md5Peer  test/unit/eap/peer.ts (RFC 2759 / RFC 1994 computations, Identity, Nak)
//   tlsPeer                 test/unit/eap/tls-helpers/peer.ts (EAP-TLS over node:tls, RFC 5216 / 9190)
//                           plus the Identity round and a Nak to EAP-TLS for any other method.
import { readFileSync } from 'node:fs';
import { EapCode, EapType } from '../../src/ike/constants.js';
import type { CredentialStore } from '../../src/credentials/store.js';
import { decodeEap, encodeEap, type EapPacket } from '../../src/eap/packet.js';
import { utf8 } from '../../src/crypto/bytes.js';
import { TestPeer, type PeerOptions } from '../unit/eap/peer.js';
import { EapTlsTestPeer, type PeerOptions as TlsPeerOptions } from '../unit/eap/tls-helpers/peer.js';
import type { EapClientPeer } from './initiator.js';
import { TestPki, gatewayStore, type Issued, type KeySpec } from './pki.js';

export interface PasswordPeer extends EapClientPeer {
  /** The underlying scripted peer: seen Requests, authenticatorOk, success/failure messages. */
  readonly peer: TestPeer;
  /** Synchronous: the password methods compute their answers at once. */
  respond(request: Uint8Array): Uint8Array;
}

/** EAP-MSCHAPv2 only: Naks anything else with [26]. */
export function mschapv2Peer(o: Omit<PeerOptions, 'accepts'>): PasswordPeer {
  const peer = new TestPeer({ ...o, accepts: [EapType.MSCHAPV2] });
  return { peer, respond: (r) => peer.respond(r), msk: () => peer.msk };
}

/** EAP-MD5 only (no MSK): Naks anything else with [4]. */
export function md5Peer(o: Omit<PeerOptions, 'accepts' | 'name'>): PasswordPeer {
  const peer = new TestPeer({ ...o, accepts: [EapType.MD5] });
  return { peer, respond: (r) => peer.respond(r), msk: () => undefined };
}

export interface TlsClientPeer extends EapClientPeer {
  readonly tls: EapTlsTestPeer;
  /** Every Request this peer answered (Identity, Naked methods, EAP-TLS). */
  readonly seen: EapPacket[];
}

/** EAP-TLS with a client certificate; answers Identity with `identity` and Naks other methods to TLS. */
export function tlsPeer(o: TlsPeerOptions & { identity: string }): TlsClientPeer {
  const tls = new EapTlsTestPeer(o);
  const seen: EapPacket[] = [];
  return {
    tls,
    seen,
    async respond(bytes) {
      const req = decodeEap(bytes);
      seen.push(req);
      if (req.code !== EapCode.REQUEST) throw new Error(`EAP-TLS peer got code ${req.code}`);
      const reply = (type: number, data: Uint8Array) => encodeEap({ code: EapCode.RESPONSE, identifier: req.identifier, type, data });
      if (req.type === EapType.IDENTITY) return reply(EapType.IDENTITY, utf8(o.identity));
      if (req.type !== EapType.TLS) return reply(EapType.NAK, Uint8Array.of(EapType.TLS));
      return encodeEap(await tls.handle(req));
    },
    msk: () => (tls.secure ? tls.msk() : undefined),
  };
}

/** The gateway side of the EAP tests: a root CA and the gateway's certificate for IKE AUTH and EAP-TLS. */
export interface EapPki {
  pki: TestPki;
  root: Issued;
  server: Issued;
  /** The root as PEM, for the TLS peer's `caPem`. */
  rootPem: string;
  /** The gateway's store: its certificate, trusting `root` (and any extra anchors). */
  store(extraAnchors?: Issued[]): CredentialStore;
  /** A client certificate from `issuer` (default the root) with the given subjectAltNames, as PEM for the TLS peer. */
  client(name: string, spec: KeySpec, san: string[], issuer?: Issued): { certPem: string; keyPem: string; issued: Issued };
}

export function eapPki(serverSpec: KeySpec = 'rsa2048'): EapPki {
  const pki = new TestPki();
  const root = pki.root('eap-root', '/C=CH/O=ikegate test/CN=EAP Test Root', serverSpec);
  const server = pki.issue('eap-server', '/C=CH/O=ikegate test/CN=vpn.example.com', serverSpec, root, {
    san: ['DNS:vpn.example.com', 'IP:192.0.2.1'],
    eku: ['serverAuth', '1.3.6.1.5.5.8.2.2'],
  });
  const pem = (file: string) => readFileSync(file, 'latin1');
  return {
    pki,
    root,
    server,
    rootPem: pem(root.certFile),
    store: (extra = []) => gatewayStore({ own: [{ leaf: server }], anchors: [root, ...extra] }),
    client(name, spec, san, issuer = root) {
      const issued = pki.issue(name, `/C=CH/O=ikegate test/CN=${name}`, spec, issuer, { san, eku: ['clientAuth'] });
      return { certPem: pem(issued.certFile), keyPem: pem(issued.keyFile), issued };
    },
  };
}
