#!/usr/bin/env bash
# Throw-away Postgres, Redis and Mosquitto for the integration tests.
#
#   bash scripts/services.sh ensure_packages   # apt-get the servers if a binary is missing
#   bash scripts/services.sh start DIR         # start all three inside DIR, write DIR/env.sh
#   bash scripts/services.sh stop DIR          # stop whatever start left running in DIR
#
# Or `source` it and call services_ensure_packages / services_start / services_stop.
#
# Everything listens on 127.0.0.1 only, on ports the kernel reports free, so two runs (or a
# developer's own servers on the default ports) never collide. All state lives in DIR, which the
# caller deletes afterwards.
#
# DIR/env.sh exports, for each service that came up:
#   ANDON_TEST_PG_DSN=postgres://postgres@127.0.0.1:PORT   (server URL; tests CREATE DATABASE via db "postgres")
#   ANDON_TEST_REDIS_URL=redis://127.0.0.1:PORT/0
#   ANDON_TEST_MQTT_URL=mqtt://127.0.0.1:PORT
#
# A service that cannot start is fatal when CI=true (CI must fail, never skip). Locally it is a
# warning and its variable is left out, so the test suite skips the tests that need it.
#
# This file is meant to be sourced too, so it sets no shell options at top level.

# How long (seconds) to wait for one service to answer before giving up.
SERVICES_WAIT_SECONDS=${SERVICES_WAIT_SECONDS:-30}

_svc_log() { printf 'services: %s\n' "$*" >&2; }

_svc_in_ci() { [ "${CI:-}" = "true" ]; }

# Directory holding initdb/pg_ctl/postgres. Debian does not put them on PATH. Prefer 15 (the
# version the project is tested with), else the newest installed; PG_BIN overrides.
_svc_pg_bin() {
    if [ -n "${PG_BIN:-}" ]; then
        printf '%s\n' "$PG_BIN"
    elif [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        printf '%s\n' /usr/lib/postgresql/15/bin
    else
        local d
        d=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
        [ -n "$d" ] && [ -x "$d/initdb" ] && printf '%s\n' "$d"
    fi
}

# ---------------------------------------------------------------------------------------------
# ensure_packages
# ---------------------------------------------------------------------------------------------

# Installs only the Debian packages whose binaries are missing, so a machine that already has
# them pays nothing (no apt-get update either). mosquitto-clients is added to the list because
# the readiness check and developers use mosquitto_pub/mosquitto_sub; redis-tools (redis-cli)
# comes with redis-server.
services_ensure_packages() {
    local missing=()
    command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
    command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
    command -v mosquitto >/dev/null 2>&1 || [ -x /usr/sbin/mosquitto ] || missing+=(mosquitto)
    command -v mosquitto_pub >/dev/null 2>&1 || missing+=(mosquitto-clients)
    command -v wrk >/dev/null 2>&1 || missing+=(wrk)
    { [ -n "$(_svc_pg_bin)" ] && command -v pg_isready >/dev/null 2>&1; } || missing+=(postgresql)

    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    _svc_log "installing missing packages: ${missing[*]}"
    if ! command -v apt-get >/dev/null 2>&1; then
        _svc_log "ERROR: apt-get not found; install ${missing[*]} by hand"
        return 1
    fi
    local sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo=(sudo)
        else
            _svc_log "ERROR: not root and no sudo; install ${missing[*]} by hand"
            return 1
        fi
    fi
    # The package lists may be absent or stale on a fresh machine: update once, only now.
    if ! "${sudo[@]}" apt-get update -q; then
        _svc_log "ERROR: apt-get update failed; could not install ${missing[*]}"
        return 1
    fi
    if ! "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"; then
        _svc_log "ERROR: apt-get install ${missing[*]} failed"
        return 1
    fi
    hash -r
    _svc_log "installed: ${missing[*]}"
}

# ---------------------------------------------------------------------------------------------
# start
# ---------------------------------------------------------------------------------------------

# Prints N distinct free TCP ports on 127.0.0.1. All sockets stay bound until every port is
# chosen, so the N are distinct; the (tiny) race with other programs between here and the
# server's own bind is accepted.
_svc_free_ports() {
    python3 - "$1" <<'EOF'
import socket, sys
socks = []
for _ in range(int(sys.argv[1])):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    socks.append(s)
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
EOF
}

# True once something accepts TCP connections on 127.0.0.1:$1.
_svc_port_open() {
    python3 -c 'import socket,sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' \
        "$1" 2>/dev/null
}

# Runs a command as the postgres user when we are root: initdb and the postmaster refuse to
# run as root. Not root (a developer's own account): run it as ourselves.
_svc_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_svc_tail_log() {
    [ -f "$1" ] && { _svc_log "last lines of $1:"; tail -n 20 "$1" >&2; }
    return 0
}

_svc_start_postgres() {
    local dir=$1 port=$2 pgbin
    pgbin=$(_svc_pg_bin)
    if [ -z "$pgbin" ]; then
        _svc_log "postgres: initdb not found (is the postgresql package installed?)"
        return 1
    fi
    if ! command -v pg_isready >/dev/null 2>&1; then
        _svc_log "postgres: pg_isready not found"
        return 1
    fi
    local pgdir="$dir/pg"
    mkdir -p "$pgdir"
    if [ "$(id -u)" -eq 0 ]; then
        if ! id postgres >/dev/null 2>&1; then
            _svc_log "postgres: running as root but there is no 'postgres' user to run the server"
            return 1
        fi
        # mktemp -d makes DIR mode 0700 root, which the postgres user cannot enter. Let others
        # traverse (not list) it, and give the cluster folder to postgres.
        chmod o+x "$dir"
        chown postgres: "$pgdir"
        if ! runuser -u postgres -- test -w "$pgdir"; then
            _svc_log "postgres: user postgres cannot write $pgdir; a parent folder of $dir is not" \
                "traversable by others (use a DIR under /tmp)"
            return 1
        fi
    fi
    # Trust auth over TCP on loopback only: this cluster is private to one test run.
    if ! _svc_as_pg "$pgbin/initdb" -D "$pgdir/data" -A trust -U postgres -E UTF8 \
            --no-instructions >"$pgdir/initdb.log" 2>&1; then
        _svc_log "postgres: initdb failed"
        _svc_tail_log "$pgdir/initdb.log"
        return 1
    fi
    # The unix socket goes into DIR/pg so it never clashes with a system cluster's
    # /var/run/postgresql. fsync/synchronous_commit/full_page_writes off: the data is thrown
    # away after the run, and the suite creates many databases, which is much faster this way.
    if ! _svc_as_pg "$pgbin/pg_ctl" -D "$pgdir/data" -l "$pgdir/postgres.log" -w \
            -t "$SERVICES_WAIT_SECONDS" \
            -o "-p $port -k $pgdir -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            start >"$pgdir/pg_ctl.log" 2>&1; then
        _svc_log "postgres: pg_ctl start failed"
        _svc_tail_log "$pgdir/pg_ctl.log"
        _svc_tail_log "$pgdir/postgres.log"
        return 1
    fi
    local i
    for ((i = 0; i < SERVICES_WAIT_SECONDS * 5; i++)); do
        if pg_isready -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
            return 0
        fi
        sleep 0.2
    done
    _svc_log "postgres: not ready on 127.0.0.1:$port after ${SERVICES_WAIT_SECONDS}s"
    _svc_tail_log "$pgdir/postgres.log"
    return 1
}

_svc_start_redis() {
    local dir=$1 port=$2
    if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
        _svc_log "redis: redis-server/redis-cli not found"
        return 1
    fi
    local rdir="$dir/redis"
    mkdir -p "$rdir"
    # No RDB snapshots, no AOF: nothing to clean up and no disk I/O during tests.
    if ! redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
            --dir "$rdir" --pidfile "$rdir/redis.pid" --logfile "$rdir/redis.log" \
            >"$rdir/start.log" 2>&1; then
        _svc_log "redis: redis-server failed to start"
        _svc_tail_log "$rdir/start.log"
        _svc_tail_log "$rdir/redis.log"
        return 1
    fi
    local i
    for ((i = 0; i < SERVICES_WAIT_SECONDS * 5; i++)); do
        if [ "$(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null)" = "PONG" ]; then
            return 0
        fi
        sleep 0.2
    done
    _svc_log "redis: no PONG on 127.0.0.1:$port after ${SERVICES_WAIT_SECONDS}s"
    _svc_tail_log "$rdir/redis.log"
    return 1
}

_svc_start_mosquitto() {
    local dir=$1 port=$2 mosq
    mosq=$(command -v mosquitto 2>/dev/null || { [ -x /usr/sbin/mosquitto ] && echo /usr/sbin/mosquitto; })
    if [ -z "$mosq" ]; then
        _svc_log "mosquitto: mosquitto not found"
        return 1
    fi
    local mdir="$dir/mosquitto"
    mkdir -p "$mdir"
    # An explicit listener binds 127.0.0.1 only; Mosquitto 2 refuses anonymous clients unless
    # told otherwise. `user root` stops it from dropping to the 'mosquitto' user, which could
    # not write the pid and log files in DIR.
    cat >"$mdir/mosquitto.conf" <<EOF
listener $port 127.0.0.1
allow_anonymous true
persistence false
pid_file $mdir/mosquitto.pid
log_dest file $mdir/mosquitto.log
user root
EOF
    if ! "$mosq" -c "$mdir/mosquitto.conf" -d >"$mdir/start.log" 2>&1; then
        _svc_log "mosquitto: failed to start"
        _svc_tail_log "$mdir/start.log"
        _svc_tail_log "$mdir/mosquitto.log"
        return 1
    fi
    local i
    for ((i = 0; i < SERVICES_WAIT_SECONDS * 5; i++)); do
        _svc_port_open "$port" && break
        sleep 0.2
    done
    if ! _svc_port_open "$port"; then
        _svc_log "mosquitto: not listening on 127.0.0.1:$port after ${SERVICES_WAIT_SECONDS}s"
        _svc_tail_log "$mdir/mosquitto.log"
        return 1
    fi
    # A real publish/subscribe round trip when the clients are installed. A retained message
    # avoids racing the subscriber against the publisher; it is cleared afterwards so no test
    # sees it.
    if command -v mosquitto_pub >/dev/null 2>&1 && command -v mosquitto_sub >/dev/null 2>&1; then
        local topic="andon-selftest/$$" got
        mosquitto_pub -h 127.0.0.1 -p "$port" -t "$topic" -m ok -r -q 1 2>/dev/null
        got=$(mosquitto_sub -h 127.0.0.1 -p "$port" -t "$topic" -C 1 -W 5 2>/dev/null)
        mosquitto_pub -h 127.0.0.1 -p "$port" -t "$topic" -r -n -q 1 2>/dev/null
        if [ "$got" != "ok" ]; then
            _svc_log "mosquitto: publish/subscribe round trip on 127.0.0.1:$port failed"
            _svc_tail_log "$mdir/mosquitto.log"
            return 1
        fi
    fi
    return 0
}

# services_start DIR: returns non-zero only when a service failed and CI=true.
services_start() {
    local dir=${1:?usage: services_start DIR}
    if [ ! -d "$dir" ]; then
        _svc_log "ERROR: $dir is not a directory"
        return 1
    fi
    dir=$(cd "$dir" && pwd -P)
    local ports pg_port redis_port mqtt_port
    if ! ports=$(_svc_free_ports 3); then
        _svc_log "ERROR: could not pick free ports (python3 missing?)"
        return 1
    fi
    read -r pg_port redis_port mqtt_port <<<"$ports"
    # Ports are kept so `stop` can reach Redis with redis-cli.
    printf '%s\n' "$redis_port" >"$dir/redis.port"

    local env_file="$dir/env.sh" failed=()
    : >"$env_file"
    if _svc_start_postgres "$dir" "$pg_port"; then
        echo "export ANDON_TEST_PG_DSN=postgres://postgres@127.0.0.1:$pg_port" >>"$env_file"
        _svc_log "postgres ready on 127.0.0.1:$pg_port"
    else
        failed+=(postgres)
    fi
    if _svc_start_redis "$dir" "$redis_port"; then
        echo "export ANDON_TEST_REDIS_URL=redis://127.0.0.1:$redis_port/0" >>"$env_file"
        _svc_log "redis ready on 127.0.0.1:$redis_port"
    else
        failed+=(redis)
    fi
    if _svc_start_mosquitto "$dir" "$mqtt_port"; then
        echo "export ANDON_TEST_MQTT_URL=mqtt://127.0.0.1:$mqtt_port" >>"$env_file"
        _svc_log "mosquitto ready on 127.0.0.1:$mqtt_port"
    else
        failed+=(mosquitto)
    fi

    if [ ${#failed[@]} -gt 0 ]; then
        if _svc_in_ci; then
            _svc_log "ERROR: could not start: ${failed[*]} (CI=true: a missing service fails the run)"
            return 1
        fi
        _svc_log "WARNING: could not start: ${failed[*]}; the tests that need them will be skipped"
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------
# stop
# ---------------------------------------------------------------------------------------------

# Reads a pid file and prints the pid only if that process is still alive and its command
# name matches, so a stale file never makes us kill an unrelated process that reused the pid.
_svc_live_pid() {
    local file=$1 name=$2 pid
    [ -f "$file" ] || return 1
    pid=$(head -n 1 "$file" 2>/dev/null | tr -dc '0-9')
    [ -n "$pid" ] && _svc_alive "$pid" || return 1
    grep -q "$name" "/proc/$pid/comm" 2>/dev/null || return 1
    printf '%s\n' "$pid"
}

# True while pid $1 is running. An exited daemon stays a zombie until PID 1 reaps it, which
# on some machines takes seconds; kill -0 succeeds on a zombie, so look at its state instead.
_svc_alive() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    [ "${stat%% *}" != "Z" ]
}

# Waits up to $2 seconds for pid $1 to exit.
_svc_wait_gone() {
    local pid=$1 i
    for ((i = 0; i < $2 * 10; i++)); do
        _svc_alive "$pid" || return 0
        sleep 0.1
    done
    return 1
}

# services_stop DIR: stops whatever is running; silent about services that never started.
# Always returns 0 so it is safe in an EXIT trap.
services_stop() {
    local dir=${1:?usage: services_stop DIR}
    [ -d "$dir" ] || return 0
    local pid

    # Postgres: a fast shutdown (disconnect clients, no waiting for them), then SIGKILL as a
    # last resort so a wedged server never outlives the run.
    if pid=$(_svc_live_pid "$dir/pg/data/postmaster.pid" postgres); then
        local pgbin
        pgbin=$(_svc_pg_bin)
        _svc_as_pg "$pgbin/pg_ctl" -D "$dir/pg/data" -m fast -w -t 20 stop >/dev/null 2>&1 \
            || _svc_log "postgres: pg_ctl stop failed"
        if ! _svc_wait_gone "$pid" 5; then
            _svc_log "postgres: still running, killing $pid"
            kill -KILL "$pid" 2>/dev/null
        fi
    fi

    # Redis: SHUTDOWN NOSAVE (nothing to persist), else SIGTERM via the pid file.
    if pid=$(_svc_live_pid "$dir/redis/redis.pid" redis); then
        local port
        port=$(cat "$dir/redis.port" 2>/dev/null)
        [ -n "$port" ] && redis-cli -h 127.0.0.1 -p "$port" shutdown nosave >/dev/null 2>&1
        if ! _svc_wait_gone "$pid" 5; then
            kill -TERM "$pid" 2>/dev/null
            _svc_wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
        fi
    fi

    # Mosquitto has no remote shutdown; SIGTERM, then SIGKILL.
    if pid=$(_svc_live_pid "$dir/mosquitto/mosquitto.pid" mosquitto); then
        kill -TERM "$pid" 2>/dev/null
        _svc_wait_gone "$pid" 5 || kill -KILL "$pid" 2>/dev/null
    fi
    return 0
}

# ---------------------------------------------------------------------------------------------
# Command line (only when executed, not when sourced)
# ---------------------------------------------------------------------------------------------

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    set -uo pipefail
    case "${1:-}" in
        ensure_packages) services_ensure_packages ;;
        start) services_start "${2:?usage: $0 start DIR}" ;;
        stop) services_stop "${2:?usage: $0 stop DIR}" ;;
        *)
            echo "usage: $0 ensure_packages | start DIR | stop DIR" >&2
            exit 2
            ;;
    esac
fi
