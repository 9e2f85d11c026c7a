// swanctl.conf texts for exchange tests: a remote-access connection with virtual IPv4/IPv6
// pools and DNS servers, authenticated by PSK, by certificates, or by EAP.
import { ntPasswordHash } from '../../src/eap/mschapv2/chap-ms.js';

export const PSK = 'correct horse battery staple';
export const SERVER_ID = '@vpn.example.com';
export const DNS4 = '10.3.0.53';
export const DNS6 = 'fd00:3::53';
/** The first addresses the pools hand out (network addresses are skipped). */
export const FIRST_V4 = '10.3.0.1';
export const FIRST_V6 = 'fd00:3::1';

export const IKE_SUITES = ['aes256-sha1-modp1024', 'aes256gcm16-prfsha384-ecp384', 'aes256gcm16-prfsha256-x25519', 'aes128-sha256-modp2048'];

interface Common {
  proposals?: string;
  ikegate?: string;
  extra?: string;
}

const pools = `
pools {
  v4 {
    addrs = 10.3.0.0/24
    dns = ${DNS4}
  }
  v6 {
    addrs = fd00:3::/112
    dns = ${DNS6}
  }
}`;

const children = `
    children {
      rw {
        local_ts = 0.0.0.0/0, ::/0
        esp_proposals = aes256gcm16, aes256-sha256, aes256-sha1, aes128-sha256
      }
    }`;

const daemon = (c: Common) => (c.ikegate ? `ikegate {\n${c.ikegate}\n}\n` : '');

export function pskConfig(c: Common = {}): string {
  return `${daemon(c)}
connections {
  rw-psk {
    proposals = ${c.proposals ?? IKE_SUITES.join(', ')}
    pools = v4, v6
    ${c.extra ?? ''}
    local {
      auth = psk
      id = ${SERVER_ID}
    }
    remote {
      auth = psk
    }${children}
  }
}
${pools}
secrets {
  ike-rw {
    id-gw = ${SERVER_ID}
    secret = "${PSK}"
  }
}
`;
}

export function certConfig(c: Common = {}): string {
  return `${daemon(c)}
connections {
  rw-cert {
    proposals = ${c.proposals ?? IKE_SUITES.join(', ')}
    pools = v4, v6
    ${c.extra ?? ''}
    local {
      auth = pubkey
    }
    remote {
      auth = pubkey
    }${children}
  }
}
${pools}
`;
}

// ---- EAP (RFC 7296 §2.16): the gateway signs with its certificate, clients use EAP ----------

/** EAP users of eapConfig(): `eap-…` password secrets and one `ntlm-…` NT-hash secret. */
export const EAP_USERS = {
  alice: { id: 'alice', password: 'alice-Secret-1' },
  carol: { id: 'carol', password: 'carol-Secret-3' },
  /** Stored only as its NT hash MD4(UTF-16LE(password)) (RFC 2759 §8.3; strongSwan `ntlm` secret). */
  bob: { id: 'bob', password: 'bob-Secret-2' },
} as const;

export type EapAuth = 'eap-mschapv2' | 'eap-tls' | 'eap-md5' | 'eap-dynamic';

export interface EapConfigOptions extends Common {
  auth: EapAuth;
  /** remote.eap_id (default %any: ask every client for its EAP identity). */
  eapId?: string;
}

export function eapConfig(c: EapConfigOptions): string {
  return `${daemon(c)}
connections {
  rw-eap {
    proposals = ${c.proposals ?? IKE_SUITES.join(', ')}
    pools = v4, v6
    ${c.extra ?? ''}
    local {
      auth = pubkey
    }
    remote {
      auth = ${c.auth}
      eap_id = ${c.eapId ?? '%any'}
    }${children}
  }
}
${pools}
secrets {
  eap-alice {
    id = ${EAP_USERS.alice.id}
    secret = "${EAP_USERS.alice.password}"
  }
  eap-carol {
    id = ${EAP_USERS.carol.id}
    secret = "${EAP_USERS.carol.password}"
  }
  ntlm-bob {
    id = ${EAP_USERS.bob.id}
    secret = 0x${Buffer.from(ntPasswordHash(EAP_USERS.bob.password)).toString('hex')}
  }
}
`;
}
