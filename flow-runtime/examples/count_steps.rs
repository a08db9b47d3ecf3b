//! Runs one of the benchmark shapes N times, for instruction counting with callgrind:
//! the difference between two run counts is the cost of the runs alone.
//!
//! ```text
//! count_steps <chain-flow|chain-hand|loop-flow|loop-hand|opaque-loop-flow|opaque-loop-hand|fan-flow|fan-hand|policies-flow|policies-hand|chain-traced|chain-metered|tokio-<chain|loop|fan>-<flow|hand>> <runs>
//! ```
//! `scripts/bench-steps.sh` drives it; `chain-traced` and `chain-metered` run the chain
//! with the telemetry hooks and nobody listening. With the `durable` feature,
//! `chain-durable` runs the chain declared `#[flow(durable)]` without a store, and
//! `chain-durable-memory` with a checkpoint after each step into a `MemoryStore`.
//! `nested-flow` runs `Nested11`: one node, then `Chain10` called as a node (a subgraph).
//! `policies-flow` and `policies-hand` run `Policies3` (3 nodes with a retry, a timeout and
//! a breaker that never act) and its twin, each run in `block_on` of a current-thread
//! tokio runtime, which both pay (the twin's timeout needs one).
//! `tokio-chain-flow`, `tokio-chain-hand`, `tokio-loop-flow`, `tokio-loop-hand`,
//! `tokio-fan-flow` and `tokio-fan-hand` await the runs one after another inside one
//! `block_on` of a current-thread tokio runtime, as `benches/runtime.rs` times them (the
//! loop with opaque work, as there).
//! `count_steps sizes` prints the size in bytes of each shape's run future instead.

use std::hint::black_box;
use std::process::ExitCode;

#[path = "../benches/shapes/mod.rs"]
#[allow(dead_code)] // reason: the shapes module also serves the benchmarks
mod shapes;

use shapes::*;
use typedflow::telemetry::{Metered, Traced};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).is_some_and(|a| a == "sizes") {
        print_sizes();
        return ExitCode::SUCCESS;
    }
    let (Some(shape), Some(Ok(runs))) = (args.get(1), args.get(2).map(|n| n.parse::<u64>())) else {
        eprintln!(
            "usage: count_steps <chain-flow|chain-hand|loop-flow|loop-hand|opaque-loop-flow|opaque-loop-hand|fan-flow|fan-hand|policies-flow|policies-hand|chain-traced|chain-metered|tokio-<chain|loop|fan>-<flow|hand>> <runs>"
        );
        return ExitCode::FAILURE;
    };
    let chain = Chain10::new(());
    let lap = Loop2::new(());
    let opaque = OpaqueLoop2::new(());
    let fan = Fan8::new(());
    let nested = Nested11::new(());
    #[cfg(feature = "durable")]
    let durable = DurableChain10::new(());
    let policies = Policies3::new(());
    let guards: [HandGuard; 3] = Default::default();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    // Runs awaited one after another inside one `block_on`, as `benches/runtime.rs` times
    // them.
    if shape.starts_with("tokio-") {
        match shape.as_str() {
            "tokio-chain-flow" => tokio_runs(&rt, runs, || chain.run(black_box(0))),
            "tokio-chain-hand" => tokio_runs(&rt, runs, || hand_chain10(black_box(0))),
            "tokio-loop-flow" => tokio_runs(&rt, runs, || opaque.run(black_box(0))),
            "tokio-loop-hand" => tokio_runs(&rt, runs, || hand_opaque_loop2(black_box(0))),
            "tokio-fan-flow" => tokio_runs(&rt, runs, || fan.run(black_box(0))),
            "tokio-fan-hand" => tokio_runs(&rt, runs, || hand_fan8(black_box(0))),
            other => {
                eprintln!("unknown shape `{other}`");
                return ExitCode::FAILURE;
            }
        }
        return ExitCode::SUCCESS;
    }
    let mut sum = 0u64;
    for _ in 0..runs {
        sum = sum.wrapping_add(match shape.as_str() {
            "chain-flow" => block_on(chain.run(black_box(0)).into_future()).unwrap_or(0),
            "chain-hand" => block_on(hand_chain10(black_box(0))),
            "loop-flow" => block_on(lap.run(black_box(0)).into_future()).unwrap_or(0),
            "loop-hand" => block_on(hand_loop2(black_box(0))),
            "opaque-loop-flow" => block_on(opaque.run(black_box(0)).into_future()).unwrap_or(0),
            "opaque-loop-hand" => block_on(hand_opaque_loop2(black_box(0))),
            "fan-flow" => block_on(fan.run(black_box(0)).into_future()).unwrap_or(0),
            "fan-hand" => block_on(hand_fan8(black_box(0))),
            "nested-flow" => block_on(nested.run(black_box(0)).into_future()).unwrap_or(0),
            "chain-traced" => {
                block_on(chain.run(black_box(0)).hook(Traced).into_future()).unwrap_or(0)
            }
            "chain-metered" => {
                block_on(chain.run(black_box(0)).hook(Metered).into_future()).unwrap_or(0)
            }
            #[cfg(feature = "durable")]
            "chain-durable" => block_on(durable.run(black_box(0)).into_future()).unwrap_or(0),
            #[cfg(feature = "durable")]
            "chain-durable-memory" => {
                let store = typedflow::checkpoint::MemoryStore::new();
                block_on(durable.run(black_box(0)).checkpoint(&store).into_future()).unwrap_or(0)
            }
            // Last: arms are compared in the order written, and the shapes counted
            // before these came keep their counts.
            "policies-flow" => rt
                .block_on(policies.run(black_box(0)).into_future())
                .unwrap_or(0),
            "policies-hand" => rt
                .block_on(hand_policies3(&guards, black_box(0)))
                .unwrap_or(0),
            other => {
                eprintln!("unknown shape `{other}`");
                return ExitCode::FAILURE;
            }
        });
    }
    black_box(sum);
    ExitCode::SUCCESS
}

/// Awaits `runs` runs of `run` one after another inside one `block_on` of `rt`, each
/// output passed through `black_box` and dropped whole, as `benches/runtime.rs` does.
fn tokio_runs<F, R>(rt: &tokio::runtime::Runtime, runs: u64, mut run: F)
where
    F: FnMut() -> R,
    R: IntoFuture,
{
    rt.block_on(async {
        for _ in 0..runs {
            drop(black_box(run().await));
        }
    });
}

/// The size of each shape's run future beside its hand-written twin's: what a task that
/// awaits or spawns one run holds.
fn print_sizes() {
    let chain = Chain10::new(());
    let lap = OpaqueLoop2::new(());
    let fan = Fan8::new(());
    let nested = Nested11::new(());
    let rows = [
        (
            "chain-flow",
            size_of_val(&chain.run(0).into_future()),
            size_of_val(&hand_chain10(0)),
        ),
        (
            "opaque-loop-flow",
            size_of_val(&lap.run(0).into_future()),
            size_of_val(&hand_opaque_loop2(0)),
        ),
        (
            "fan-flow",
            size_of_val(&fan.run(0).into_future()),
            size_of_val(&hand_fan8(0)),
        ),
        (
            "policies-flow",
            size_of_val(&Policies3::new(()).run(0).into_future()),
            size_of_val(&hand_policies3(&Default::default(), 0)),
        ),
        (
            "nested-flow",
            size_of_val(&nested.run(0).into_future()),
            size_of_val(&chain.run(0).into_future()),
        ),
    ];
    for (shape, flow, hand) in rows {
        println!("{shape:18} {flow:5} bytes   twin {hand:5} bytes");
    }
}
