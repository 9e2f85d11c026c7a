#!/bin/bash
# test/vm/kernel-esp-guest.sh OUT - the kernel-ESP interop scenario, run INSIDE the QEMU guest
# (test/vm/vm-run.sh -w OUT ... kernel-esp-guest.sh OUT) by test/interop/kernel-esp.test.ts.
#
# The host test writes OUT/ikegate.conf (dataplane = xfrm) and OUT/client.conf (a strongSwan
# PSK client, swanctl syntax); this script builds the interop harness's topology (netns.ts)
# with the guest's own namespaces, runs ikegate in the gateway namespace and strongSwan clients
# with kernel-netlink (real kernel ESP, no libipsec), pings through the tunnels and records what
# the kernel, the daemon and the clients say. It asserts nothing itself: every step's output
# goes to OUT/<step>.txt and its status and duration to OUT/results.json (rewritten after each
# step, so a guest that dies half-way still leaves what it did), and the host test checks them.
#
#   c1   (wan0 192.0.2.11, 2001:db8::b) ─┐
#   nat  (wan0 192.0.2.2) masquerade (in0 198.51.100.1) ── cn (eth0 198.51.100.2)
#   sw   (br0) ───────────────────────────┤
#   gw   (wan0 192.0.2.1, 2001:db8::1; lan0 203.0.113.1, 2001:db8:cafe::1) ── lan (203.0.113.2, 2001:db8:cafe::2)
#
# Everything stays inside these namespaces; the guest has no network device of its own.
# Under TCG every process start costs 0.1-0.2 s and node ~3 s, so the script forks little.
set -uo pipefail

OUT=${1:?usage: kernel-esp-guest.sh OUT-DIR}
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
CLI=$REPO/dist/daemon/cli.js
CHARON=${IKEGATE_CHARON:-/usr/lib/ipsec/charon}
PINGS=${KESP_PINGS:-10}
# The gateway has no default route: the LAN's replies to the virtual IPs must find the routes
# ikegate installs in table 220 (rule "priority 220 lookup 220") before the XFRM out policy can
# take them. KESP_GW_DEFAULT_ROUTE=1 adds one towards an (absent) uplink router, for debugging
# a routing problem apart from the rest.
GW_DEFAULT_ROUTE=${KESP_GW_DEFAULT_ROUTE:-0}
R=/tmp/kesp               # guest RAM (overlay): sockets, charon dirs (not under /run: each
                          # charon gets its own /run), ikegate state
SOCK=$R/ikegate.sock
GW=kesp-gw LAN=kesp-lan SW=kesp-sw C1=kesp-c1 NAT=kesp-nat CN=kesp-cn

T0=$EPOCHREALTIME
# milliseconds since $1 (an $EPOCHREALTIME) into MS, without forking (forks are slow under TCG)
ms_since() { local now=${EPOCHREALTIME/./} then=${1/./}; MS=$(( (10#$now - 10#$then) / 1000 )); }
say() { ms_since "$T0"; printf '[%6d ms] %s\n' "$MS" "$*"; }

STEPS=() TIMINGS=()
write_results() {
  local IFS=,
  printf '{"kernel":"%s","timings":{%s},"steps":[%s]}\n' \
    "$KERNEL" "${TIMINGS[*]}" "${STEPS[*]}" > "$OUT/results.json"
}
timing() { TIMINGS+=("\"$1\":$2"); write_results; }
# step NAME CMD...: runs CMD with stdout+stderr in OUT/NAME.txt; records status and duration
step() {
  local name=$1 t=$EPOCHREALTIME rc=0; shift
  "$@" > "$OUT/$name.txt" 2>&1 || rc=$?
  local ms; ms_since "$t"; ms=$MS
  STEPS+=("{\"name\":\"$name\",\"rc\":$rc,\"ms\":$ms}")
  write_results
  say "step $name: rc $rc, $ms ms"
  return $rc
}

KERNEL=$(uname -r)
mkdir -p "$R/state" "$OUT"
write_results
say "kernel $KERNEL, node $(node --version), $("$CHARON" --version 2>&1 | head -n1)"

# --------------------------------------------------------------------------- topology
FAIL=0
x() { "$@" || { echo "FAILED: $*"; FAIL=1; }; }   # run, remember a failure, go on
topology() {
  local ns port=0
  for ns in $SW $GW $LAN $C1 $NAT $CN; do x ip netns add $ns; x ip -n $ns link set lo up; done
  x ip -n $SW link add br0 type bridge
  x ip -n $SW link set br0 up
  attach() {   # veth between NS's wan0 and a port of the switch's bridge
    x ip link add wan0 netns "$1" type veth peer name p$port netns $SW
    x ip -n $SW link set p$port master br0
    x ip -n $SW link set p$port up
    x ip -n "$1" link set wan0 up
    port=$((port + 1))
  }
  attach $GW
  x ip -n $GW addr add 192.0.2.1/24 dev wan0
  x ip -n $GW addr add 2001:db8::1/64 dev wan0 nodad
  x ip link add lan0 netns $GW type veth peer name eth0 netns $LAN
  x ip -n $GW addr add 203.0.113.1/24 dev lan0
  x ip -n $GW addr add 2001:db8:cafe::1/64 dev lan0 nodad
  x ip -n $GW link set lan0 up
  x ip -n $LAN addr add 203.0.113.2/24 dev eth0
  x ip -n $LAN addr add 2001:db8:cafe::2/64 dev eth0 nodad
  x ip -n $LAN link set eth0 up
  x ip -n $LAN route add default via 203.0.113.1
  x ip -n $LAN -6 route add default via 2001:db8:cafe::1
  x ip netns exec $GW sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  if [ "$GW_DEFAULT_ROUTE" = 1 ]; then
    # the uplink router (nothing answers there: only tunnelled traffic uses these routes)
    x ip -n $GW route add default via 192.0.2.254 dev wan0 onlink
    x ip -n $GW -6 route add default via 2001:db8::fe dev wan0 onlink
  fi
  attach $C1
  x ip -n $C1 addr add 192.0.2.11/24 dev wan0
  x ip -n $C1 addr add 2001:db8::b/64 dev wan0 nodad
  attach $NAT
  x ip -n $NAT addr add 192.0.2.2/24 dev wan0
  x ip link add in0 netns $NAT type veth peer name eth0 netns $CN
  x ip -n $NAT addr add 198.51.100.1/24 dev in0
  x ip -n $NAT link set in0 up
  x ip -n $CN addr add 198.51.100.2/24 dev eth0
  x ip -n $CN link set eth0 up
  x ip -n $CN route add default via 198.51.100.1
  x ip netns exec $NAT sysctl -qw net.ipv4.ip_forward=1
  # the same table and comments as the harness (netns.ts), so parseNatCounters() reads it
  x ip netns exec $NAT nft -f - <<'EOF'
table ip ikgnat {
  chain forward {
    type filter hook forward priority 0; policy accept;
    udp dport 500 counter comment "ike500"
    udp dport 4500 counter comment "ike4500"
    meta l4proto esp counter comment "esp"
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" counter masquerade comment "masq"
  }
}
EOF
  x ip netns exec $C1 ping -n -c 1 -W 2 192.0.2.1
  x ip netns exec $CN ping -n -c 1 -W 2 192.0.2.1
  return $FAIL
}

# --------------------------------------------------------------------------- strongSwan clients
# Per client: its own strongswan.conf with a short plugin list (af-alg & co. would probe kernel
# algorithms for seconds under TCG) and kernel-netlink as the ONLY kernel backend (no
# kernel-libipsec: the guest kernel does the ESP), its own /run (charon's pid file is fixed)
# bound over /run in a private mount namespace, its own vici socket; logs go to OUT/<name>/.
CHARON_PIDS=()
start_client() {   # $1 netns, $2 name
  local ns=$1 d=$R/$2 lg=$OUT/$2
  mkdir -p "$d/run" "$lg" "$d"/swanctl/{x509,x509ca,x509ocsp,x509aa,x509ac,x509crl,pubkey,private,rsa,ecdsa,bliss,pkcs8,pkcs12}
  cat > "$d/strongswan.conf" <<EOF
charon {
  load_modular = no
  load = random nonce aes sha1 sha2 hmac gcm curve25519 kdf pem pkcs1 pkcs8 x509 pubkey kernel-netlink socket-default vici attr
  retransmit_timeout = 4.0
  retransmit_tries = 4
  install_routes = yes
  install_virtual_ip = yes
  plugins { vici { socket = unix://$d/run/charon.vici } }
  filelog {
    main { path = $lg/charon.log
           time_format = %H:%M:%S
           append = no
           flush_line = yes
           default = 1
           ike = 2
           cfg = 2
           knl = 2 }
  }
  syslog { daemon { default = -1 } auth { default = -1 } }
}
swanctl { load = random nonce aes sha1 sha2 hmac pem pkcs1 pkcs8 x509 pubkey }
EOF
  ip netns exec "$ns" unshare --mount --propagation private -- sh -c \
    'mount --bind "$1/run" /run && STRONGSWAN_CONF="$1/strongswan.conf" exec "$2"' \
    sh "$d" "$CHARON" > "$lg/charon.out" 2>&1 &
  CHARON_PIDS+=($!)
}
wait_client() {   # $1 name
  local end=$((SECONDS + 60))
  while [ $SECONDS -lt $end ]; do [ -S "$R/$1/run/charon.vici" ] && return 0; sleep 0.1; done
  echo "charon $1 did not open its vici socket in 60 s"; cat "$OUT/$1/charon.out"; return 1
}
sw() {   # $1 name, $2 swanctl command, rest: its options
  local d=$R/$1 cmd=$2; shift 2
  STRONGSWAN_CONF=$d/strongswan.conf SWANCTL_DIR=$d/swanctl swanctl "$cmd" --uri "unix://$d/run/charon.vici" "$@"
}

# --------------------------------------------------------------------------- ikegate
IKEGATE_PID=
start_ikegate() {
  ip netns exec $GW node "$CLI" run --config "$OUT/ikegate.conf" > "$OUT/ikegate.log" 2>&1 &
  IKEGATE_PID=$!
}
wait_ikegate_ready() {
  local log end=$((SECONDS + 120))
  while [ $SECONDS -lt $end ]; do
    log=$(< "$OUT/ikegate.log")
    [[ $log == *'"msg":"ikegate ready"'* ]] && return 0
    kill -0 "$IKEGATE_PID" 2>/dev/null || { echo "ikegate exited before it was ready"; return 1; }
    sleep 0.1
  done
  echo "no 'ikegate ready' within 120 s"; return 1
}
stop_ikegate() {   # SIGTERM, then wait for the exit (SIGKILL after 60 s); prints the status
  local rc end=$((SECONDS + 60))
  kill -TERM "$IKEGATE_PID" || return 1
  while [ $SECONDS -lt $end ]; do
    kill -0 "$IKEGATE_PID" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$IKEGATE_PID" 2>/dev/null; then
    echo "ikegate still running 60 s after SIGTERM: SIGKILL"; kill -KILL "$IKEGATE_PID"; wait "$IKEGATE_PID"; return 1
  fi
  wait "$IKEGATE_PID"; rc=$?
  echo "ikegate exit status $rc"
  return $rc
}
list_sas() { node "$CLI" list-sas --json --socket "$SOCK"; }

# --------------------------------------------------------------------------- one client's tunnel
pings() {   # $1 netns: IPv4 then IPv6 to the LAN host, through the tunnel
  local rc=0
  ip netns exec "$1" ping -n -c "$PINGS" -i 0.2 -W 2 203.0.113.2 || rc=1
  echo "=== IPv6"
  ip netns exec "$1" ping -6 -n -c "$PINGS" -i 0.2 -W 2 2001:db8:cafe::2 || rc=1
  return $rc
}
xfrm_view() {   # $1 netns: states with counters, then policies
  ip -n "$1" -s xfrm state && echo "=== policies" && ip -n "$1" xfrm policy
}
gw_routing() {   # the gateway's table 220 and rules, both families (a table that never existed
                 # is an error text in the output, which the host test then shows)
  ip -n $GW route show table 220; echo "=== ipv6"; ip -n $GW -6 route show table 220
  echo "=== rules"; ip -n $GW rule; echo "=== rules6"; ip -n $GW -6 rule
}
tunnel() {   # $1 label (direct|nat), $2 netns, $3 client name
  local label=$1 ns=$2 name=$3
  step "$label-initiate" sw "$name" --initiate --child net --timeout 90 || return 1
  step "$label-client-addr" ip -n "$ns" addr
  step "$label-ping" pings "$ns"
  step "$label-gw-xfrm-state" ip -n $GW -s xfrm state
  step "$label-gw-xfrm-policy" ip -n $GW xfrm policy
  step "$label-gw-routing" gw_routing
  step "$label-client-xfrm" xfrm_view "$ns"
  step "$label-client-sas" sw "$name" --list-sas --raw
  step "$label-list-sas" list_sas
}

# =========================================================================== the scenario
t=$EPOCHREALTIME
step esp-sanity ip xfrm state add src 127.0.0.1 dst 127.0.0.2 proto esp spi 0x1 mode tunnel \
  aead 'rfc4106(gcm(aes))' 0x00112233445566778899aabbccddeeff00112233 128
ip xfrm state flush
step topology topology || { say "topology failed"; exit 0; }
ms_since "$t"; timing topologyMs "$MS"

# ikegate first (node start-up is the slowest thing here), the clients meanwhile
t=$EPOCHREALTIME
start_ikegate
start_client $C1 c1
start_client $CN cn
wait_clients() { wait_client c1 && wait_client cn; }
step clients-up wait_clients
ms_since "$t"; timing clientsStartMs "$MS"
if ! step ikegate-ready wait_ikegate_ready; then say "ikegate did not start"; exit 0; fi
ms_since "$t"; timing ikegateStartMs "$MS"
step gw-xfrm-initial xfrm_view $GW
step client-load-c1 sw c1 --load-all --noprompt --file "$OUT/client.conf"
step client-load-cn sw cn --load-all --noprompt --file "$OUT/client.conf"

# 1. a directly attached client
t=$EPOCHREALTIME
if tunnel direct $C1 c1; then
  ms_since "$t"; timing directMs "$MS"
  # the client deletes its IKE_SA: the gateway must remove the CHILD_SA's states and policies
  step direct-terminate sw c1 --terminate --ike gw --timeout 30
  sleep 1
  step direct-gw-xfrm-after-delete xfrm_view $GW
  step direct-gw-routing-after-delete gw_routing
fi

# 2. the client behind the masquerading NAT: ESP in UDP 4500
t=$EPOCHREALTIME
step nat-counters-before ip netns exec $NAT nft -j list table ip ikgnat
if tunnel nat $CN cn; then
  step nat-counters-after ip netns exec $NAT nft -j list table ip ikgnat
  ms_since "$t"; timing natMs "$MS"
fi

# 3. stop ikegate with the NAT client's SA still up: nothing of ours may stay in the kernel
t=$EPOCHREALTIME
step ikegate-stop stop_ikegate
ms_since "$t"; timing stopMs "$MS"
step after-stop-xfrm-state ip -n $GW xfrm state
step after-stop-xfrm-policy ip -n $GW xfrm policy
step after-stop-routes ip -n $GW route show table all
step after-stop-rules gw_routing
sleep 1
step after-stop-client-sas sw cn --list-sas --raw

for p in "${CHARON_PIDS[@]}"; do kill "$p" 2>/dev/null; done
for p in "${CHARON_PIDS[@]}"; do wait "$p" 2>/dev/null; done
ms_since "$T0"; timing guestTotalMs "$MS"
say "done"
exit 0
