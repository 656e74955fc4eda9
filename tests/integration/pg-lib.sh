# SPDX-License-Identifier: LGPL-2.1-or-later
# A private PostgreSQL for a test case (sourced by lib.sh).
#
# The server runs as uid 65534 (setpriv; initdb refuses root), keeps its
# data in the case's temp dir and listens only on a Unix socket there: no
# TCP port, nothing outside the temp dir. sa_cleanup stops it and waits.
# A cluster is made once per build (initdb is most of the cost) and copied
# for each case.
#
#   pg_start          starts the server in $T/pg; sets PG_SOCKET_DIR
#   pg_conninfo DB    writes $T/conninfo (mode 0600) for database DB, made if new
#   pg_psql SQL       runs SQL on the test database, unaligned output
#   pg_stop           fast shutdown, waits
#   pg_down / pg_up   a restart: shut down (fast, waits), keeping the data
#                     dir; start again on the same data dir and socket

PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PG_DIR=""
PG_SOCKET_DIR=""
PG_DB=postgres      # the cluster's own: no CREATE DATABASE per case
PG_AS=(setpriv --reuid=65534 --regid=65534 --clear-groups)

# The per-build template cluster, made under a lock by whichever case
# comes first.
pg_template() {
        local base=${BUILD_DIR:-/tmp}/test-tmp tpl
        tpl=$base/pg-template
        mkdir -p "$base"
        (
                flock -w 120 9 || exit 1
                if [ ! -f "$tpl/data/PG_VERSION" ]; then
                        rm -rf "$tpl"
                        mkdir -m 700 "$tpl"
                        chown 65534:65534 "$tpl"
                        "${PG_AS[@]}" "$PG_BIN/initdb" -D "$tpl/data" -A trust -U sauth -E UTF8 --no-locale \
                                --no-sync >"$tpl.log" 2>&1 || { cat "$tpl.log" >&2; exit 1; }
                fi
        ) 9>"$base/pg-template.lock" || fail "initdb failed"
        echo "$tpl"
}

pg_start() {
        local tpl
        [ -x "$PG_BIN/pg_ctl" ] || fail "PostgreSQL not installed (no pg_ctl under /usr/lib/postgresql)"
        tpl=$(pg_template)
        PG_DIR=$T/pg
        mkdir -m 700 "$PG_DIR"
        cp -a "$tpl/data" "$PG_DIR/data"
        chown -R 65534:65534 "$PG_DIR"
        pg_server_start || { PG_DIR=""; fail "PostgreSQL did not start"; }
        PG_SOCKET_DIR=$PG_DIR
}

# The server on $PG_DIR, started and waited for (at most 60 s). fsync off:
# a test's database dies with its temp dir. The log stays in the temp dir
# (appended to on a restart); statements are not logged.
pg_server_start() {
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/log" -w -t 60 \
                -o "-c listen_addresses= -k $PG_DIR -c fsync=off -c max_connections=200" start >/dev/null ||
                { tail -n 20 "$PG_DIR/log" >&2; return 1; }
}

# pg_freeze / pg_thaw — SIGSTOP / SIGCONT the server and its backends: a
# database that takes connections and queries and never answers.
pg_pids() {
        local main
        main=$(head -n 1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || return 0
        echo "$main" $(pgrep -P "$main")
}

pg_freeze() {
        kill -STOP $(pg_pids)
}

pg_thaw() {
        kill -CONT $(pg_pids) 2>/dev/null || true
}

pg_stop() {
        [ -n "$PG_DIR" ] || return 0
        pg_thaw
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null 2>&1 || true
        PG_DIR=""
}

# pg_down — a database that went away: a fast shutdown (every session cut,
# the socket removed), waited for. The data dir stays, for pg_up.
pg_down() {
        [ -n "$PG_DIR" ] || fail "pg_down: no server"
        pg_thaw
        "${PG_AS[@]}" "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 60 stop >/dev/null ||
                fail "PostgreSQL did not stop"
}

# pg_up — the server of pg_down back, on the same data dir and socket.
pg_up() {
        [ -n "$PG_DIR" ] || fail "pg_up: no server"
        pg_server_start || fail "PostgreSQL did not start again"
}

# pg_psql [-d DB] SQL — as the superuser "sauth", on the Unix socket.
pg_psql() {
        local db=$PG_DB
        if [ "$1" = -d ]; then db=$2; shift 2; fi
        psql -X -q -At -v ON_ERROR_STOP=1 -h "$PG_SOCKET_DIR" -U sauth -d "$db" -c "$1"
}

# pg_conninfo [DB] [FILE] — the conninfo file sauthd reads ([store]
# conninfo_file), for a database made here if it does not exist.
pg_conninfo() {
        local db=${1:-$PG_DB} file=${2:-$T/conninfo}
        if [ "$(pg_psql -d postgres "SELECT COUNT(*) FROM pg_database WHERE datname = '$db'")" = 0 ]; then
                pg_psql -d postgres "CREATE DATABASE \"$db\"" >/dev/null
        fi
        (umask 077; echo "host=$PG_SOCKET_DIR user=sauth dbname=$db" > "$file")
}
