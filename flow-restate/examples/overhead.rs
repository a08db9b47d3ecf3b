//! What a run on Restate costs over the same run in-process: a three-node durable flow,
//! run in-process without a store, in-process checkpointed to SQLite, and on a local
//! Restate server (one worker, in this process), in µs per run.
//!
//! ```text
//! source .ci/restate.sh && restate_start
//! cargo run --release -p typedflow-restate --example overhead
//! restate_stop
//! ```
//!
//! It reads `RESTATE_ADMIN_ADDR` and `RESTATE_INGRESS_ADDR` (as `.ci/restate.sh` sets
//! them), serves its worker on 127.0.0.1:19090 (`FLOW_RESTATE_BENCH_PORT` to move it),
//! and `FLOW_RESTATE_BENCH_RUNS` sets the runs of each measure (default 200).

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use restate_sdk::endpoint::Endpoint;
use restate_sdk::http_server::HttpServer;
use restate_sdk::prelude::{ContextSideEffects, HandlerError, RunFuture, WorkflowContext};
use typedflow::prelude::*;
use typedflow_store::SqliteStore;

#[node]
async fn one(x: u64) -> u64 {
    x + 1
}

#[node]
async fn two(x: u64) -> u64 {
    x * 2
}

#[node]
async fn three(x: u64) -> u64 {
    x + 3
}

graph! {
    #[flow(durable)]
    Three(u64) -> u64 {
        START -> one -> two -> three -> END;
    }
}

/// The same three steps written by hand against Restate's SDK: what Restate costs
/// without the adapter.
pub struct HandWritten;

// The SDK's macro writes undocumented items.
#[allow(missing_docs)]
mod hand {
    use super::*;

    #[restate_sdk::workflow]
    impl HandWritten {
        /// The three steps.
        #[handler]
        async fn run(&self, ctx: WorkflowContext<'_>, x: u64) -> Result<u64, HandlerError> {
            let x = ctx.run(|| async move { Ok(x + 1) }).name("1:one").await?;
            let x = ctx.run(|| async move { Ok(x * 2) }).name("2:two").await?;
            let x = ctx.run(|| async move { Ok(x + 3) }).name("3:three").await?;
            Ok(x)
        }
    }
}

/// `runs` runs of `service`, one at a time then all at once: µs per run of each.
async fn on_restate(
    ingress: std::net::SocketAddr,
    service: &str,
    runs: u64,
    base: u64,
) -> (f64, f64) {
    let key = |i: u64| typedflow_restate::run_key(RunId::from_u64((base << 16) ^ i));
    let start = Instant::now();
    for i in 0..runs {
        let path = format!("/{service}/{}/run", key(i));
        let (status, body) = common::http(ingress, "POST", &path, Some(&i.to_string())).await;
        assert_eq!((status, body), (200, ((i + 1) * 2 + 3).to_string()));
    }
    let one_at_a_time = per_run(start, runs);
    let start = Instant::now();
    let mut all = tokio::task::JoinSet::new();
    for i in runs..2 * runs {
        let path = format!("/{service}/{}/run", key(i));
        all.spawn(async move { common::http(ingress, "POST", &path, Some(&i.to_string())).await });
    }
    while let Some(done) = all.join_next().await {
        assert_eq!(done.expect("a run").0, 200);
    }
    (one_at_a_time, per_run(start, runs))
}

fn per_run(start: Instant, runs: u64) -> f64 {
    start.elapsed().as_secs_f64() * 1e6 / runs as f64
}

#[tokio::main]
async fn main() {
    let var = |name: &str| std::env::var(name).ok();
    let runs: u64 = var("FLOW_RESTATE_BENCH_RUNS")
        .and_then(|r| r.parse().ok())
        .unwrap_or(200);
    let port: u16 = var("FLOW_RESTATE_BENCH_PORT")
        .and_then(|p| p.parse().ok())
        .unwrap_or(19090);
    let admin = common::addr("RESTATE_ADMIN_ADDR", 19070);
    let ingress = common::addr("RESTATE_INGRESS_ADDR", 18080);
    let flow = Three::new(());

    let start = Instant::now();
    for i in 0..runs {
        assert_eq!(flow.run(i).await.expect("a run"), (i + 1) * 2 + 3);
    }
    let plain = per_run(start, runs);

    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = SqliteStore::open(dir.path().join("runs.db")).expect("the store opens");
    let start = Instant::now();
    for i in 0..runs {
        let out = flow
            .run(i)
            .checkpoint(&store)
            .await
            .expect("a checkpointed run");
        assert_eq!(out, (i + 1) * 2 + 3);
    }
    let sqlite = per_run(start, runs);

    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the worker's port is free");
    let served = typedflow_restate::workflow!(Three::new(()));
    let service = served.name().to_owned();
    let endpoint = Endpoint::builder().bind(served).bind(HandWritten).build();
    tokio::spawn(HttpServer::new(endpoint).serve(listener));
    common::register_at(admin, port).await;

    // Run ids new to the server (it keeps finished workflows for a day).
    let base = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_micros() as u64;
    let (restate, concurrent) = on_restate(ingress, &service, runs, base).await;
    let (hand, hand_concurrent) = on_restate(ingress, "HandWritten", runs, base).await;

    println!("| a 3-node durable flow, {runs} runs | µs per run |");
    println!("|---|---|");
    println!("| in-process, no store | {plain:.2} |");
    println!("| in-process, checkpointed to SQLite | {sqlite:.1} |");
    println!("| on Restate, one run at a time (submit to output) | {restate:.0} |");
    println!("| on Restate, {runs} runs at once (wall time / runs) | {concurrent:.0} |");
    println!("| the same 3 steps written by hand on Restate, one at a time | {hand:.0} |");
    println!(
        "| the same 3 steps written by hand on Restate, {runs} at once | {hand_concurrent:.0} |"
    );
}
