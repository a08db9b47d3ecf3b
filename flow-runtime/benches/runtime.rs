//! The benchmark suite under tokio, the way users run flows: every workload beside its
//! hand-written twin (`enum` + `loop { match }`, the same work, each node passing its
//! value through `black_box`), awaited inside `block_on` of the multi-thread and of the
//! current-thread runtime.
//!
//! ```text
//! scripts/bench.sh --cpu       # runs this and prints every ratio in one table
//! cargo bench -p typedflow --bench runtime -- --warm-up-time 1 --measurement-time 3
//! FLOW_BENCH_CLOCK=cpu cargo bench -p typedflow --bench runtime   # the thread's CPU time
//! ```
//!
//! | group | workload | per |
//! |---|---|---|
//! | `chain10` | 10 nodes in a row | run of 10 transitions |
//! | `loop2` | 2 nodes, 1000 laps | run of 2000 transitions |
//! | `fan8` | one node, 8 branches, a join | run |
//! | `policies3` | 3 nodes with retry, timeout and breaker that never trigger | run |
//! | `traced10` | `chain10` with `Traced` and no subscriber | run |
//! | `metered10` | `chain10` with `Metered` and no recorder | run |
//! | `concurrent10k` | 10,000 runs at once of 3 nodes that each sleep 10 ms | all of them |
//!
//! Each function is `tokio_<group>/<flow|hand>/<multi_thread|current_thread>` (the prefix
//! keeps them apart from the same shapes in `benches/steps.rs`). The bench also
//! prints lines the script reads: `size:` (bytes of a run's future, flow and
//! hand-written) and `memory:` (bytes allocated per in-flight run of `concurrent10k`,
//! counted by the global allocator of this binary).

use std::alloc::System;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion, SamplingMode, criterion_group, criterion_main};
use stats_alloc::{INSTRUMENTED_SYSTEM, Region, StatsAlloc};
use tokio::runtime::{Builder, Runtime};
use tracing::Instrument;
use typedflow::prelude::*;
use typedflow::telemetry::{Metered, Traced};

#[path = "shapes/mod.rs"]
#[allow(dead_code)] // reason: the shapes module also serves the other benchmarks
mod shapes;

use shapes::*;

/// Counts every allocation of this binary, for the memory of `concurrent10k`; the other
/// workloads allocate nothing per run.
#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// Both runtimes, with the timer (timeouts, sleeps) and nothing else.
fn runtimes() -> [(&'static str, Runtime); 2] {
    let multi = Builder::new_multi_thread()
        .enable_time()
        .build()
        .expect("a multi-thread runtime");
    let current = Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a current-thread runtime");
    [("multi_thread", multi), ("current_thread", current)]
}

/// Benchmarks `flow` and `hand` (each a run from an input) on both runtimes as
/// `tokio_<group>/<flow|hand>/<runtime>`.
fn pair<F, FF, H, HF>(c: &mut Criterion, group: &str, mut flow: F, mut hand: H)
where
    F: FnMut(u64) -> FF,
    FF: IntoFuture,
    H: FnMut(u64) -> HF,
    HF: IntoFuture,
{
    let mut g = c.benchmark_group(format!("tokio_{group}"));
    for (name, rt) in runtimes() {
        g.bench_function(BenchmarkId::new("flow", name), |b| {
            b.iter_custom(|n| timed(&rt, n, &mut flow))
        });
        g.bench_function(BenchmarkId::new("hand", name), |b| {
            b.iter_custom(|n| timed(&rt, n, &mut hand))
        });
    }
    g.finish();
}

/// Prints the size of a run's future, flow and hand-written, for the script.
fn size(workload: &str, flow: usize, hand: usize) {
    println!("size: {workload} flow {flow} hand {hand}");
}

// -- the step workloads --------------------------------------------------------------

fn steps(c: &mut Criterion) {
    let chain = Chain10::new(());
    size(
        "chain10",
        size_of_val(&chain.run(0).into_future()),
        size_of_val(&hand_chain10(0)),
    );
    pair(c, "chain10", |x| chain.run(x), hand_chain10);

    let lap = OpaqueLoop2::new(());
    size(
        "loop2",
        size_of_val(&lap.run(0).into_future()),
        size_of_val(&hand_opaque_loop2(0)),
    );
    pair(c, "loop2", |x| lap.run(x), hand_opaque_loop2);

    let fan = Fan8::new(());
    size(
        "fan8",
        size_of_val(&fan.run(0).into_future()),
        size_of_val(&hand_fan8(0)),
    );
    pair(c, "fan8", |x| fan.run(x), hand_fan8);
}

// -- policies configured, never triggered ----------------------------------------------

fn policies(c: &mut Criterion) {
    let flow = Policies3::new(());
    let guards: [HandGuard; 3] = Default::default();
    let guards = &guards;
    size(
        "policies3",
        size_of_val(&flow.run(0).into_future()),
        size_of_val(&hand_policies3(guards, 0)),
    );
    pair(
        c,
        "policies3",
        |x| flow.run(x),
        |x| hand_policies3(guards, x),
    );
}

// -- observability with nobody listening ---------------------------------------------

/// A step of the hand-written chain in its `flow.node` span, as `Traced` makes it.
macro_rules! traced_step {
    ($node:literal, $step:literal, $x:expr) => {
        opaque_inc($x)
            .instrument(tracing::info_span!(
                "flow.node",
                flow = "Chain10",
                node = $node,
                step = $step
            ))
            .await
    };
}

/// The hand-written chain with the spans of `Traced`: one for the run, one per node.
async fn hand_traced10(input: u64, run_id: u64) -> u64 {
    let mut state = Hand10::N0(input);
    async move {
        loop {
            state = match state {
                Hand10::N0(x) => Hand10::N1(traced_step!("n0", 1u32, x)),
                Hand10::N1(x) => Hand10::N2(traced_step!("n1", 2u32, x)),
                Hand10::N2(x) => Hand10::N3(traced_step!("n2", 3u32, x)),
                Hand10::N3(x) => Hand10::N4(traced_step!("n3", 4u32, x)),
                Hand10::N4(x) => Hand10::N5(traced_step!("n4", 5u32, x)),
                Hand10::N5(x) => Hand10::N6(traced_step!("n5", 6u32, x)),
                Hand10::N6(x) => Hand10::N7(traced_step!("n6", 7u32, x)),
                Hand10::N7(x) => Hand10::N8(traced_step!("n7", 8u32, x)),
                Hand10::N8(x) => Hand10::N9(traced_step!("n8", 9u32, x)),
                Hand10::N9(x) => return traced_step!("n9", 10u32, x),
            }
        }
    }
    .instrument(tracing::info_span!("flow.run", flow = "Chain10", run_id))
    .await
}

/// A step of the hand-written chain timed into `flow_node_duration_seconds`, as
/// `Metered` does.
macro_rules! metered_step {
    ($node:literal, $x:expr) => {{
        let started = tokio::time::Instant::now();
        let out = opaque_inc($x).await;
        metrics::histogram!("flow_node_duration_seconds", "flow" => "Chain10", "node" => $node)
            .record(started.elapsed().as_secs_f64());
        out
    }};
}

/// The hand-written chain with the metrics of `Metered`: runs in flight, run duration and
/// count, node durations.
async fn hand_metered10(input: u64) -> u64 {
    let in_flight = metrics::gauge!("flow_runs_in_flight", "flow" => "Chain10");
    in_flight.increment(1.0);
    let started = tokio::time::Instant::now();
    let mut state = Hand10::N0(input);
    let out = loop {
        state = match state {
            Hand10::N0(x) => Hand10::N1(metered_step!("n0", x)),
            Hand10::N1(x) => Hand10::N2(metered_step!("n1", x)),
            Hand10::N2(x) => Hand10::N3(metered_step!("n2", x)),
            Hand10::N3(x) => Hand10::N4(metered_step!("n3", x)),
            Hand10::N4(x) => Hand10::N5(metered_step!("n4", x)),
            Hand10::N5(x) => Hand10::N6(metered_step!("n5", x)),
            Hand10::N6(x) => Hand10::N7(metered_step!("n6", x)),
            Hand10::N7(x) => Hand10::N8(metered_step!("n7", x)),
            Hand10::N8(x) => Hand10::N9(metered_step!("n8", x)),
            Hand10::N9(x) => break metered_step!("n9", x),
        }
    };
    metrics::histogram!("flow_run_duration_seconds", "flow" => "Chain10")
        .record(started.elapsed().as_secs_f64());
    metrics::counter!("flow_runs_total", "flow" => "Chain10", "outcome" => "ok").increment(1);
    in_flight.decrement(1.0);
    out
}

fn observability(c: &mut Criterion) {
    let traced = Chain10::new(()).with_hook(Traced);
    size(
        "traced10",
        size_of_val(&traced.run(0).into_future()),
        size_of_val(&hand_traced10(0, 0)),
    );
    pair(c, "traced10", |x| traced.run(x), |x| hand_traced10(x, x));

    let metered = Chain10::new(()).with_hook(Metered);
    size(
        "metered10",
        size_of_val(&metered.run(0).into_future()),
        size_of_val(&hand_metered10(0)),
    );
    pair(c, "metered10", |x| metered.run(x), hand_metered10);
}

// -- 10,000 concurrent runs of 3 nodes that each wait 10 ms ----------------------------

/// Runs in flight at once.
const RUNS: u64 = 10_000;

/// What each node waits: an I/O call, on tokio's real clock.
const WAIT: Duration = Duration::from_millis(10);

/// A node's wait and work.
async fn wait_inc(x: u64) -> u64 {
    tokio::time::sleep(WAIT).await;
    black_box(x) + 1
}

#[node]
async fn w0(x: u64) -> u64 {
    wait_inc(x).await
}

#[node]
async fn w1(x: u64) -> u64 {
    wait_inc(x).await
}

#[node]
async fn w2(x: u64) -> u64 {
    wait_inc(x).await
}

graph! {
    Wait3(u64) -> u64 {
        START -> w0 -> w1 -> w2 -> END;
    }
}

/// The hand-written twin of `Wait3`.
async fn hand_wait3(input: u64) -> u64 {
    let mut state = Hand3::P0(input);
    loop {
        state = match state {
            Hand3::P0(x) => Hand3::P1(wait_inc(x).await),
            Hand3::P1(x) => Hand3::P2(wait_inc(x).await),
            Hand3::P2(x) => return wait_inc(x).await,
        }
    }
}

/// Spawns `RUNS` tasks, each one run made by `run`, and waits for all of them. Returns
/// the wall time and the bytes allocated and still held just after the last spawn, per
/// run (the task with its future, as tokio allocates it; the list of handles is
/// allocated before counting starts).
async fn spawn_all<F, Fut>(run: F) -> (Duration, f64)
where
    F: Fn(u64) -> Fut,
    Fut: Future + Send + 'static,
    Fut::Output: Send + 'static,
{
    let mut handles = Vec::with_capacity(RUNS as usize);
    let start = Instant::now();
    let region = Region::new(GLOBAL);
    for i in 0..RUNS {
        handles.push(tokio::spawn(run(i)));
    }
    let held = region.change();
    let bytes = (held.bytes_allocated as f64 - held.bytes_deallocated as f64
        + held.bytes_reallocated as f64)
        / RUNS as f64;
    for handle in handles {
        black_box(handle.await.expect("a run does not panic"));
    }
    (start.elapsed(), bytes)
}

fn concurrent(c: &mut Criterion) {
    // `'static`, as spawned tasks need: one instance for the whole benchmark.
    let flow: &'static Wait3 = Box::leak(Box::new(Wait3::new(())));
    let flow_run = move |x: u64| async move { flow.run(x).await };
    let hand_run = |x: u64| async move { hand_wait3(x).await };
    size(
        "concurrent10k",
        size_of_val(&flow_run(0)),
        size_of_val(&hand_run(0)),
    );
    let mut g = c.benchmark_group("tokio_concurrent10k");
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    for (name, rt) in runtimes() {
        // Once before counting, so that what the runtime keeps and reuses (the
        // current-thread runtime's run queue grows to hold 10,000 tasks) is in place.
        rt.block_on(spawn_all(hand_run));
        let (_, flow_bytes) = rt.block_on(spawn_all(flow_run));
        let (_, hand_bytes) = rt.block_on(spawn_all(hand_run));
        println!("memory: {name} flow {flow_bytes:.1} hand {hand_bytes:.1}");
        let batches =
            |n: u64, run: &dyn Fn(&Runtime) -> Duration| (0..n).map(|_| run(&rt)).sum::<Duration>();
        g.bench_function(BenchmarkId::new("flow", name), |b| {
            b.iter_custom(|n| batches(n, &|rt| rt.block_on(spawn_all(flow_run)).0))
        });
        g.bench_function(BenchmarkId::new("hand", name), |b| {
            b.iter_custom(|n| batches(n, &|rt| rt.block_on(spawn_all(hand_run)).0))
        });
    }
    g.finish();
}

criterion_group!(benches, steps, policies, observability, concurrent);
criterion_main!(benches);
