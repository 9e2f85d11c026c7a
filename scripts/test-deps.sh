#!/usr/bin/env bash
# Installs the Debian packages the interop tests drive when any is missing: strongSwan as the
# client (charon, swanctl, pki; kernel-libipsec from libcharon-extra-plugins, eap-mschapv2 from
# libcharon-extauth-plugins, the openssl plugin), iproute2 for namespaces, nftables for the NAT
# router, ping, procps, util-linux (unshare, for each charon's private /run). Needs root and
# apt-get; without them it says what to install and fails, because an interop test whose peer is
# missing must fail, never skip. Used by `npm test` (pretest) and by .ci/run.
set -euo pipefail

PACKAGES=(
  strongswan-swanctl strongswan-charon charon-cmd strongswan-pki
  libcharon-extra-plugins libcharon-extauth-plugins
  libstrongswan-standard-plugins libstrongswan-extra-plugins
  iproute2 nftables iputils-ping procps util-linux openssl ca-certificates
  qemu-system-x86 linux-image-cloud-amd64 busybox-static cpio kmod lz4   # test/vm: kernel ESP in a QEMU guest
)

missing=()
for p in "${PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
  [ "$status" = "install ok installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "test-deps: missing Debian packages: ${missing[*]}" >&2
  echo "test-deps: install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Keep package scripts from starting system daemons (strongswan-starter's ipsec service) during
# installation; the tests run their own charons in network namespaces.
policy_rc=/usr/sbin/policy-rc.d
if [ ! -e "$policy_rc" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy_rc"
  chmod 755 "$policy_rc"
  trap 'rm -f "$policy_rc"' EXIT
fi
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
