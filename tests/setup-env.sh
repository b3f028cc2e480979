#!/usr/bin/env bash
# What the test tiers need on a Debian machine: packages, a running Docker engine, the test images.
# Installs missing Debian packages (as root), starts dockerd when no engine answers (its pid goes to
# $STACKCTL_DOCKERD_PIDFILE so CI can stop it), and builds the test images (cached by tag).
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=${STACKCTL_DOCKERD_PIDFILE:-/tmp/stackctl-dockerd.pid}

have() { command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ]; }
need_debs=()
for pair in haproxy:haproxy curl:curl openssl:openssl dockerd:docker.io debootstrap:debootstrap \
            h2load:nghttp2-client pebble:pebble pebble-challtestsrv:pebble docker-registry:docker-registry \
            named:bind9 ip:iproute2 socat:socat systemd-analyze:systemd crontab:cron; do
  have "${pair%%:*}" || need_debs+=("${pair##*:}")
done
if [ ${#need_debs[@]} -gt 0 ]; then
  mapfile -t need_debs < <(printf '%s\n' "${need_debs[@]}" | sort -u)
  if [ "$(id -u)" != 0 ]; then
    echo "setup: missing Debian packages; run: sudo apt-get install -y ${need_debs[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${need_debs[*]}"
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_debs[@]}"
fi

if ! docker info >/dev/null 2>&1; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: no Docker engine answers; start it (sudo systemctl start docker)" >&2
    exit 1
  fi
  echo "setup: starting dockerd (log: /tmp/stackctl-dockerd.log)"
  # ip6tables: Docker routes IPv6 clients to containers with their own address (the default from
  # Docker 27; experimental before), which the dual-stack tests check.
  nohup dockerd --experimental --ip6tables >/tmp/stackctl-dockerd.log 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
  docker info >/dev/null 2>&1 || { tail -20 /tmp/stackctl-dockerd.log >&2; echo "setup: dockerd did not start" >&2; exit 1; }
fi

bash tests/images/build.sh
bash tests/registry.sh
