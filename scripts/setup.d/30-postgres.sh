# Starts a throwaway PostgreSQL 15 cluster for the fleet-core store tests and exports
# FLEET_TEST_POSTGRES_URL. Sourced by scripts/test, which provides apt_install and on_exit.
#
# The cluster lives in a temp dir, listens on 127.0.0.1 only, on a free port, runs as a non-root
# user (postgres when we are root, else ourselves) with trust auth, and is stopped and deleted
# when scripts/test ends. Tests create one database per test on it.

fleet_pg_setup() {
  local bin_dir pg_user run_as port dir
  if ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    apt_install postgresql
  fi
  bin_dir=""
  if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
    bin_dir=/usr/lib/postgresql/15/bin
  else
    bin_dir="$(dirname "$(ls -d /usr/lib/postgresql/*/bin/initdb | sort -V | tail -n 1)")"
  fi
  [ -x "$bin_dir/initdb" ] || { echo "30-postgres: no initdb found" >&2; return 1; }

  if [ "$(id -u)" -eq 0 ]; then
    pg_user=postgres
    id "$pg_user" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$pg_user"
    run_as=(runuser -u "$pg_user" --)
  else
    pg_user="$(id -un)"
    run_as=()
  fi

  port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  dir="$(mktemp -d /tmp/fleet-pg.XXXXXX)"
  chmod 700 "$dir"
  [ "$(id -u)" -eq 0 ] && chown "$pg_user" "$dir"

  "${run_as[@]}" "$bin_dir/initdb" -D "$dir/data" -U fleet -A trust --no-sync -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; return 1; }
  on_exit "${run_as[*]} $bin_dir/pg_ctl -D $dir/data -m immediate stop >/dev/null 2>&1; rm -rf $dir"
  "${run_as[@]}" "$bin_dir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=400" \
    start >/dev/null || { cat "$dir/server.log" >&2; return 1; }

  export FLEET_TEST_POSTGRES_URL="postgres://fleet@127.0.0.1:$port/postgres"
  echo "30-postgres: PostgreSQL ($bin_dir) on 127.0.0.1:$port, data in $dir"
}
fleet_pg_setup
