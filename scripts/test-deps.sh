#!/usr/bin/env bash
# Installs the Debian packages the interop tests drive (strongSwan as the client, iproute2,
# nftables, ping) when any is missing. Needs root and apt-get; without them it says what to do
# and fails, because an interop test whose peer is missing must fail, not skip.
set -euo pipefail

PACKAGES=(strongswan-swanctl strongswan-charon libcharon-extra-plugins libstrongswan-extra-plugins
  strongswan-pki iproute2 nftables iputils-ping procps openssl)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
  echo "test-deps: missing Debian packages: ${missing[*]}" >&2
  echo "test-deps: install them as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
