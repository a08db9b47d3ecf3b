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

// -- rate limit -----------------------------------------------------------------------

use std::sync::Mutex;
use typedflow::policy::{Observer, RateLimit, RateLimited};

#[derive(Default)]
struct Waits(Mutex<Vec<Duration>>);

impl Observer for Waits {
    fn on_rate_limited(&self, event: &RateLimited) {
        assert_eq!(event.node, "metered");
        self.0.lock().expect("not poisoned").push(event.waited);
    }
}

/// 2 per second: two calls start at once, then one every half second, whatever the
/// number of callers; each call that waited is reported with its wait.
#[tokio::test(start_paused = true)]
async fn a_rate_limit_spaces_the_starts_of_calls_across_runs() {
    let waits = Arc::new(Waits::default());
    let policies = Arc::new(
        NodePolicies::new("metered")
            .with_observer(Arc::clone(&waits))
            .with_rate_limit(RateLimit::new(2, secs(1)).expect("positive")),
    );
    let start = Instant::now();
    let runs: Vec<_> = (0..5)
        .map(|i| {
            let policies = Arc::clone(&policies);
            tokio::spawn(async move {
                policies
                    .call(i, |x| async move { Ok::<_, Failed>((x, start.elapsed())) })
                    .await
            })
        })
        .collect();
    let mut started = Vec::new();
    for run in runs {
        started.push(run.await.expect("the run ran").expect("no failure").1);
    }
    started.sort();
    let ms = |n| Duration::from_millis(n);
    assert_eq!(started, [ms(0), ms(0), ms(500), ms(1000), ms(1500)]);
    let mut waited = waits.0.lock().expect("not poisoned").clone();
    waited.sort();
    assert_eq!(waited, [ms(500), ms(1000), ms(1500)]);
    // A period later the bucket has refilled: two start at once again.
    tokio::time::advance(secs(1)).await;
    let again = Instant::now();
    for i in 0..2 {
        policies
            .call(i, |x| async move { Ok::<_, Failed>(x) })
            .await
            .expect("no failure");
    }
    assert_eq!(again.elapsed(), Duration::ZERO);
    assert_eq!(policies.rate_limit(), RateLimit::new(2, secs(1)).ok());
}

#[test]
fn a_rate_of_zero_or_over_no_time_is_refused() {
    assert_eq!(RateLimit::new(0, secs(1)), Err(ConfigError::ZeroRate));
    assert_eq!(
        RateLimit::new(3, Duration::ZERO),
        Err(ConfigError::ZeroDuration {
            setting: "rate_limit"
        })
    );
}
