#!/usr/bin/env bash
# Makes a streaming replica of the local PostgreSQL (127.0.0.1:5432) with pg_basebackup and starts it on port
# 5433, for the read-routing tests and for trying DATABASE_READ_URL by hand. Run as root (CI does): it allows
# replication connections from 127.0.0.1 in the primary's pg_hba.conf, and runs the replica as the postgres user.
#   bash scripts/pg-replica.sh            # then DATABASE_READ_URL=postgres://postgres@127.0.0.1:5433/<database>
#   bash scripts/pg-replica.sh stop
set -euo pipefail
PORT=${MPI_REPLICA_PORT:-5433}
DIR=${MPI_REPLICA_DIR:-/tmp/mpi-pg-replica}
PRIMARY="-h 127.0.0.1 -p 5432 -U postgres"
BIN=$(dirname "$(readlink -f "$(command -v pg_basebackup)")")
[ -x "$BIN/pg_ctl" ] || BIN=$(pg_config --bindir)
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }

if [ "${1:-start}" = stop ]; then
  [ -d "$DIR" ] && as_postgres "$BIN/pg_ctl" -D "$DIR" -m fast stop || true
  exit 0
fi
if pg_isready -h 127.0.0.1 -p "$PORT" -q; then
  echo "a server already answers on port $PORT"
  exit 0
fi

hba=$(psql $PRIMARY -d postgres -Atc 'show hba_file')
if ! grep -qE '^\s*host\s+replication\s' "$hba"; then
  echo 'host replication all 127.0.0.1/32 trust' >>"$hba"
  psql $PRIMARY -d postgres -qAtc 'select pg_reload_conf()' >/dev/null
fi

rm -rf "$DIR"
install -d -o postgres -g postgres -m 700 "$DIR"
as_postgres pg_basebackup $PRIMARY -D "$DIR" -R -X stream -c fast
# Debian keeps the configuration outside the data directory: the replica gets a minimal one of its own.
as_postgres bash -c "cat >'$DIR/postgresql.conf' <<CONF
port = $PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '/tmp'
hot_standby = on
max_connections = 100
CONF
printf 'local all all trust\nhost all all 127.0.0.1/32 trust\n' >'$DIR/pg_hba.conf'
: >'$DIR/pg_ident.conf'"
as_postgres "$BIN/pg_ctl" -D "$DIR" -l "$DIR/server.log" -w -t 60 start >/dev/null
pg_isready -h 127.0.0.1 -p "$PORT"
echo "streaming replica of 127.0.0.1:5432 on 127.0.0.1:$PORT ($DIR)"
