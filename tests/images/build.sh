#!/usr/bin/env bash
# Builds the docker-tier test images from Debian packages (debootstrap + docker import), never pulled.
# Cached by tag: an image whose label matches the hash of these build inputs is kept as it is.
#   stackctl-test/haproxy:2.6          Debian's haproxy, shaped like the official image (non-root)
#   stackctl-test/mariadb:10.11        Debian's mariadb-server with the official env and healthcheck.sh
#   stackctl-test/photoprism:standin   a Python stand-in for PhotoPrism (test fixture, never a default)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${STACKCTL_IMAGE_CACHE:-/var/cache/stackctl-test}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=haproxy,mariadb-server,mariadb-client,python3,python3-pymysql,ca-certificates
# The root filesystem depends only on the packages and the steps below (bump rootfs_steps when they
# change); the images also on the fixture scripts, which are copied in at build time.
rootfs_steps=2
rootfs_inputs=$(echo "$packages $rootfs_steps" | sha256sum | cut -c1-16)
inputs=$(cat "$here"/build.sh "$here"/photoprism-standin.py "$here"/mariadb-entrypoint.sh "$here"/mariadb-healthcheck.sh \
  | sha256sum | cut -c1-16)
images=(stackctl-test/haproxy:2.6 stackctl-test/mariadb:10.11 stackctl-test/photoprism:standin)

current() {
  [ "$(docker image inspect -f '{{ index .Config.Labels "stackctl.test.inputs" }}' "$1" 2>/dev/null)" = "$inputs" ]
}
missing=()
for image in "${images[@]}"; do current "$image" || missing+=("$image"); done
if [ ${#missing[@]} -eq 0 ]; then
  echo "images: up to date (${images[*]})"
  exit 0
fi

mkdir -p "$cache"
tarball="$cache/rootfs-$rootfs_inputs.tar"
if [ ! -s "$tarball" ]; then
  command -v debootstrap >/dev/null || { echo "images: debootstrap is required (apt-get install debootstrap)" >&2; exit 1; }
  rootfs=$(mktemp -d "$cache/rootfs.XXXXXX")
  trap 'rm -rf "$rootfs"' EXIT
  echo "images: debootstrap bookworm into $rootfs (about a minute)"
  debootstrap --variant=minbase --include="$packages" bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 \
    || { tail -20 "$cache/debootstrap.log" >&2; exit 1; }
  # The official haproxy image runs as user haproxy, uid/gid 99.
  chroot "$rootfs" groupmod -g 99 haproxy
  chroot "$rootfs" usermod -u 99 -g 99 haproxy
  mkdir -p "$rootfs/usr/local/etc/haproxy" "$rootfs/run/haproxy" "$rootfs/photoprism"
  chroot "$rootfs" chown haproxy:haproxy /run/haproxy /var/lib/haproxy
  rm -rf "$rootfs"/var/lib/mysql/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/var/cache/apt/*.bin \
    "$rootfs"/var/lib/apt/lists/*
  tar -C "$rootfs" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$rootfs"
  trap - EXIT
fi

rm -f $(ls "$cache"/rootfs-*.tar 2>/dev/null | grep -v "$tarball") 2>/dev/null || true
base=stackctl-test/base:$rootfs_inputs
docker image inspect "$base" >/dev/null 2>&1 || { echo "images: importing $base"; docker import "$tarball" "$base" >/dev/null; }
build() {  # tag, then Dockerfile lines on stdin; FROM a local image, so nothing is pulled
  echo "images: building $1"
  { echo "FROM $base"; echo "LABEL stackctl.test.inputs=$inputs"; cat; } \
    | DOCKER_BUILDKIT=0 docker build -q -t "$1" -f - "$here" >/dev/null 2>"$cache/build.log" \
    || { cat "$cache/build.log" >&2; exit 1; }
}
current stackctl-test/haproxy:2.6 || build stackctl-test/haproxy:2.6 <<'DOCKERFILE'
USER haproxy
WORKDIR /var/lib/haproxy
STOPSIGNAL SIGUSR1
CMD ["haproxy", "-W", "-db", "-f", "/usr/local/etc/haproxy/haproxy.cfg"]
DOCKERFILE
current stackctl-test/mariadb:10.11 || build stackctl-test/mariadb:10.11 <<'DOCKERFILE'
COPY mariadb-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
COPY mariadb-healthcheck.sh /usr/local/bin/healthcheck.sh
ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]
CMD ["mariadbd"]
EXPOSE 3306
DOCKERFILE
current stackctl-test/photoprism:standin || build stackctl-test/photoprism:standin <<'DOCKERFILE'
COPY photoprism-standin.py /usr/local/bin/photoprism
WORKDIR /photoprism
ENV PHOTOPRISM_HTTP_PORT=2342
EXPOSE 2342
CMD ["photoprism", "start"]
DOCKERFILE
# Older base images of this fixture are only disk space now.
docker images --format '{{.Repository}}:{{.Tag}}' stackctl-test/base | grep -v ":$rootfs_inputs\$" \
  | xargs -r docker rmi >/dev/null 2>&1 || true
echo "images: built ${missing[*]}"
