// Which swanctl.conf keys ikegate implements and which ones swanctl knows but ikegate ignores
// (a warning), per context (key list from strongSwan's swanctl.opt, 5.9/6.0). Anything in
// neither list is an error: a typo must not silently change the meaning of a config.

export interface KeyTable {
  /** Keys mapped into the policy objects. */
  implemented: readonly string[];
  /** Keys swanctl accepts that ikegate does not act on yet. */
  ignored: readonly string[];
}

export const CONNECTION_KEYS: KeyTable = {
  implemented: [
    'version', 'local_addrs', 'remote_addrs', 'proposals', 'pools', 'encap', 'mobike', 'dpd_delay',
    'fragmentation', 'send_certreq', 'send_cert', 'unique', 'reauth_time', 'rekey_time', 'rand_time',
  ],
  // Parsed (so their values are checked) but not acted on: the operator gets a warning.
  ignored: [
    'vips', 'aggressive', 'pull', 'dscp', 'childless', 'ppk_id', 'ppk_required', 'if_id_in', 'if_id_out',
    'mediation', 'mediated_by', 'mediation_peer', 'ocsp', 'local_port', 'remote_port', 'dpd_timeout',
    'keyingtries', 'over_time',
  ],
};

export const LOCAL_KEYS: KeyTable = {
  implemented: ['auth', 'id', 'certs', 'round', 'eap_id'],
  ignored: ['pubkeys', 'aaa_id', 'xauth_id'],
};

export const REMOTE_KEYS: KeyTable = {
  implemented: ['auth', 'id', 'eap_id', 'cacerts', 'round'],
  // certs (pinning the peer's certificate) and revocation checking are not enforced yet.
  ignored: ['groups', 'cert_policy', 'pubkeys', 'ca_id', 'certs', 'revocation'],
};

export const CHILD_KEYS: KeyTable = {
  implemented: [
    'local_ts', 'remote_ts', 'esp_proposals', 'mode', 'rekey_time', 'life_time', 'rand_time', 'rekey_bytes',
    'life_bytes', 'updown', 'dpd_action', 'replay_window', 'start_action',
  ],
  ignored: [
    'rand_bytes', 'close_action', 'hostaccess', 'policies', 'ipcomp', 'inactivity',
    'ah_proposals', 'sha256_96', 'rekey_packets', 'life_packets', 'rand_packets', 'policies_fwd_out', 'reqid',
    'priority', 'interface', 'mark_in', 'mark_in_sa', 'mark_out', 'set_mark_in', 'set_mark_out', 'if_id_in',
    'if_id_out', 'tfc_padding', 'hw_offload', 'copy_df', 'copy_ecn', 'copy_dscp', 'label', 'label_mode',
    'per_cpu_sas',
  ],
};

/** Keys of the `cert<suffix>` / `cacert<suffix>` subsections of auth rounds (PKCS#11 tokens). */
export const CERT_SECTION_KEYS: KeyTable = { implemented: [], ignored: ['file', 'handle', 'slot', 'module'] };

export const AUTHORITY_KEYS: KeyTable = {
  implemented: ['cacert', 'file'],
  ignored: ['handle', 'slot', 'module', 'cert_uri_base', 'crl_uris', 'ocsp_uris'],
};

/** Pool attribute names of swanctl (pools.<name>.<attr>); numeric attribute types are allowed too. */
export const POOL_ATTRS = ['dns', 'nbns', 'dhcp', 'netmask', 'server', 'subnet', 'split_include', 'split_exclude'] as const;

/** Secret section prefixes, longest first so `pkcs12` is not taken for something shorter. */
export const SECRET_TYPES = ['pkcs12', 'pkcs8', 'private', 'xauth', 'ecdsa', 'token', 'ntlm', 'ike', 'eap', 'rsa', 'ppk'] as const;

export const IKEGATE_KEYS: KeyTable = {
  implemented: [
    'listen', 'port', 'port_nat_t', 'state_dir', 'control_socket', 'log_level', 'dataplane', 'cookie_threshold',
    'half_open_timeout', 'retransmit_timeout', 'retransmit_tries', 'retransmit_base', 'keepalive', 'routing_table',
    'proposal_order', 'fragment_size', 'eap_only_authentication', 'eap_mschapv2_domain',
  ],
  ignored: [],
};
