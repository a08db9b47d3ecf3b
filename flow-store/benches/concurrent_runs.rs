//! Many durable runs at once: 10,000 concurrent runs of a 3-node flow declared
//! `#[flow(durable)]` whose nodes each await 10 ms, spawned on tokio's multi-thread
//! runtime, run without a store and checkpointed to one SQLite file (WAL,
//! `synchronous=NORMAL`, the default). The goal is at most 2x the wall time of the runs
//! without a store, which the SQLite store reaches by committing the saves of
//! concurrent runs together (group commit, `docs/durability.md`).
//!
//! ```text
//! cargo bench -p typedflow-store --bench concurrent_runs -- --warm-up-time 1 --measurement-time 3
//! ```
//!
//! A sample is one batch of 10,000 runs, from the first spawn to the last run's end; each
//! SQLite sample writes a new file (30,000 rows: two steps and the finished run of each),
//! made before its clock starts. `FLOW_BENCH_RUNS` sets another number of runs.
//!
//! Criterion times the two sides one after the other, and on a machine shared with other
//! work their ratio moves with the load. So the bench then alternates the two, batch by
//! batch, the order swapped every pair (20 pairs, `FLOW_BENCH_PAIRS` for another count),
//! and prints the median wall time of each and the median of the pairs' ratios as
//! `paired ...`: the figure the goal is judged by.

use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{Criterion, SamplingMode, criterion_group, criterion_main};
use tokio::runtime::Runtime;
use typedflow::checkpoint::Checkpointer;
use typedflow::prelude::*;
use typedflow_store::{SqliteOptions, SqliteStore, Synchronous};

/// How long each node awaits.
const NODE_WAIT: Duration = Duration::from_millis(10);

#[node]
async fn first(x: u64) -> u64 {
    tokio::time::sleep(NODE_WAIT).await;
    x + 1
}

#[node]
async fn second(x: u64) -> u64 {
    tokio::time::sleep(NODE_WAIT).await;
    x + 1
}

#[node]
async fn third(x: u64) -> u64 {
    tokio::time::sleep(NODE_WAIT).await;
    x + 1
}

graph! {
    #[flow(durable)]
    Three(u64) -> u64 {
        START -> first -> second -> third -> END;
    }
}

fn runs() -> u64 {
    std::env::var("FLOW_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

fn runtime() -> Runtime {
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => panic!("cannot build the bench runtime: {e}"),
    }
}

/// Spawns `runs` runs of `flow`, checkpointed to `store` if there is one, waits for all
/// of them, checks each output, and returns the wall time.
async fn run_all<C: Checkpointer + 'static>(
    flow: &Arc<Three>,
    store: Option<Arc<C>>,
    runs: u64,
) -> Duration {
    let start = Instant::now();
    let mut tasks = Vec::with_capacity(usize::try_from(runs).unwrap_or(0));
    for i in 0..runs {
        let (flow, store) = (Arc::clone(flow), store.clone());
        tasks.push(tokio::spawn(async move {
            match &store {
                Some(store) => flow.run(i).checkpoint(&**store).await,
                None => flow.run(i).await,
            }
        }));
    }
    for (i, task) in (0..).zip(tasks) {
        match task.await {
            Ok(Ok(out)) if out == i + 3 => {}
            Ok(Ok(out)) => panic!("run {i} returned {out}, not {}", i + 3),
            Ok(Err(e)) => panic!("run {i} failed: {e}"),
            Err(e) => panic!("run {i} panicked: {e}"),
        }
    }
    start.elapsed()
}

/// A store in a new file of `dir`, the `n`th of the bench.
fn fresh_store(dir: &tempfile::TempDir, n: &mut u32, sync: Synchronous) -> Arc<SqliteStore> {
    *n += 1;
    let path = dir.path().join(format!("runs-{n}.db"));
    let options = SqliteOptions::default().with_synchronous(sync);
    match SqliteStore::open_with(path, options) {
        Ok(store) => Arc::new(store),
        Err(e) => panic!("cannot open the store: {e}"),
    }
}

fn concurrent(c: &mut Criterion) {
    let rt = runtime();
    let flow = Arc::new(Three::new(()));
    let runs = runs();
    let dir = match tempfile::tempdir() {
        Ok(dir) => dir,
        Err(e) => panic!("no temp dir: {e}"),
    };

    let mut g = c.benchmark_group(format!("concurrent_runs_{runs}"));
    g.sample_size(10).sampling_mode(SamplingMode::Flat);
    g.bench_function("no_store", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rt.block_on(run_all::<SqliteStore>(&flow, None, runs)))
                .sum()
        })
    });
    let mut files = 0;
    g.bench_function("sqlite", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| {
                    let store = fresh_store(&dir, &mut files, Synchronous::Normal);
                    let took = rt.block_on(run_all(&flow, Some(Arc::clone(&store)), runs));
                    // Every step of every run is in the file: two steps and the end.
                    let rows = rt.block_on(store.runs()).map(|r| r.len() as u64);
                    assert_eq!(rows.ok(), Some(runs), "every run is in the store");
                    took
                })
                .sum()
        })
    });
    g.finish();

    paired(&rt, &flow, &dir, &mut files, runs);
}

/// Alternates batches without a store and on SQLite, the order swapped every pair, and
/// prints the medians and the median ratio.
fn paired(rt: &Runtime, flow: &Arc<Three>, dir: &tempfile::TempDir, files: &mut u32, runs: u64) {
    let pairs: usize = std::env::var("FLOW_BENCH_PAIRS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);
    let (mut bare, mut stored, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..pairs {
        let store = fresh_store(dir, files, Synchronous::Normal);
        let no_store = || rt.block_on(run_all::<SqliteStore>(flow, None, runs));
        let sqlite = || rt.block_on(run_all(flow, Some(store), runs));
        let (b, s) = if i % 2 == 0 {
            let b = no_store();
            (b, sqlite())
        } else {
            let s = sqlite();
            (no_store(), s)
        };
        ratios.push(s.as_secs_f64() / b.as_secs_f64());
        bare.push(b);
        stored.push(s);
    }
    bare.sort();
    stored.sort();
    ratios.sort_by(f64::total_cmp);
    let mid = pairs / 2;
    if let (Some(b), Some(s), Some(r)) = (bare.get(mid), stored.get(mid), ratios.get(mid)) {
        println!(
            "paired concurrent_runs_{runs}: no store {b:.1?}, sqlite {s:.1?}, sqlite/no store {r:.2}x ({pairs} pairs)"
        );
    }
}

criterion_group!(benches, concurrent);
criterion_main!(benches);
