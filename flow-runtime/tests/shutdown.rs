//! Graceful shutdown on tokio's paused clock: new runs refused, runs in flight given until
//! the deadline, the rest cancelled, and the counts reported.

#![allow(clippy::unwrap_used)] // reason: test helpers outside #[test] fns

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep};
use typedflow::ErrorKind;
use typedflow::prelude::*;
use typedflow::shutdown::{Shutdown, ShutdownReport};
use typedflow::telemetry::Traced;

/// Works for `secs` seconds.
#[node]
async fn work(secs: u64) -> u64 {
    sleep(Duration::from_secs(secs)).await;
    secs
}

#[node]
async fn wrap(secs: u64) -> u64 {
    secs + 1000
}

graph! {
    Job(u64) -> u64 {
        START -> work -> wrap -> END;
    }
}

type Flow = Arc<Job<Shutdown>>;

fn spawn(flow: &Flow, secs: u64) -> JoinHandle<Result<u64, FlowError>> {
    let flow = Arc::clone(flow);
    tokio::spawn(async move { flow.run(secs).await })
}

/// Lets the spawned runs start.
async fn settle() {
    for _ in 0..10 {
        tokio::task::yield_now().await;
    }
}

#[tokio::test(start_paused = true)]
async fn runs_in_flight_finish_before_the_deadline_and_the_rest_are_cut() {
    let shutdown = Shutdown::new();
    let flow: Flow = Arc::new(Job::new(()).with_hook(shutdown.clone()));
    let runs: Vec<_> = [1, 3, 10, 60].iter().map(|&s| spawn(&flow, s)).collect();
    settle().await;
    assert_eq!(shutdown.in_flight(), 4);

    let begin = Instant::now();
    let report = shutdown.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.finished, report.cut), (2, 2));
    assert_eq!(
        begin.elapsed(),
        Duration::from_secs(5),
        "waited for the deadline"
    );
    assert_eq!(shutdown.in_flight(), 0);

    let mut results = Vec::new();
    for run in runs {
        results.push(run.await.unwrap());
    }
    assert_eq!(*results[0].as_ref().unwrap(), 1001);
    assert_eq!(*results[1].as_ref().unwrap(), 1003);
    for cut in &results[2..] {
        let err = cut.as_ref().unwrap_err();
        assert!(
            matches!(err, FlowError::Cancelled { flow: "Job", .. }),
            "{err:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_returns_as_soon_as_the_last_run_ends() {
    let shutdown = Shutdown::new();
    let flow: Flow = Arc::new(Job::new(()).with_hook(shutdown.clone()));
    let run = spawn(&flow, 2);
    settle().await;
    let begin = Instant::now();
    let report = shutdown.shutdown(Duration::from_secs(60)).await;
    assert_eq!((report.finished, report.cut), (1, 0));
    assert_eq!(begin.elapsed(), Duration::from_secs(2));
    assert_eq!(run.await.unwrap().unwrap(), 1002);
}

#[tokio::test(start_paused = true)]
async fn new_runs_are_refused_with_a_typed_error_once_it_begins() {
    let shutdown = Shutdown::new();
    let flow: Flow = Arc::new(Job::new(()).with_hook(shutdown.clone()));
    assert!(!shutdown.is_closing());
    assert_eq!(flow.run(0).await.unwrap(), 1000, "runs go through before");

    let long = spawn(&flow, 30);
    settle().await;
    let stop = tokio::spawn({
        let shutdown = shutdown.clone();
        async move { shutdown.shutdown(Duration::from_secs(10)).await }
    });
    settle().await;
    assert!(shutdown.is_closing());
    let err = flow.run(0).await.unwrap_err();
    assert!(
        matches!(err, FlowError::ShuttingDown { flow: "Job", .. }),
        "{err:?}"
    );
    assert!(err.is_shutting_down());
    assert_eq!(err.kind(), ErrorKind::Refused);
    assert_eq!(
        err.to_string(),
        "flow `Job` is shutting down and starts no new runs"
    );

    // A refused run is not one of those the shutdown waits for or counts.
    let report = stop.await.unwrap();
    assert_eq!((report.finished, report.cut), (0, 1));
    assert!(long.await.unwrap().unwrap_err().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_shutdown_with_nothing_in_flight_returns_at_once() {
    let shutdown = Shutdown::new();
    let flow = Job::new(()).with_hook(shutdown.clone());
    let report = shutdown.shutdown(Duration::from_secs(60)).await;
    assert_eq!(report, ShutdownReport::default());
    assert!(flow.run(1).await.unwrap_err().is_shutting_down());
}

#[tokio::test(start_paused = true)]
async fn one_shutdown_serves_several_flows_and_runs_given_it_alone() {
    let shutdown = Shutdown::new();
    let a: Flow = Arc::new(Job::new(()).with_hook(shutdown.clone()));
    // A flow with its own hook: the shutdown is given to its runs one by one.
    let b = Arc::new(Job::new(()).with_hook(Traced));
    let run_b = tokio::spawn({
        let (b, shutdown) = (Arc::clone(&b), shutdown.clone());
        async move { b.run(20).hook(shutdown).await }
    });
    let run_a = spawn(&a, 1);
    settle().await;
    assert_eq!(shutdown.in_flight(), 2);
    let report = shutdown.shutdown(Duration::from_secs(5)).await;
    assert_eq!((report.finished, report.cut), (1, 1));
    assert_eq!(run_a.await.unwrap().unwrap(), 1001);
    assert!(run_b.await.unwrap().unwrap_err().is_cancelled());
    // Without the shutdown hook, `b` still runs.
    assert_eq!(b.run(0).await.unwrap(), 1000);
}

#[tokio::test(start_paused = true)]
async fn a_grace_too_long_for_the_clock_waits_for_every_run() {
    let shutdown = Shutdown::new();
    let flow: Flow = Arc::new(Job::new(()).with_hook(shutdown.clone()));
    let run = spawn(&flow, 3600);
    settle().await;
    let report = shutdown.shutdown(Duration::MAX).await;
    assert_eq!((report.finished, report.cut), (1, 0));
    assert_eq!(run.await.unwrap().unwrap(), 4600);
}

#[tokio::test(start_paused = true)]
async fn a_dropped_run_leaves_the_count() {
    let shutdown = Shutdown::new();
    let flow: Flow = Arc::new(Job::new(()).with_hook(shutdown.clone()));
    let run = spawn(&flow, 60);
    settle().await;
    assert_eq!(shutdown.in_flight(), 1);
    run.abort();
    settle().await;
    assert_eq!(shutdown.in_flight(), 0);
    let begin = Instant::now();
    shutdown.shutdown(Duration::from_secs(5)).await;
    assert_eq!(begin.elapsed(), Duration::ZERO);
}
