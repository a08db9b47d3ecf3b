//! Fault injection: a node that fails 30% of the time (seeded), 10,000 concurrent runs
//! with 5 attempts each. Every run ends with its output or a typed error, exactly as a
//! model of the policy predicts, and the counts add up: nothing lost, nothing counted
//! twice.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use typedflow::Retryable;
use typedflow::policy::{
    Backoff, BreakerPolicy, ConcurrencyLimit, Jitter, JitterRng, NodePolicies, PolicyError,
    RetryPolicy, SplitMix64, TimeoutPolicy,
};

const RUNS: u64 = 10_000;
const ATTEMPTS: u32 = 5;

#[derive(Debug, thiserror::Error)]
enum Fault {
    #[error("transient")]
    Transient,
    #[error("permanent")]
    Permanent,
}

impl Retryable for Fault {
    fn is_retryable(&self) -> bool {
        matches!(self, Fault::Transient)
    }
}

/// What one attempt does, from one random number: 70% succeed; of the 30% that fail,
/// 1 in 30 fails for good, 3 in 10 hang, the rest fail transiently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Succeed,
    Permanent,
    Hang,
    Transient,
}

fn act(r: u64) -> Act {
    let p = |percent: f64| (percent / 100.0 * u64::MAX as f64) as u64;
    if r >= p(30.0) {
        Act::Succeed
    } else if r < p(1.0) {
        Act::Permanent
    } else if r < p(10.0) {
        Act::Hang
    } else {
        Act::Transient
    }
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Outcome {
    Output,
    NotRetryable,
    Exhausted,
    TimedOut,
    CircuitOpen,
}

/// The model: run `k`'s node draws from `SplitMix64::new(k)` once per attempt.
fn expected(k: u64) -> (Outcome, u32) {
    let mut rng = SplitMix64::new(k);
    for attempt in 1..=ATTEMPTS {
        let last = attempt == ATTEMPTS;
        match act(rng.next_u64()) {
            Act::Succeed => return (Outcome::Output, attempt),
            Act::Permanent => return (Outcome::NotRetryable, attempt),
            Act::Hang if last => return (Outcome::TimedOut, attempt),
            Act::Transient if last => return (Outcome::Exhausted, attempt),
            Act::Hang | Act::Transient => {}
        }
    }
    unreachable!("the last attempt always returns")
}

/// The node of run `k`: an `FnMut` that owns its random numbers, one per attempt.
fn node(
    k: u64,
    calls: Arc<AtomicU64>,
) -> impl FnMut(u64) -> std::pin::Pin<Box<dyn Future<Output = Result<u64, Fault>> + Send>> {
    let mut rng = SplitMix64::new(k);
    move |input| {
        calls.fetch_add(1, Ordering::Relaxed);
        let act = act(rng.next_u64());
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(5)).await;
            match act {
                Act::Succeed => Ok(input),
                Act::Permanent => Err(Fault::Permanent),
                Act::Transient => Err(Fault::Transient),
                Act::Hang => std::future::pending().await,
            }
        })
    }
}

fn classify(k: u64, result: Result<u64, PolicyError<Fault>>) -> (Outcome, Option<u32>) {
    match result {
        Ok(out) => {
            assert_eq!(out, k, "run {k} got another run's output");
            (Outcome::Output, None)
        }
        Err(err) => {
            let attempts = Some(err.attempts());
            let outcome = match err {
                PolicyError::Node {
                    source: Fault::Permanent,
                    ..
                } => Outcome::NotRetryable,
                PolicyError::Exhausted {
                    source: Fault::Transient,
                    ..
                } => Outcome::Exhausted,
                PolicyError::Timeout { .. } => Outcome::TimedOut,
                PolicyError::CircuitOpen { .. } => Outcome::CircuitOpen,
                other => panic!("run {k} ended with an unexpected error: {other:?}"),
            };
            (outcome, attempts)
        }
    }
}

fn retry() -> RetryPolicy {
    RetryPolicy::new(ATTEMPTS)
        .expect("attempts > 0")
        .with_backoff(
            Backoff::exponential(Duration::from_millis(10), 2.0, Duration::from_millis(200))
                .expect("valid backoff"),
        )
        .with_jitter(Jitter::Full)
}

#[tokio::test(start_paused = true)]
async fn ten_thousand_runs_end_exactly_as_the_model_says() {
    let policies = Arc::new(
        NodePolicies::new("flaky")
            .with_retry(retry())
            .with_timeout(TimeoutPolicy::new(Duration::from_secs(1)).expect("positive"))
            .with_seed(7),
    );
    let calls = Arc::new(AtomicU64::new(0));
    let runs: Vec<_> = (0..RUNS)
        .map(|k| {
            let policies = Arc::clone(&policies);
            let node = node(k, Arc::clone(&calls));
            tokio::spawn(async move { (k, policies.call(k, node).await) })
        })
        .collect();

    let mut counts = BTreeMap::new();
    let mut expected_calls = 0;
    for run in runs {
        let (k, result) = run.await.expect("no run panicked");
        let (outcome, attempts) = classify(k, result);
        let (model_outcome, model_attempts) = expected(k);
        assert_eq!(outcome, model_outcome, "run {k}");
        if let Some(attempts) = attempts {
            assert_eq!(attempts, model_attempts, "run {k}");
        }
        expected_calls += u64::from(model_attempts);
        *counts.entry(outcome).or_insert(0u64) += 1;
    }

    assert_eq!(counts.values().sum::<u64>(), RUNS);
    assert_eq!(calls.load(Ordering::Relaxed), expected_calls);
    // Roughly 0.3^5 of the runs fail in every attempt, about 1% fail for good.
    let output = counts[&Outcome::Output];
    let failed = RUNS - output;
    assert!(output > 9_800, "{counts:?}");
    assert!(
        failed > 0 && counts.contains_key(&Outcome::NotRetryable),
        "{counts:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn with_a_breaker_and_a_limit_every_run_still_ends_typed() {
    let policies = Arc::new(
        NodePolicies::new("flaky")
            .with_retry(retry())
            .with_timeout(TimeoutPolicy::new(Duration::from_secs(1)).expect("positive"))
            .with_breaker(BreakerPolicy::new(3, Duration::from_millis(50)).expect("valid"))
            .with_concurrency(ConcurrencyLimit::new(64).expect("positive"))
            .with_seed(11),
    );
    let calls = Arc::new(AtomicU64::new(0));
    let runs: Vec<_> = (0..RUNS)
        .map(|k| {
            let policies = Arc::clone(&policies);
            let node = node(k, Arc::clone(&calls));
            tokio::spawn(async move { (k, policies.call(k, node).await) })
        })
        .collect();

    let mut counts = BTreeMap::new();
    let mut attempts_reported = 0;
    for run in runs {
        let (k, result) = run.await.expect("no run panicked");
        let (outcome, attempts) = classify(k, result);
        let attempts = attempts.unwrap_or(0);
        assert!(attempts <= ATTEMPTS, "run {k} made {attempts} attempts");
        attempts_reported += u64::from(attempts);
        *counts.entry(outcome).or_insert(0u64) += 1;
    }
    assert_eq!(counts.values().sum::<u64>(), RUNS, "{counts:?}");
    assert!(counts.contains_key(&Outcome::CircuitOpen), "{counts:?}");
    assert!(calls.load(Ordering::Relaxed) >= attempts_reported);
    assert_eq!(policies.available_permits(), Some(64));
}
