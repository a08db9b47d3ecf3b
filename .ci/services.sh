# shellcheck shell=bash
# Helpers for the servers .ci/run starts on loopback (sourced by .ci/llm-servers.sh and
# .ci/prometheus.sh): start one in a session of its own, wait for it, stop it by
# process group.

# Succeeds when something accepts connections on 127.0.0.1:$1.
service_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Fails, naming the variable $2 that moves it, when 127.0.0.1:$1 is already taken: a
# server started there would exit at once, or worse, the tests would reach another one.
service_port_free() {
    if service_port_in_use "$1"; then
        echo "127.0.0.1:$1 is already in use: stop what listens there, or set $2 to another port" >&2
        return 1
    fi
}

# service_spawn PIDFILE LOG COMMAND...: runs COMMAND in a session of its own (setsid),
# its output in LOG, and writes its pid, which is also its process group, to PIDFILE.
# The pid comes from inside the session: setsid forks when it is already a group leader
# (e.g. under job control), so $! is not reliable.
service_spawn() {
    local pidfile="$1" log="$2" _
    shift 2
    rm -f "$pidfile"
    # shellcheck disable=SC2016 # $$ and $@ are the inner shell's, on purpose
    setsid bash -c 'echo $$ > "$0"; exec "$@"' "$pidfile" "$@" >"$log" 2>&1 &
    for _ in $(seq 1 100); do
        [ -s "$pidfile" ] && return 0
        sleep 0.05
    done
    echo "$1 did not start" >&2
    return 1
}

# service_wait URL PIDFILE LOG [TRIES]: waits until URL answers (TRIES times 0.25 s,
# default 240) while the process of PIDFILE lives; fails at once, with the end of LOG,
# when that process has exited (a port taken, a bad argument).
service_wait() {
    local url="$1" pid log="$3" tries="${4:-240}" _
    pid=$(cat "$2" 2>/dev/null) || { echo "no pid in $2" >&2; return 1; }
    for _ in $(seq 1 "$tries"); do
        if curl -sf "$url" >/dev/null 2>&1; then
            return 0
        fi
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the server for $url exited; last lines of $log:" >&2
            tail -n 30 "$log" >&2 || true
            return 1
        fi
        sleep 0.25
    done
    echo "$url did not come up; last lines of $log:" >&2
    tail -n 30 "$log" >&2 || true
    return 1
}

# service_stop PIDFILE...: ends each process group and waits (up to 5 s each) for it.
service_stop() {
    local pidfile pid _
    for pidfile in "$@"; do
        [ -s "$pidfile" ] || continue
        pid=$(cat "$pidfile")
        kill -- -"$pid" 2>/dev/null || kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.05
        done
        rm -f "$pidfile"
    done
}
