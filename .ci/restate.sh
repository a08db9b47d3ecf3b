# shellcheck shell=bash
# A throwaway Restate server on loopback for typedflow-restate's tests and example.
#
# Meant to be sourced by .ci/run (from the repository root):
#
#   source .ci/restate.sh
#   trap restate_stop EXIT
#   restate_start           # installs the pinned server the first time, starts it
#   cargo test -p typedflow-restate -- --ignored
#   restate_register http://127.0.0.1:19080
#   restate_stop
#
# - The server is the npm package @restatedev/restate-server-linux-x64, pinned below,
#   installed with `npm install --ignore-scripts` into target/restate (a binary shipped
#   inside the package: nothing else is downloaded).
# - It runs with a temporary base directory, telemetry off, two partitions and a small
#   memory budget, TCP only, every listener on 127.0.0.1: ingress $RESTATE_INGRESS_PORT
#   (Restate's default is 8080), admin $RESTATE_ADMIN_PORT (9070), node-to-node
#   $RESTATE_NODE_PORT (5122). The ports are below Linux's ephemeral range (32768-60999
#   by default), where any outgoing connection of the run could hold them.
#
# Exports RESTATE_ADMIN_ADDR and RESTATE_INGRESS_ADDR (host:port), which the tests read,
# and RESTATE_SERVER_BIN, the server the test that kills a server starts on spare ports
# (18081, 19071, 15123).
# The log is target/restate.log. The server runs in a session of its own (setsid);
# restate_stop ends it by that pid's process group and removes the base directory.

RESTATE_VERSION=1.7.12
RESTATE_INGRESS_PORT="${RESTATE_INGRESS_PORT:-18080}"
RESTATE_ADMIN_PORT="${RESTATE_ADMIN_PORT:-19070}"
RESTATE_NODE_PORT="${RESTATE_NODE_PORT:-15122}"

# shellcheck source=.ci/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

RESTATE_BIN=target/restate/node_modules/@restatedev/restate-server-linux-x64/bin/restate-server

_restate_install() {
    if [ -x "$RESTATE_BIN" ] &&
        grep -q "\"version\": \"$RESTATE_VERSION\"" \
            target/restate/node_modules/@restatedev/restate-server-linux-x64/package.json; then
        return 0
    fi
    echo "restate: installing @restatedev/restate-server-linux-x64@$RESTATE_VERSION" >&2
    mkdir -p target/restate
    npm install --ignore-scripts --no-audit --no-fund --prefix target/restate \
        "@restatedev/restate-server-linux-x64@$RESTATE_VERSION" >target/restate-npm.log 2>&1 ||
        { tail -n 30 target/restate-npm.log >&2; return 1; }
}

restate_start() {
    mkdir -p target
    _restate_install || return 1
    service_port_free "$RESTATE_INGRESS_PORT" RESTATE_INGRESS_PORT || return 1
    service_port_free "$RESTATE_ADMIN_PORT" RESTATE_ADMIN_PORT || return 1
    service_port_free "$RESTATE_NODE_PORT" RESTATE_NODE_PORT || return 1
    RESTATE_DIR=$(mktemp -d /tmp/typedflow-restate.XXXXXX) || return 1
    cat >"$RESTATE_DIR/restate.toml" <<EOF
roles = ["http-ingress", "admin", "worker", "log-server", "metadata-server"]
cluster-name = "typedflow-ci"
node-name = "ci"
default-num-partitions = 2
disable-telemetry = true
rocksdb-total-memory-size = "256 MiB"
bind-address = "127.0.0.1:$RESTATE_NODE_PORT"
advertised-address = "http://127.0.0.1:$RESTATE_NODE_PORT/"

[admin]
bind-address = "127.0.0.1:$RESTATE_ADMIN_PORT"
disable-web-ui = true

[admin.query-engine]
memory-size = "64 MiB"

[ingress]
bind-address = "127.0.0.1:$RESTATE_INGRESS_PORT"
EOF
    service_spawn target/restate.pid target/restate.log \
        "$RESTATE_BIN" --config-file "$RESTATE_DIR/restate.toml" \
        --base-dir "$RESTATE_DIR/base" --listen-mode tcp --no-logo \
        --log-disable-ansi-codes true || { restate_stop; return 1; }
    service_wait "http://127.0.0.1:$RESTATE_ADMIN_PORT/health" target/restate.pid \
        target/restate.log || { restate_stop; return 1; }
    service_wait "http://127.0.0.1:$RESTATE_INGRESS_PORT/restate/health" target/restate.pid \
        target/restate.log || { restate_stop; return 1; }
    export RESTATE_ADMIN_ADDR="127.0.0.1:$RESTATE_ADMIN_PORT"
    RESTATE_SERVER_BIN="$(pwd)/$RESTATE_BIN"
    export RESTATE_SERVER_BIN
    export RESTATE_INGRESS_ADDR="127.0.0.1:$RESTATE_INGRESS_PORT"
    echo "restate: $RESTATE_VERSION on 127.0.0.1 (ingress $RESTATE_INGRESS_PORT, admin $RESTATE_ADMIN_PORT)" >&2
}

# restate_register URI: registers the worker (deployment) serving at URI.
restate_register() {
    curl -sf -X POST "http://127.0.0.1:$RESTATE_ADMIN_PORT/deployments" \
        -H 'content-type: application/json' \
        -d "{\"uri\": \"$1\", \"force\": true}" >/dev/null ||
        { echo "restate: registering $1 failed" >&2; return 1; }
}

restate_stop() {
    service_stop target/restate.pid
    if [ -n "${RESTATE_DIR:-}" ]; then
        rm -rf "$RESTATE_DIR"
        unset RESTATE_DIR
    fi
    unset RESTATE_ADMIN_ADDR RESTATE_INGRESS_ADDR RESTATE_SERVER_BIN
}
