#!/usr/bin/env bash
# Installs what `make bench-peers` compares against, from Debian's own packages (never a download
# from elsewhere): wrk, nginx, HAProxy, Caddy and Varnish (the cache rows), each only if missing. A
# package this Debian release does not carry (Caddy before bookworm) is skipped with a message; its
# rows are skipped. Varnish's package pulls in a C compiler: varnishd compiles each VCL to C.
#
# The packages' system services must not start: they would listen on ports 80/443 and take CPU on
# the machine we measure. A policy-rc.d that answers 101 ("action forbidden") is the Debian way to
# tell invoke-rc.d and deb-systemd-invoke not to start anything; we remove it again if it was ours.
set -euo pipefail

# command -> package
declare -A want=([wrk]=wrk [nginx]=nginx [haproxy]=haproxy [caddy]=caddy [varnishd]=varnish)
missing=()
for cmd in wrk nginx haproxy caddy varnishd; do
  # nginx, haproxy and varnishd live in /usr/sbin, which a non-login root shell may not have on its PATH.
  command -v "$cmd" >/dev/null || [[ -x /usr/sbin/$cmd ]] || missing+=("${want[$cmd]}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "bench-peers: missing ${missing[*]}; run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
candidate() { apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }'; }
# A fresh machine may have no package lists yet.
[[ -n $(candidate wrk) && $(candidate wrk) != '(none)' ]] || apt-get update -qq

install=()
for pkg in "${missing[@]}"; do
  c=$(candidate "$pkg")
  if [[ -z $c || $c == '(none)' ]]; then
    echo "bench-peers: $pkg is not in this Debian release's packages; its rows are skipped"
  else
    install+=("$pkg")
  fi
done
[[ ${#install[@]} -eq 0 ]] && exit 0

policy=/usr/sbin/policy-rc.d
ours=
if [[ ! -e $policy ]]; then
  printf '#!/bin/sh\n# written by rawproxy bench/peers/install.sh for the time of an install\nexit 101\n' >"$policy"
  chmod 755 "$policy"
  ours=1
fi
trap '[[ -n $ours ]] && rm -f "$policy"' EXIT
echo "bench-peers: installing ${install[*]} (apt-get; system services not started)"
log=$(mktemp)
apt-get install -y -qq --no-install-recommends "${install[@]}" >"$log" 2>&1 || { cat "$log" >&2; rm -f "$log"; exit 1; }
rm -f "$log"
