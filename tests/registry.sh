#!/usr/bin/env bash
# A real registry for the docker tier: Debian's docker-registry (the CNCF distribution registry 2.8) on
# 127.0.0.1:5555, started when nothing answers there (its pid goes to $STACKCTL_REGISTRY_PIDFILE so CI
# can stop it), with the stand-in's releases pushed to it. Docker trusts a loopback registry over plain HTTP.
set -euo pipefail
cd "$(dirname "$0")/.."
pidfile=${STACKCTL_REGISTRY_PIDFILE:-/tmp/stackctl-registry.pid}
address=127.0.0.1:5555
storage=${STACKCTL_IMAGE_CACHE:-/var/cache/stackctl-test}/registry
answers() { curl -fsS "http://$address/v2/" >/dev/null 2>&1; }

if ! answers; then
  mkdir -p "$storage"
  config=$(mktemp /tmp/stackctl-registry.XXXXXX.yml)
  cat >"$config" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $storage}
  delete: {enabled: true}
http: {addr: $address}
YAML
  echo "registry: starting docker-registry on $address (log: /tmp/stackctl-registry.log)"
  nohup docker-registry serve "$config" >/tmp/stackctl-registry.log 2>&1 &
  echo $! >"$pidfile"
  for _ in $(seq 50); do answers && break; sleep 0.2; done
  answers || { tail -20 /tmp/stackctl-registry.log >&2; echo "registry: docker-registry did not start" >&2; exit 1; }
fi
# The stand-in's releases, and the proxy and database images, so a stack can pull every image.
for image in stackctl-test/photoprism:v1 stackctl-test/photoprism:v2 stackctl-test/photoprism:v3 \
             stackctl-test/haproxy:3.2 stackctl-test/mariadb:11.8; do
  docker tag "$image" "$address/$image"
  docker push -q "$address/$image" >/dev/null
done
echo "registry: $address serves stackctl-test/photoprism:v1 v2 v3, haproxy:3.2, mariadb:11.8"
