#!/usr/bin/env bash
# Builds the docker-tier test images from Debian packages (debootstrap + docker import), never pulled.
# Cached by tag: an image whose label matches the hash of these build inputs is kept as it is.
#   stackctl-test/haproxy:3.2          Debian sid's haproxy (OpenSSL 3.6), shaped like the official image
#                                      (non-root); its openssl is the test's post-quantum client
#   stackctl-test/haproxy:3.0          Debian 13's haproxy, the same way
#   stackctl-test/mariadb:11.8         Debian 13's mariadb-server with the official env and healthcheck.sh
#   stackctl-test/haproxy:2.6          the same from Debian 12: the oldest supported pair
#   stackctl-test/mariadb:10.11
#   stackctl-test/photoprism:standin   a Python stand-in for PhotoPrism (test fixture, never a default)
#   stackctl-test/photoprism:v1|v2|v3  its releases for upgrade tests: v2 changes the database schema,
#                                      v3 changes it again and never becomes healthy
#   stackctl-test/upstream:1           a small Python HTTP app: a site's upstream (not PhotoPrism)
#   stackctl-test/pebble:2.10          Debian sid's pebble (ACME profiles), for the acme tier
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${STACKCTL_IMAGE_CACHE:-/var/cache/stackctl-test}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
declare -A suite_packages=(
  [bookworm]=haproxy,mariadb-server,mariadb-client,python3,python3-pymysql,ca-certificates
  [trixie]=haproxy,mariadb-server,mariadb-client,ca-certificates
  [sid]=haproxy,openssl,ca-certificates
  [sid+acme]=pebble,ca-certificates
)
# A root filesystem is named by its suite, or by suite+purpose when a suite has more than one.
suite_of() { echo "${1%%+*}"; }
# A root filesystem depends only on its suite, its packages and the steps below (bump rootfs_steps
# when they change); the images also on the fixture scripts, which are copied in at build time.
rootfs_steps=2
inputs=$(cat "$here"/build.sh "$here"/photoprism-standin.py "$here"/mariadb-entrypoint.sh "$here"/mariadb-healthcheck.sh \
  "$here"/upstream-app.py \
  | sha256sum | cut -c1-16)
declare -A image_suite=(
  [stackctl-test/haproxy:3.2]=sid [stackctl-test/haproxy:3.0]=trixie [stackctl-test/mariadb:11.8]=trixie
  [stackctl-test/haproxy:2.6]=bookworm [stackctl-test/mariadb:10.11]=bookworm [stackctl-test/photoprism:standin]=bookworm
  [stackctl-test/photoprism:v1]=bookworm [stackctl-test/photoprism:v2]=bookworm [stackctl-test/photoprism:v3]=bookworm
  [stackctl-test/upstream:1]=bookworm [stackctl-test/pebble:2.10]=sid+acme
)

current() {
  [ "$(docker image inspect -f '{{ index .Config.Labels "stackctl.test.inputs" }}' "$1" 2>/dev/null)" = "$inputs" ]
}
missing=()
for image in "${!image_suite[@]}"; do current "$image" || missing+=("$image"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "images: up to date (${!image_suite[*]})"
  exit 0
fi
mkdir -p "$cache"

rootfs_id() { echo "$1 ${suite_packages[$1]} $rootfs_steps" | sha256sum | cut -c1-16; }

make_rootfs() {  # suite -> $cache/rootfs-<suite>-<id>.tar, built once
  local suite=$1 tarball rootfs
  tarball="$cache/rootfs-$suite-$(rootfs_id "$suite").tar"
  [ -s "$tarball" ] && return 0
  command -v debootstrap >/dev/null || { echo "images: debootstrap is required (apt-get install debootstrap)" >&2; exit 1; }
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  echo "images: debootstrap $suite into $rootfs (about a minute)" >&2
  debootstrap --variant=minbase --include="${suite_packages[$suite]}" "$(suite_of "$suite")" "$rootfs" "$mirror" \
    >"$cache/debootstrap-$suite.log" 2>&1 || { tail -20 "$cache/debootstrap-$suite.log" >&2; rm -rf "$rootfs"; exit 1; }
  if [ -e "$rootfs/usr/sbin/haproxy" ]; then
    # The official haproxy image runs as user haproxy, uid/gid 99.
    chroot "$rootfs" groupmod -g 99 haproxy
    chroot "$rootfs" usermod -u 99 -g 99 haproxy
    mkdir -p "$rootfs/usr/local/etc/haproxy" "$rootfs/run/haproxy" "$rootfs/photoprism"
    chroot "$rootfs" chown haproxy:haproxy /run/haproxy /var/lib/haproxy
  fi
  rm -rf "$rootfs"/var/lib/mysql/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
}

base_image() {  # suite -> the imported base image's tag
  local suite=$1 id
  id=$(rootfs_id "$suite")
  make_rootfs "$suite"
  local base="stackctl-test/base:${suite/+/-}-$id"
  docker image inspect "$base" >/dev/null 2>&1 \
    || { echo "images: importing $base" >&2; docker import "$cache/rootfs-$suite-$id.tar" "$base" >/dev/null; }
  echo "$base"
}

build() {  # tag, then Dockerfile lines on stdin; FROM a local image, so nothing is pulled
  local tag=$1 base
  base=$(base_image "${image_suite[$tag]}")
  echo "images: building $tag"
  { echo "FROM $base"; echo "LABEL stackctl.test.inputs=$inputs"; cat; } \
    | DOCKER_BUILDKIT=0 docker build -q -t "$tag" -f - "$here" >/dev/null 2>"$cache/build.log" \
    || { cat "$cache/build.log" >&2; exit 1; }
}

haproxy_image() {
  build "$1" <<'DOCKERFILE'
USER haproxy
WORKDIR /var/lib/haproxy
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
DOCKERFILE
}
mariadb_image() {
  build "$1" <<'DOCKERFILE'
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY mariadb-healthcheck.sh /usr/local/bin/healthcheck.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["mariadbd"]
EXPOSE 3306
DOCKERFILE
}
for tag in stackctl-test/haproxy:3.2 stackctl-test/haproxy:3.0 stackctl-test/haproxy:2.6; do
  current "$tag" || haproxy_image "$tag"
done
for tag in stackctl-test/mariadb:11.8 stackctl-test/mariadb:10.11; do current "$tag" || mariadb_image "$tag"; done
standin_image() {  # tag, version
  build "$1" <<DOCKERFILE
COPY photoprism-standin.py /usr/local/bin/photoprism
WORKDIR /photoprism
ENV PHOTOPRISM_HTTP_PORT=2342 STANDIN_VERSION=$2
LABEL org.opencontainers.image.version=$2.0.0
EXPOSE 2342
CMD ["photoprism", "start"]
DOCKERFILE
}
current stackctl-test/photoprism:standin || standin_image stackctl-test/photoprism:standin 1
for version in 1 2 3; do
  current "stackctl-test/photoprism:v$version" || standin_image "stackctl-test/photoprism:v$version" "$version"
done
current stackctl-test/pebble:2.10 || build stackctl-test/pebble:2.10 <<'DOCKERFILE'
ENTRYPOINT ["/usr/bin/pebble"]
DOCKERFILE
current stackctl-test/upstream:1 || build stackctl-test/upstream:1 <<'DOCKERFILE'
COPY upstream-app.py /usr/local/bin/upstream-app
ENV UPSTREAM_PORT=8080
EXPOSE 8080
CMD ["python3", "/usr/local/bin/upstream-app"]
DOCKERFILE

# Older root filesystems and base images of this fixture are only disk space now.
keep_tars=() keep_bases=()
for suite in "${!suite_packages[@]}"; do
  keep_tars+=("rootfs-$suite-$(rootfs_id "$suite").tar")
  keep_bases+=("stackctl-test/base:${suite/+/-}-$(rootfs_id "$suite")")
done
for tar in "$cache"/rootfs-*.tar; do
  [ -e "$tar" ] || continue
  printf '%s\n' "${keep_tars[@]}" | grep -qx "$(basename "$tar")" || rm -f "$tar"
done
docker images --format '{{.Repository}}:{{.Tag}}' stackctl-test/base | grep -vxF -f <(printf '%s\n' "${keep_bases[@]}") \
  | xargs -r docker rmi >/dev/null 2>&1 || true
echo "images: built ${missing[*]}"
