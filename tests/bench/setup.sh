#!/usr/bin/env bash
# What `make bench` needs beyond the test set-up: nginx and caddy (for side-by-side rows), h2load,
# valgrind (tests.bench.cost).
# Installed without starting their system services.
set -euo pipefail
have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
need=()
have nginx || need+=(nginx)
have caddy || need+=(caddy)
have h2load || need+=(nghttp2-client)
have valgrind || need+=(valgrind)  # tests.bench.cost: instructions per request, which load does not move
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "bench: missing Debian packages; run: sudo apt-get install -y ${need[*]}" >&2
    exit 1
  fi
  created_policy=""
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  echo "bench: installing ${need[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}"
  [ -z "$created_policy" ] || rm -f /usr/sbin/policy-rc.d
fi
