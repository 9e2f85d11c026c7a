// The configuration `ikegate run` uses without --config, kept as swanctl.conf text so that it
// doubles as a commented example an operator can copy and edit. `@STATE_DIR@` is replaced by
// defaultConfigFor(); credentials are in <state dir>/swanctl (x509/, x509ca/, private/).

export const STATE_DIR_PLACEHOLDER = '@STATE_DIR@';

export const DEFAULT_CONFIG_TEXT = `# ikegate default configuration (swanctl.conf syntax).
# Remote access with certificates: every client presents a certificate issued by the CA that
# \`ikegate\` generated in the state directory; the server authenticates with server.pem.

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
}

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
