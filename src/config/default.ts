// The configuration `ikegate run` uses without --config, kept as swanctl.conf text so that it
// doubles as a commented example an operator can copy and edit. `@STATE_DIR@` is replaced by
// defaultConfigFor(); credentials are in <state dir>/swanctl (x509/, x509ca/, private/).

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const STATE_DIR_PLACEHOLDER = '@STATE_DIR@';

export const DEFAULT_CONFIG_TEXT = `# ikegate default configuration (swanctl.conf syntax).
# Remote access for two kinds of clients, both authenticating the gateway by its certificate
# (server.pem, issued by the CA ikegate generated in the state directory):
#   rw      clients with a certificate from that CA (ikegate cert issue NAME);
#   rw-eap  user name and password with EAP-MSCHAPv2: what Windows' built-in client uses by
#           default. Users are in ${STATE_DIR_PLACEHOLDER}/swanctl/conf.d/users.conf; the first
#           start creates one with a random password.

ikegate {
    state_dir = ${STATE_DIR_PLACEHOLDER}
    # listen = 0.0.0.0, ::
    # log_level = info
}

connections {
    rw {
        version = 2
        local_addrs = %any
        remote_addrs = %any
        # Modern suites first ("default"), then what Windows offers out of the box:
        # AES-CBC-256 with SHA-1/SHA-256 and MODP-1024 (DH group 2). MODP-1024 and SHA-1 are
        # legacy and weak; they are enabled here only because Windows needs them unless its
        # IPsec parameters are changed (Set-VpnConnectionIPsecConfiguration). Remove them
        # when all clients use stronger settings.
        proposals = default, aes256-sha256-modp2048, aes256-sha256-modp1024, aes256-sha1-modp1024
        pools = rw4, rw6
        # Answer with our certificate even without a CERTREQ (Apple clients send none).
        send_cert = always
        # Peers behind NAT: probe liveness every 30 s.
        dpd_delay = 30s
        local {
            auth = pubkey
            certs = server.pem
        }
        remote {
            auth = pubkey
            cacerts = ikegate-ca.pem
        }
        children {
            rw {
                # Full tunnel for both families; narrowed to the families a client gets an
                # address for.
                local_ts = 0.0.0.0/0, ::/0
                # Windows proposes AES-CBC-256/SHA-1 without PFS for ESP (legacy, see above).
                esp_proposals = default, aes256-sha256, aes256-sha1
                dpd_action = clear
            }
        }
    }
    rw-eap {
        version = 2
        remote_addrs = %any
        proposals = default, aes256-sha256-modp2048, aes256-sha256-modp1024, aes256-sha1-modp1024
        pools = rw4, rw6
        send_cert = always
        dpd_delay = 30s
        local {
            auth = pubkey
            certs = server.pem
        }
        remote {
            auth = eap-mschapv2
            # Ask every client for its EAP identity first (Windows prompts twice otherwise).
            eap_id = %any
        }
        children {
            rw-eap {
                local_ts = 0.0.0.0/0, ::/0
                esp_proposals = default, aes256-sha256, aes256-sha1
                dpd_action = clear
            }
        }
    }
}

# EAP users (secrets { eap-NAME { id = NAME  secret = ... } }), kept apart from this text.
include ${STATE_DIR_PLACEHOLDER}/swanctl/conf.d/*.conf

pools {
    # Operator defaults: change them if they collide with a network your clients use.
    # No DNS servers are pushed unless configured (add "dns = ..." here): a gateway does not
    # necessarily run a resolver, and clients keep their own resolver otherwise.
    rw4 {
        addrs = 10.42.0.0/24
    }
    rw6 {
        # /112 rather than /64 keeps the lease table small; fd42:1:: itself is never handed out.
        addrs = fd42:1::/112
    }
}
`;

/** The default configuration text for a given state directory. */
export function defaultConfigFor(stateDir: string): string {
  if (/[\n"#{}]/.test(stateDir)) throw new Error(`state directory '${stateDir}' contains characters swanctl.conf cannot hold`);
  return DEFAULT_CONFIG_TEXT.split(STATE_DIR_PLACEHOLDER).join(stateDir);
}

export interface DefaultUser {
  user: string;
  /** Only set when the file was created now: it is printed once and never logged. */
  password?: string;
  file: string;
}

/**
 * Creates <state dir>/swanctl/conf.d/users.conf with one EAP user and a random password on the
 * first start, so a Windows client can connect with a user name and password right away.
 */
export function ensureDefaultUser(stateDir: string): DefaultUser {
  const dir = join(stateDir, 'swanctl', 'conf.d');
  const file = join(dir, 'users.conf');
  if (existsSync(file)) return { user: DEFAULT_EAP_USER, file };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // 18 random bytes in base64url: 24 characters a user can type, about 144 bits.
  const password = randomBytes(18).toString('base64url');
  const text = `# EAP users of the default configuration. Add one section per user; reload by restarting ikegate.
secrets {
    eap-${DEFAULT_EAP_USER} {
        id = ${DEFAULT_EAP_USER}
        secret = "${password}"
    }
}
`;
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
  return { user: DEFAULT_EAP_USER, password, file };
}

export const DEFAULT_EAP_USER = 'vpnuser';
