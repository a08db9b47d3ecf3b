#!/usr/bin/env bash
# The benchmark suite under tokio (flow-runtime/benches/runtime.rs): every workload
# beside its hand-written twin on the multi-thread and the current-thread runtime, and
# one table of the ratios (flow / hand-written, ratio of criterion medians).
#
#   scripts/bench.sh                 # the whole suite, wall-clock time (a few minutes)
#   scripts/bench.sh --cpu           # the polling thread's CPU time instead (a loaded machine)
#   scripts/bench.sh --count         # also the instruction counts of scripts/bench-steps.sh
#   scripts/bench.sh -- 'chain10|fan8'   # only the workloads matching a criterion filter
#
# Each sample is short (`--warm-up-time 1 --measurement-time 3`), sized for 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."

count=no
filter=()
while [ $# -gt 0 ]; do
    case $1 in
        --cpu) export FLOW_BENCH_CLOCK=cpu ;;
        --count) count=yes ;;
        --) shift; filter=("$@"); break ;;
        *) echo "usage: scripts/bench.sh [--cpu] [--count] [-- FILTER]" >&2; exit 2 ;;
    esac
    shift
done

started=$(date +%s)
out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT
echo "load before: $(uptime | sed 's/.*load average/load average/')"
cargo bench -q -p typedflow --bench runtime -- --warm-up-time 1 --measurement-time 3 \
    "${filter[@]}" >"$out" 2>"$err" || { cat "$err" >&2; exit 1; }
echo "load after:  $(uptime | sed 's/.*load average/load average/')"
echo "clock: ${FLOW_BENCH_CLOCK:-wall} (the concurrent runs: always wall)"
echo

python3 - "${CARGO_TARGET_DIR:-target}/criterion" "$out" "$started" <<'EOF'
import json, os, re, sys

root, printed, started = sys.argv[1], open(sys.argv[2]).read(), int(sys.argv[3])
# group, what one measured iteration is, the divisor to the unit shown
workloads = [
    ("chain10", "chain of 10 nodes", "transition", 10),
    ("loop2", "2-node loop, 1000 laps", "transition", 2000),
    ("fan8", "fan-out to 8 and join", "run", 1),
    ("policies3", "3 nodes, retry+timeout+breaker idle", "run", 1),
    ("traced10", "chain of 10, Traced, no subscriber", "run", 1),
    ("metered10", "chain of 10, Metered, no recorder", "run", 1),
    ("concurrent10k", "10,000 concurrent runs, 3 x 10 ms", "batch", 1),
]

def median(group, side, rt):
    path = os.path.join(root, "tokio_" + group, side, rt, "new", "estimates.json")
    # Only this run's results: a filter leaves older ones in place.
    if not os.path.exists(path) or os.path.getmtime(path) < started:
        return None
    return json.load(open(path))["median"]["point_estimate"]

def show(ns):
    if ns >= 1e6:
        return f"{ns / 1e6:.2f} ms"
    if ns >= 1e3:
        return f"{ns / 1e3:.2f} us"
    return f"{ns:.2f} ns"

print(f"| {'workload':38} | {'per':10} | {'runtime':14} | {'flow':>10} | {'hand':>10} | ratio |")
print(f"|{'-' * 40}|{'-' * 12}|{'-' * 16}|{'-' * 12}|{'-' * 12}|-------|")
for group, name, per, n in workloads:
    for rt in ("multi_thread", "current_thread"):
        f, h = median(group, "flow", rt), median(group, "hand", rt)
        if f is None or h is None:
            continue
        print(f"| {name:38} | {per:10} | {rt:14} | {show(f / n):>10} | {show(h / n):>10} | {f / h:5.2f} |")

floor = 30e6
over = []
for rt in ("multi_thread", "current_thread"):
    f, h = median("concurrent10k", "flow", rt), median("concurrent10k", "hand", rt)
    if f is not None and h is not None:
        over.append(f"  {rt:14} flow {show(f - floor):>9}   hand-written {show(h - floor):>9}   "
                    f"ratio {(f - floor) / (h - floor):.2f}")
if over:
    print("\nwall time of the 10,000 concurrent runs over their 30 ms floor:")
    print("\n".join(over))

mem = re.findall(r"^memory: (\S+) flow (\S+) hand (\S+)$", printed, re.M)
if mem:
    print("\nbytes allocated per in-flight run (10,000 at once, counting allocator):")
    for rt, f, h in mem:
        print(f"  {rt:14} flow {float(f):7.1f}   hand-written {float(h):7.1f}   ratio {float(f) / float(h):.2f}")
sizes = re.findall(r"^size: (\S+) flow (\d+) hand (\d+)$", printed, re.M)
if sizes:
    print("\nsize of a run's future in bytes (std::mem::size_of_val):")
    for g, f, h in sizes:
        print(f"  {g:14} flow {int(f):5}   hand-written {int(h):5}   ratio {int(f) / int(h):.2f}")
EOF

if [ "$count" = yes ]; then
    echo
    scripts/bench-steps.sh count
fi
