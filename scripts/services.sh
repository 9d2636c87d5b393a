#!/usr/bin/env bash
# Make sure the services the tests talk to are up: Redis on 127.0.0.1:6379 and PostgreSQL on
# 127.0.0.1:5432 with a database "test" (trust auth). Starts them, installing from Debian's
# packages first where they are missing. Safe to run again.
set -euo pipefail

up() { # host port
  python3 - "$1" "$2" <<'PY'
import socket, sys
s = socket.socket(); s.settimeout(1)
sys.exit(0 if s.connect_ex((sys.argv[1], int(sys.argv[2]))) == 0 else 1)
PY
}

wait_up() { # host port name
  for _ in $(seq 1 60); do up "$1" "$2" && return 0; sleep 0.5; done
  echo "services: $3 did not come up on $1:$2" >&2; return 1
}

apt_install() {
  command -v apt-get >/dev/null || { echo "services: cannot install $*: no apt-get" >&2; return 1; }
  [ -n "$(ls -A /var/lib/apt/lists 2>/dev/null | grep -v lock)" ] || apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

if ! up 127.0.0.1 6379; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  wait_up 127.0.0.1 6379 redis
fi

if ! up 127.0.0.1 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  conf=/etc/postgresql/$version/main
  if ! grep -q "^host all all 127.0.0.1/32 trust" "$conf/pg_hba.conf"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nlocal all all trust' "$conf/pg_hba.conf"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  wait_up 127.0.0.1 5432 postgresql
fi

if command -v psql >/dev/null; then
  if ! psql -h 127.0.0.1 -U postgres -lqt 2>/dev/null | cut -d'|' -f1 | grep -qw test; then
    psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test" >/dev/null
  fi
fi

# The dashboard's tests drive a real browser: Debian's Chromium (a browser that downloads
# itself cannot be fetched here), through Playwright's Python package.
if ! command -v chromium >/dev/null; then
  apt_install chromium
fi
