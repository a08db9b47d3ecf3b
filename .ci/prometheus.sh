# shellcheck shell=bash
# A real Prometheus server scraping the `observe` example, on loopback only, for
# examples/tests/prometheus.rs.
#
# Meant to be sourced by .ci/run (from the repository root):
#
#   source .ci/prometheus.sh
#   trap prometheus_stop EXIT
#   prometheus_start        # installs Prometheus the first time, starts the example and it
#   cargo test -p typedflow-examples --test prometheus
#   prometheus_stop
#
# - Prometheus from Debian's `prometheus` package, started here with a config of our own
#   (in a temporary directory under target/, with its data) on 127.0.0.1:$PROMETHEUS_PORT,
#   scraping every second. The package's own service is kept from starting when it is
#   installed: it would listen on :9090 with the system's config.
# - The `observe` example on 127.0.0.1:$PROMETHEUS_EXAMPLE_PORT: it makes its runs, then
#   serves its metrics until it is stopped.
#
# Exports FLOW_TEST_PROMETHEUS_URL and FLOW_TEST_PROMETHEUS_RUNS. Logs are
# target/prometheus.log and target/observe.log. Each process runs in its own session
# (setsid) so prometheus_stop can end it with its children by process group.

PROMETHEUS_PORT="${PROMETHEUS_PORT:-9391}"
PROMETHEUS_EXAMPLE_PORT="${PROMETHEUS_EXAMPLE_PORT:-9464}"
PROMETHEUS_RUNS="${PROMETHEUS_RUNS:-5}"

# shellcheck source=.ci/services.sh
source "$(dirname "${BASH_SOURCE[0]}")/services.sh"

_prometheus_install() {
    command -v prometheus >/dev/null && return 0
    local sudo="" policy_added="" rc=0
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    # invoke-rc.d and deb-systemd-invoke ask policy-rc.d before starting a service; 101
    # means "not now". Container images often ship one already: leave theirs alone.
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' | $sudo tee /usr/sbin/policy-rc.d >/dev/null &&
            $sudo chmod 755 /usr/sbin/policy-rc.d && policy_added=1
    fi
    echo "prometheus: installing Debian's prometheus package" >&2
    $sudo apt-get update -q &&
        $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus ||
        rc=$?
    if [ -n "$policy_added" ]; then
        $sudo rm -f /usr/sbin/policy-rc.d
    fi
    return "$rc"
}

prometheus_start() {
    mkdir -p target
    _prometheus_install || return 1
    service_port_free "$PROMETHEUS_PORT" PROMETHEUS_PORT || return 1
    service_port_free "$PROMETHEUS_EXAMPLE_PORT" PROMETHEUS_EXAMPLE_PORT || return 1
    cargo build -q -p typedflow-examples --example observe || return 1

    PROMETHEUS_DIR=$(mktemp -d "$PWD/target/prometheus.XXXXXX") || return 1
    cat >"$PROMETHEUS_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: observe
    static_configs:
      - targets: ["127.0.0.1:$PROMETHEUS_EXAMPLE_PORT"]
EOF

    service_spawn target/observe.pid target/observe.log \
        env FLOW_METRICS_ADDR="127.0.0.1:$PROMETHEUS_EXAMPLE_PORT" FLOW_RUNS="$PROMETHEUS_RUNS" \
        cargo run -q -p typedflow-examples --example observe || { prometheus_stop; return 1; }
    service_spawn target/prometheus.pid target/prometheus.log \
        prometheus --config.file="$PROMETHEUS_DIR/prometheus.yml" \
        --storage.tsdb.path="$PROMETHEUS_DIR/data" \
        --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" || { prometheus_stop; return 1; }

    service_wait "http://127.0.0.1:$PROMETHEUS_EXAMPLE_PORT/metrics" target/observe.pid \
        target/observe.log || { prometheus_stop; return 1; }
    service_wait "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" target/prometheus.pid \
        target/prometheus.log || { prometheus_stop; return 1; }

    export FLOW_TEST_PROMETHEUS_URL="http://127.0.0.1:$PROMETHEUS_PORT"
    export FLOW_TEST_PROMETHEUS_RUNS="$PROMETHEUS_RUNS"
    echo "prometheus: on :$PROMETHEUS_PORT, scraping the observe example on :$PROMETHEUS_EXAMPLE_PORT" >&2
}

prometheus_stop() {
    # setsid made each the leader of its own process group.
    service_stop target/prometheus.pid target/observe.pid
    if [ -n "${PROMETHEUS_DIR:-}" ]; then
        rm -rf "$PROMETHEUS_DIR"
        unset PROMETHEUS_DIR
    fi
}
