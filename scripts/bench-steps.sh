#!/usr/bin/env bash
# The per-transition cost of a generated flow beside a hand-written enum + match loop,
# two ways: instructions counted by callgrind (exact, repeatable), then time measured
# by criterion (both in the same binary).
#
#   scripts/bench-steps.sh            # both
#   scripts/bench-steps.sh count      # instructions only (about a minute)
#
# Instruction counts are the difference between a run of 2N and of N runs of a shape,
# so process start-up and set-up cancel out; divided by the transitions of N runs.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
# `durable`: the durable chain, run without a store, beside the plain one.
cargo build --release -q -p typedflow --features durable --example count_steps
bin=${CARGO_TARGET_DIR:-target}/release/examples/count_steps

count() { # shape runs -> instructions
    local out
    out=$(valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" 2>&1 | grep -E 'Collected : [0-9]+')
    echo "${out##* }"
}

per_transition() { # shape runs transitions-per-run
    local a b
    a=$(count "$1" "$2")
    b=$(count "$1" "$(( $2 * 2 ))")
    awk -v a="$a" -v b="$b" -v n="$2" -v t="$3" 'BEGIN { printf "%.2f", (b - a) / (n * t) }'
}

echo "instructions per transition (callgrind, difference of two run counts):"
cf=$(per_transition chain-flow 2000 10)
ch=$(per_transition chain-hand 2000 10)
lf=$(per_transition loop-flow 20 2000)
lh=$(per_transition loop-hand 20 2000)
of=$(per_transition opaque-loop-flow 20 2000)
oh=$(per_transition opaque-loop-hand 20 2000)
df=$(per_transition chain-durable 2000 10)
nf=$(per_transition nested-flow 2000 1)
cr=$(per_transition chain-flow 2000 1)
ff=$(per_transition fan-flow 2000 1)
fh=$(per_transition fan-hand 2000 1)
printf '  %-28s flow %6s   hand-written %6s   ratio %s\n' \
    "chain of 10 nodes" "$cf" "$ch" "$(awk -v f="$cf" -v h="$ch" 'BEGIN { printf "%.2f", f / h }')" \
    "2-node loop, 1000 laps" "$lf" "$lh" "$(awk -v f="$lf" -v h="$lh" 'BEGIN { printf "%.2f", f / h }')" \
    "the same, opaque work" "$of" "$oh" "$(awk -v f="$of" -v h="$oh" 'BEGIN { printf "%.2f", f / h }')" \
    "chain of 10, durable, no store" "$df" "$ch" "$(awk -v f="$df" -v h="$ch" 'BEGIN { printf "%.2f", f / h }')"
printf '  %-28s flow %6s   hand-written %6s   ratio %s   (per run)\n' \
    "fan-out to 8 and join" "$ff" "$fh" "$(awk -v f="$ff" -v h="$fh" 'BEGIN { printf "%.2f", f / h }')"
# A subgraph call with no hook should cost what the inner flow's own run costs, plus one
# node: `Nested11` (`n0 -> Chain10`) against a run of `Chain10`.
printf '  %-28s flow %6s   the inner flow run alone %6s   (per run)\n' \
    "n0 then Chain10 as a node" "$nf" "$cr"

# The same shapes awaited inside tokio's current-thread `block_on`, as `scripts/bench.sh`
# times them: what a run costs there, per run.
echo
echo "instructions per run under tokio (current-thread block_on, as benches/runtime.rs):"
for shape in chain fan loop; do
    case $shape in
        chain) what="chain of 10 nodes"; n=2000 ;;
        fan) what="fan-out to 8 and join"; n=2000 ;;
        loop) what="2-node loop, 1000 laps"; n=20 ;;
    esac
    f=$(per_transition "tokio-$shape-flow" "$n" 1)
    h=$(per_transition "tokio-$shape-hand" "$n" 1)
    printf '  %-28s flow %8s   hand-written %8s   ratio %s\n' \
        "$what" "$f" "$h" "$(awk -v f="$f" -v h="$h" 'BEGIN { printf "%.2f", f / h }')"
done

[ "${1:-}" = count ] && exit 0

echo
echo "time (criterion, median of each):"
cargo bench -q -p typedflow --bench steps -- --warm-up-time 1 --measurement-time 3 >/dev/null
for group in chain10 loop2 opaque_loop2 fan8; do
    f=$(python3 -c "import json;print(json.load(open('${CARGO_TARGET_DIR:-target}/criterion/$group/flow/new/estimates.json'))['median']['point_estimate'])")
    h=$(python3 -c "import json;print(json.load(open('${CARGO_TARGET_DIR:-target}/criterion/$group/hand/new/estimates.json'))['median']['point_estimate'])")
    case $group in chain10) n=10 ;; fan8) n=1 ;; *) n=2000 ;; esac
    awk -v g="$group" -v f="$f" -v h="$h" -v n="$n" 'BEGIN {
        printf "  %-28s flow %8.3f ns   hand-written %8.3f ns   per %s; ratio %.2f\n", g, f / n, h / n, (n == 1 ? "run" : "transition"), f / h }'
done
