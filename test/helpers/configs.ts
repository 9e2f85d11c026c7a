// swanctl.conf texts for exchange tests: a remote-access connection with virtual IPv4/IPv6
// pools and DNS servers, authenticated by PSK or by certificates.

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
