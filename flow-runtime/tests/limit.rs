//! The concurrency limit: the most calls in flight, counted, and permits given back on
//! errors and drops.

#[allow(dead_code)] // reason: each test file uses some of the shared helpers
mod common;
use common::secs;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;
use typedflow::Retryable;
use typedflow::policy::{
    Backoff, ConcurrencyLimit, ConfigError, Jitter, NodePolicies, PolicyError, RetryPolicy,
};

#[derive(Debug, thiserror::Error)]
#[error("failed")]
struct Failed;

impl Retryable for Failed {}

/// Counts calls in flight and the most seen at once.
#[derive(Default)]
struct InFlight {
    now: AtomicUsize,
    max: AtomicUsize,
}

impl InFlight {
    async fn work(&self, x: u32, fail: bool) -> Result<u32, Failed> {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.max.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(secs(1)).await;
        self.now.fetch_sub(1, Ordering::SeqCst);
        if fail { Err(Failed) } else { Ok(x) }
    }

    fn max(&self) -> usize {
        self.max.load(Ordering::SeqCst)
    }
}

#[tokio::test(start_paused = true)]
async fn at_most_n_calls_in_flight_across_runs() {
    let policies = Arc::new(
        NodePolicies::new("limited").with_concurrency(ConcurrencyLimit::new(3).expect("positive")),
    );
    let in_flight = Arc::new(InFlight::default());
    let start = Instant::now();
    let runs: Vec<_> = (0..20)
        .map(|i| {
            let policies = Arc::clone(&policies);
            let in_flight = Arc::clone(&in_flight);
            tokio::spawn(async move { policies.call(i, |x| in_flight.work(x, false)).await })
        })
        .collect();
    let mut outputs = Vec::new();
    for run in runs {
        outputs.push(run.await.expect("the run ran").expect("no failure"));
    }
    assert_eq!(outputs, (0..20).collect::<Vec<_>>());
    assert_eq!(in_flight.max(), 3);
    // 20 calls of 1 s, 3 at a time: 7 rounds.
    assert_eq!(start.elapsed(), secs(7));
    assert_eq!(policies.available_permits(), Some(3));
}

#[tokio::test(start_paused = true)]
async fn without_a_limit_every_call_runs_at_once() {
    let policies = Arc::new(NodePolicies::new("unlimited"));
    let in_flight = Arc::new(InFlight::default());
    let runs: Vec<_> = (0..20)
        .map(|i| {
            let policies = Arc::clone(&policies);
            let in_flight = Arc::clone(&in_flight);
            tokio::spawn(async move { policies.call(i, |x| in_flight.work(x, false)).await })
        })
        .collect();
    for run in runs {
        run.await.expect("the run ran").expect("no failure");
    }
    assert_eq!(in_flight.max(), 20);
    assert_eq!(policies.available_permits(), None);
}

#[tokio::test(start_paused = true)]
async fn permits_come_back_after_errors_and_drops() {
    let policies =
        NodePolicies::new("limited").with_concurrency(ConcurrencyLimit::new(2).expect("positive"));
    let in_flight = InFlight::default();

    let failed = policies
        .call(1, |x| in_flight.work(x, true))
        .await
        .expect_err("fails");
    assert!(matches!(failed, PolicyError::Node { attempts: 1, .. }));
    assert_eq!(policies.available_permits(), Some(2));

    let dropped = tokio::time::timeout(
        Duration::from_millis(500),
        policies.call(1, |x| in_flight.work(x, false)),
    )
    .await;
    assert!(dropped.is_err(), "dropped mid-call");
    assert_eq!(policies.available_permits(), Some(2));
}

#[tokio::test(start_paused = true)]
async fn a_permit_is_not_held_during_a_backoff_wait() {
    let retry = RetryPolicy::new(2)
        .expect("attempts > 0")
        .with_backoff(Backoff::constant(secs(10)))
        .with_jitter(Jitter::None);
    let policies = Arc::new(
        NodePolicies::new("limited")
            .with_retry(retry)
            .with_concurrency(ConcurrencyLimit::new(1).expect("positive")),
    );
    let in_flight = Arc::new(InFlight::default());
    let retrying = {
        let policies = Arc::clone(&policies);
        let in_flight = Arc::clone(&in_flight);
        tokio::spawn(async move { policies.call(1, |x| in_flight.work(x, true)).await })
    };
    // The first attempt fails at 1 s; during its 10 s wait another call takes the permit.
    tokio::time::sleep(secs(2)).await;
    assert_eq!(policies.available_permits(), Some(1));
    let start = Instant::now();
    let other = policies.call(2, |x| in_flight.work(x, false)).await;
    assert_eq!(other.expect("ran at once"), 2);
    assert_eq!(start.elapsed(), secs(1));
    let retried = retrying.await.expect("the task ran");
    assert!(matches!(
        retried,
        Err(PolicyError::Exhausted { attempts: 2, .. })
    ));
}

#[test]
fn invalid_limits_are_typed_errors() {
    assert_eq!(ConcurrencyLimit::new(0), Err(ConfigError::ZeroConcurrency));
    assert!(matches!(
        ConcurrencyLimit::new(usize::MAX),
        Err(ConfigError::ConcurrencyTooHigh { .. })
    ));
    assert_eq!(ConcurrencyLimit::new(1).map(|l| l.get()), Ok(1));
}
