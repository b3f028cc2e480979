#!/bin/bash
# Test fixture: the subset of the official image's healthcheck.sh that the compose file uses.
# --connect: a TCP login works; --innodb_initialized: InnoDB is available.
set -u
query="SELECT 1"
for arg in "$@"; do
  case "$arg" in
    --connect) ;;
    --innodb_initialized) query="SELECT 1 FROM information_schema.ENGINES WHERE engine='InnoDB' AND support IN ('YES','DEFAULT','ENABLED')" ;;
    *) echo "healthcheck.sh: unknown option $arg" >&2; exit 2 ;;
  esac
done
# The value is read from stdout alone: MariaDB 11's client warns on stderr about TLS verification.
errors=$(mktemp)
trap 'rm -f "$errors"' EXIT
root_password=${MARIADB_ROOT_PASSWORD:-}
[ -n "${MARIADB_ROOT_PASSWORD_FILE:-}" ] && root_password=$(cat "$MARIADB_ROOT_PASSWORD_FILE")
out=$(MYSQL_PWD="$root_password" mariadb --protocol=tcp -h127.0.0.1 -uroot -N -e "$query" 2>"$errors") \
  || { cat "$errors"; exit 1; }
[ "$out" = "1" ] || { echo "not ready: $out $(cat "$errors")"; exit 1; }
