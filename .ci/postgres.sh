# shellcheck shell=bash
# A throwaway PostgreSQL cluster on loopback for the Postgres checkpoint store's tests
# (flow-store/tests/conformance.rs, feature `postgres`).
#
# Meant to be sourced by .ci/run (from the repository root):
#
#   source .ci/postgres.sh
#   trap postgres_stop EXIT
#   postgres_start          # installs PostgreSQL the first time, starts a cluster
#   cargo test -p typedflow-store --features postgres
#   postgres_stop
#
# - PostgreSQL from Debian's `postgresql` package; the package's own cluster is kept
#   from starting when it is installed (policy-rc.d), and none of it is used.
# - A new cluster in a temporary directory (outside the work tree, so the `postgres`
#   user can reach it), run as that unprivileged user when we are root, listening on
#   127.0.0.1:$POSTGRES_PORT only, trust authentication for the `flow` superuser.
# - The port is below Linux's ephemeral range (32768-60999 by default): a port in that
#   range can be held by any outgoing connection of the run, which no check for a
#   listener sees, and the server then cannot bind. When the port is taken anyway, the
#   next ones are tried, unless POSTGRES_PORT was set.
#
# Exports FLOW_TEST_DATABASE_URL. The log is target/postgres.log. The server runs in a
# session of its own (setsid); postgres_stop ends it by that pid's process group and
# removes the cluster.

POSTGRES_PORT_FIXED="${POSTGRES_PORT:+1}"
POSTGRES_PORT="${POSTGRES_PORT:-15432}"

# shellcheck source=.ci/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

_postgres_bin() {
    find /usr/lib/postgresql -maxdepth 2 -name bin -type d 2>/dev/null | sort -V | tail -n 1
}

_postgres_install() {
    [ -n "$(_postgres_bin)" ] && [ -x "$(_postgres_bin)/initdb" ] && return 0
    local sudo="" policy_added="" rc=0
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # invoke-rc.d asks policy-rc.d before starting a service; 101 means "not now".
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null &&
            $sudo chmod 755 /usr/sbin/policy-rc.d && policy_added=1
    fi
    echo "postgres: installing Debian's postgresql package" >&2
    $sudo apt-get update -q &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql || rc=$?
    if [ -n "$policy_added" ]; then
        $sudo rm -f /usr/sbin/policy-rc.d
    fi
    return "$rc"
}

# Runs a command as the `postgres` user when we are root (initdb and postgres refuse
# to run as root), as ourselves otherwise.
_postgres_as() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

postgres_start() {
    mkdir -p target
    _postgres_install || return 1
    local bin tries=10 rc
    bin=$(_postgres_bin)
    [ -z "$POSTGRES_PORT_FIXED" ] || tries=1

    POSTGRES_DIR=$(mktemp -d /tmp/typedflow-pg.XXXXXX) || return 1
    [ "$(id -u)" -ne 0 ] || chown postgres: "$POSTGRES_DIR" || return 1
    _postgres_as "$bin/initdb" -D "$POSTGRES_DIR/data" -U flow --auth=trust -E UTF8 \
        --no-sync >target/postgres-initdb.log 2>&1 ||
        { tail -n 30 target/postgres-initdb.log >&2; postgres_stop; return 1; }

    while :; do
        _postgres_serve "$bin" && break
        rc=$?
        tries=$((tries - 1))
        # 2: the port was taken; anything else is a failure of its own.
        if [ "$rc" -ne 2 ] || [ "$tries" -le 0 ]; then
            echo "postgres did not start; last lines of target/postgres.log:" >&2
            tail -n 30 target/postgres.log >&2
            postgres_stop
            return 1
        fi
        echo "postgres: 127.0.0.1:$POSTGRES_PORT is taken, trying the next port" >&2
        POSTGRES_PORT=$((POSTGRES_PORT + 1))
    done
    "$bin/createdb" -h 127.0.0.1 -p "$POSTGRES_PORT" -U flow flow ||
        { tail -n 30 target/postgres.log >&2; postgres_stop; return 1; }

    export FLOW_TEST_DATABASE_URL="postgres://flow@127.0.0.1:$POSTGRES_PORT/flow"
    echo "postgres: a throwaway cluster on 127.0.0.1:$POSTGRES_PORT" >&2
}

# _postgres_serve BIN: starts the server on $POSTGRES_PORT and waits until it accepts
# connections. Fails with 2 when the port is taken (a listener there, or a bind that
# failed), with 1 otherwise; the server is stopped on failure.
_postgres_serve() {
    local bin="$1" as=() pid _
    service_port_in_use "$POSTGRES_PORT" && return 2
    [ "$(id -u)" -ne 0 ] || as=(runuser -u postgres --)
    service_spawn target/postgres.pid target/postgres.log \
        "${as[@]}" "$bin/postgres" -D "$POSTGRES_DIR/data" -p "$POSTGRES_PORT" \
        -c listen_addresses=127.0.0.1 -c unix_socket_directories="$POSTGRES_DIR" ||
        return 1
    pid=$(cat target/postgres.pid)
    for _ in $(seq 1 120); do
        "$bin/pg_isready" -q -h 127.0.0.1 -p "$POSTGRES_PORT" && return 0
        if ! kill -0 "$pid" 2>/dev/null; then
            service_stop target/postgres.pid
            grep -q "Address already in use" target/postgres.log && return 2
            return 1
        fi
        sleep 0.25
    done
    service_stop target/postgres.pid
    return 1
}

postgres_stop() {
    # setsid made the server (or runuser above it) the leader of its own process group.
    service_stop target/postgres.pid
    if [ -n "${POSTGRES_DIR:-}" ]; then
        rm -rf "$POSTGRES_DIR"
        unset POSTGRES_DIR
    fi
    unset FLOW_TEST_DATABASE_URL
}
